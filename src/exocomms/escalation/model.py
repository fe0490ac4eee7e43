"""Escalation ladders and escalations as pure, JSON-ready data.

A :class:`Ladder` is a timed sequence of :class:`Step` s for one event type (optionally one
city). When an escalation starts, its ladder is **frozen** into the :class:`Escalation` (stored
as ``ladder.to_dict()``), so editing a ladder never changes escalations already running.

Step conditions (checked by the engine when the step is due):

* ``respect_hours`` — a non-urgent step goes through the timing rules (``scheduling``) for its
  ``purpose`` and medium; outside the allowed hours the escalation **waits** for the window
  and the rest of the ladder shifts by the same amount (it never drops a step for that).
  Promotional and service-explicit steps must set it: they may never bypass the rules.
* ``skip_if`` / ``only_if`` — facts about the escalation (``delivered``, ``read``,
  ``answered``, ``call_requested``…, see :meth:`Escalation.with_fact`): skip the step when any
  ``skip_if`` fact is known ("skip the SMS if the WhatsApp was read"), or unless every
  ``only_if`` fact is ("call only if asked").
* Acknowledgement is not a per-step condition: an ack always ends the escalation, so no later
  step of any kind goes out (``skip_if_acknowledged: true`` is accepted on input for
  compatibility; ``false`` is rejected). An answered call is a fact, not an acknowledgement.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

from exocomms.errors import ValidationError
from exocomms.scheduling.purposes import DEFAULT_PURPOSES, Medium, PurposeClass

MAX_STEPS = 20
MAX_DELAY_SECONDS = 7 * 86_400
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_TEMPLATE = re.compile(r"^[a-z][a-z0-9_.]{0,127}$")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


class Channel(StrEnum):
    """How a step reaches people."""

    PUSH = "push"
    WHATSAPP = "whatsapp"
    SMS = "sms"
    RING = "ring"  # a short ring from a recognisable number, to draw eyes to the app
    IVR_CALL = "ivr_call"
    ADMIN_ALERT = "admin_alert"
    ADMIN_BRIDGE = "admin_bridge"

    @property
    def medium(self) -> Medium:
        """The timing-rule medium: calls for ring/IVR/bridge, texts for the rest."""
        calls = (Channel.RING, Channel.IVR_CALL, Channel.ADMIN_BRIDGE)
        return Medium.CALL if self in calls else Medium.SMS


class Audience(StrEnum):
    """Who a step contacts: the party the event is about, or the admin on duty."""

    PARTY = "party"
    ADMIN = "admin"


class Status(StrEnum):
    """Life of an escalation."""

    ACTIVE = "active"
    ACKNOWLEDGED = "acknowledged"
    STOPPED = "stopped"
    EXHAUSTED = "exhausted"


def _bad(message: str) -> ValidationError:
    return ValidationError(message)


def _obj(data: Any, allowed: set[str], what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise _bad(f"{what} must be an object")
    if unknown := sorted(str(k) for k in data if k not in allowed):
        raise _bad(f"unknown field(s) in {what}: {', '.join(unknown)}")
    return data


def _names(value: Any, what: str) -> frozenset[str]:
    if not isinstance(value, list | tuple | set | frozenset) or not all(
        isinstance(v, str) and _NAME.match(v) for v in value
    ):
        raise _bad(f"{what} must be a list of lower_snake_case names")
    return frozenset(value)


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(f"{what} must be an integer")
    return value


def _time(value: Any, what: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise _bad(f"{what} must be an ISO-8601 time") from None
    if parsed.tzinfo is None:
        raise _bad(f"{what} needs a UTC offset")
    return parsed.astimezone(UTC)


_E = TypeVar("_E", bound=StrEnum)


def _enum(kind: type[_E], value: Any, what: str) -> _E:
    try:
        return kind(value)
    except ValueError:
        raise _bad(f"{what}: unknown value {value!r} (one of {', '.join(kind)})") from None


@dataclass(frozen=True)
class StepConditions:
    """When a due step really goes out (see the module docstring)."""

    respect_hours: bool = False
    skip_if: frozenset[str] = frozenset()
    only_if: frozenset[str] = frozenset()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "respect_hours": self.respect_hours,
            "skip_if": sorted(self.skip_if),
            "only_if": sorted(self.only_if),
        }

    @classmethod
    def from_dict(cls, data: Any, what: str = "conditions") -> StepConditions:
        """Parse; missing keys take the defaults."""
        keys = {"respect_hours", "skip_if", "only_if", "skip_if_acknowledged"}
        data = _obj(data, keys, what)
        if data.get("skip_if_acknowledged", True) is not True:
            raise _bad(f"{what}.skip_if_acknowledged: an acknowledgement always stops the ladder")
        hours = data.get("respect_hours", False)
        if not isinstance(hours, bool):
            raise _bad(f"{what}.respect_hours must be true or false")
        return cls(
            respect_hours=hours,
            skip_if=_names(data.get("skip_if", []), f"{what}.skip_if"),
            only_if=_names(data.get("only_if", []), f"{what}.only_if"),
        )


@dataclass(frozen=True)
class Step:
    """One attempt: a channel, a delay from the start, a template, recipients, conditions.

    ``purpose`` selects the timing rule (see ``scheduling.purposes``); ``caller`` names the
    dedicated caller number (``new_order``, ``reminder``, ``address_update``, ``default``).
    """

    channel: Channel
    delay_seconds: int
    template: str
    recipients: tuple[Audience, ...] = (Audience.PARTY,)
    purpose: str = "transactional"
    conditions: StepConditions = StepConditions()
    caller: str = "default"

    def __post_init__(self) -> None:
        where = f"step {self.channel.value}@{self.delay_seconds}s"
        if not 0 <= self.delay_seconds <= MAX_DELAY_SECONDS:
            raise _bad(f"{where}: delay must be 0 to {MAX_DELAY_SECONDS} seconds")
        if not _TEMPLATE.match(self.template):
            raise _bad(f"{where}: bad template name {self.template!r}")
        if not self.recipients or len(set(self.recipients)) != len(self.recipients):
            raise _bad(f"{where}: recipients must be a non-empty list of party/admin")
        if not _NAME.match(self.caller):
            raise _bad(f"{where}: bad caller number name {self.caller!r}")
        cls = DEFAULT_PURPOSES.get(self.purpose)
        if cls is None and self.purpose not in set(PurposeClass):
            raise _bad(f"{where}: unknown purpose {self.purpose!r}")
        cls = cls or PurposeClass(self.purpose)
        strict = (PurposeClass.PROMOTIONAL, PurposeClass.SERVICE_EXPLICIT)
        if cls in strict and not self.conditions.respect_hours:
            raise _bad(f"{where}: {cls.value} steps must respect allowed hours")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "channel": self.channel.value,
            "delay_seconds": self.delay_seconds,
            "template": self.template,
            "recipients": [r.value for r in self.recipients],
            "purpose": self.purpose,
            "conditions": self.conditions.to_dict(),
            "caller": self.caller,
        }

    @classmethod
    def from_dict(cls, data: Any, what: str = "step") -> Step:
        """Parse a step dict (``channel``, ``delay_seconds`` and ``template`` required)."""
        keys = {"channel", "delay_seconds", "template", "recipients", "purpose"}
        data = _obj(data, keys | {"conditions", "caller"}, what)
        if missing := sorted({"channel", "delay_seconds", "template"} - set(data)):
            raise _bad(f"{what}: missing {', '.join(missing)}")
        recipients = data.get("recipients", ["party"])
        if not isinstance(recipients, list):
            raise _bad(f"{what}.recipients must be a list")
        for key in ("template", "purpose", "caller"):
            if key in data and not isinstance(data[key], str):
                raise _bad(f"{what}.{key} must be a string")
        return cls(
            channel=_enum(Channel, data["channel"], f"{what}.channel"),
            delay_seconds=_int(data["delay_seconds"], f"{what}.delay_seconds"),
            template=data["template"],
            recipients=tuple(_enum(Audience, r, f"{what}.recipients") for r in recipients),
            purpose=data.get("purpose", "transactional"),
            conditions=StepConditions.from_dict(data.get("conditions", {}), f"{what}.conditions"),
            caller=data.get("caller", "default"),
        )


@dataclass(frozen=True)
class Ladder:
    """The steps for one event type (and optionally one city), sorted by delay."""

    event_type: str
    steps: tuple[Step, ...]
    version: int = 1
    city: str | None = None

    def __post_init__(self) -> None:
        if not _NAME.match(self.event_type):
            raise _bad(f"bad event type {self.event_type!r}")
        if not 1 <= len(self.steps) <= MAX_STEPS:
            raise _bad(f"a ladder has 1 to {MAX_STEPS} steps, not {len(self.steps)}")
        delays = [s.delay_seconds for s in self.steps]
        if delays != sorted(delays):
            raise _bad("ladder steps must be sorted by delay")
        if self.version < 1:
            raise _bad("ladder version must be 1 or more")
        if self.city is not None and not _NAME.match(self.city):
            raise _bad(f"bad city {self.city!r}")

    def check_templates(self, known: Collection[str]) -> None:
        """Raise :class:`ValidationError` if a step names a template not in ``known``."""
        if unknown := sorted({s.template for s in self.steps} - set(known)):
            raise _bad(f"unknown template(s): {', '.join(unknown)}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (what an escalation freezes)."""
        return {
            "event_type": self.event_type,
            "version": self.version,
            "city": self.city,
            "steps": [s.to_dict() for s in self.steps],
        }

    @classmethod
    def from_dict(cls, data: Any) -> Ladder:
        """Parse a ladder dict; messages name the bad step (``steps[2].channel``)."""
        data = _obj(data, {"event_type", "version", "city", "steps"}, "ladder")
        steps = data.get("steps")
        if not isinstance(steps, list):
            raise _bad("ladder.steps must be a list")
        city = data.get("city")
        if city is not None and not isinstance(city, str):
            raise _bad("ladder.city must be a string")
        event_type = data.get("event_type")
        if not isinstance(event_type, str):
            raise _bad("ladder.event_type must be a string")
        return cls(
            event_type=event_type,
            steps=tuple(Step.from_dict(s, f"steps[{i}]") for i, s in enumerate(steps)),
            version=_int(data.get("version", 1), "ladder.version"),
            city=city,
        )


def escalation_id(event_type: str, subject: str | int) -> str:
    """A stable escalation id, e.g. ``vendor_new_order_12345`` (one per event and subject)."""
    value = f"{event_type}_{subject}"
    if not _ID.match(value):
        raise _bad(f"bad escalation id {value!r}")
    return value


@dataclass(frozen=True)
class Escalation:
    """One running (or finished) ladder. Change it only through ``escalation.engine``.

    Attributes:
        next_step: index of the step whose job is pending (``len(steps)`` when none is).
        fence: bumped whenever a new job is scheduled or the escalation ends; a job whose
            fence differs is stale and does nothing.
        held: how far waiting for allowed hours has pushed the rest of the ladder.
        facts: what is known (``read``, ``answered``, ``call_requested``…), for conditions.
    """

    id: str
    ladder: Ladder
    started_at: datetime
    next_step: int = 0
    fence: int = 0
    status: Status = Status.ACTIVE
    held: timedelta = timedelta(0)
    facts: frozenset[str] = frozenset()
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    ended_at: datetime | None = None
    end_reason: str | None = None
    executed: tuple[int, ...] = field(default=())

    def __post_init__(self) -> None:
        if not _ID.match(self.id):
            raise _bad(f"bad escalation id {self.id!r}")
        if self.started_at.tzinfo is None:
            raise _bad("started_at must be timezone-aware")
        if not 0 <= self.next_step <= len(self.ladder.steps) or self.fence < 0:
            raise _bad("next_step/fence out of range")

    @property
    def is_open(self) -> bool:
        """Whether steps may still go out (active, i.e. not acknowledged, stopped, done)."""
        return self.status is Status.ACTIVE

    def due_at(self, step: int) -> datetime:
        """When step ``step`` is due: start + its delay + time held for allowed hours."""
        delay = timedelta(seconds=self.ladder.steps[step].delay_seconds)
        return self.started_at + delay + self.held

    @property
    def pending_key(self) -> str | None:
        """The job key of the pending step, if any (what an ack must cancel)."""
        if self.status is not Status.ACTIVE or self.next_step >= len(self.ladder.steps):
            return None
        return step_key(self.id, self.next_step, self.fence)

    def with_fact(self, fact: str) -> Escalation:
        """Record a fact (``read``, ``answered``…); pending jobs stay valid."""
        _names([fact], "fact")
        return replace(self, facts=self.facts | {fact})

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; the ladder is embedded (frozen)."""
        ack_at = self.acknowledged_at
        return {
            "id": self.id,
            "ladder": self.ladder.to_dict(),
            "started_at": self.started_at.astimezone(UTC).isoformat(),
            "next_step": self.next_step,
            "fence": self.fence,
            "status": self.status.value,
            "held_seconds": self.held.total_seconds(),
            "facts": sorted(self.facts),
            "acknowledged_by": self.acknowledged_by,
            "acknowledged_at": ack_at.astimezone(UTC).isoformat() if ack_at else None,
            "ended_at": self.ended_at.astimezone(UTC).isoformat() if self.ended_at else None,
            "end_reason": self.end_reason,
            "executed": list(self.executed),
        }

    @classmethod
    def from_dict(cls, data: Any) -> Escalation:
        """Parse what :meth:`to_dict` wrote."""
        data = _obj(data, set(_ESCALATION_KEYS), "escalation")
        if missing := sorted({"id", "ladder", "started_at"} - set(data)):
            raise _bad(f"escalation: missing {', '.join(missing)}")
        held = data.get("held_seconds", 0.0)
        if isinstance(held, bool) or not isinstance(held, int | float) or held < 0:
            raise _bad("escalation.held_seconds must be a non-negative number")
        executed = data.get("executed", [])
        if not isinstance(executed, list):
            raise _bad("escalation.executed must be a list")
        opt = {k: data.get(k) for k in ("acknowledged_by", "end_reason")}
        if any(v is not None and not isinstance(v, str) for v in opt.values()):
            raise _bad("escalation.acknowledged_by/end_reason must be strings")
        ack_at, ended_at = data.get("acknowledged_at"), data.get("ended_at")
        return cls(
            id=str(data["id"]),
            ladder=Ladder.from_dict(data["ladder"]),
            started_at=_time(data["started_at"], "escalation.started_at"),
            next_step=_int(data.get("next_step", 0), "escalation.next_step"),
            fence=_int(data.get("fence", 0), "escalation.fence"),
            status=_enum(Status, data.get("status", "active"), "escalation.status"),
            held=timedelta(seconds=held),
            facts=_names(data.get("facts", []), "escalation.facts"),
            acknowledged_at=_time(ack_at, "acknowledged_at") if ack_at is not None else None,
            ended_at=_time(ended_at, "ended_at") if ended_at is not None else None,
            executed=tuple(_int(i, "escalation.executed") for i in executed),
            **opt,
        )


_ESCALATION_KEYS = frozenset(
    {
        "id",
        "ladder",
        "started_at",
        "next_step",
        "fence",
        "status",
        "held_seconds",
        "facts",
        "acknowledged_by",
        "acknowledged_at",
        "ended_at",
        "end_reason",
        "executed",
    }
)


def step_key(escalation: str, step: int, fence: int) -> str:
    """The unique job key of one scheduled step: ``esc:<id>:<step>:<fence>``."""
    return f"esc:{escalation}:{step}:{fence}"
