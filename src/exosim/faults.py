"""Fault injection: make the emulator misbehave the way a real carrier sometimes does.

A fault targets either the REST API (``target="api"``: answer 5xx or 429, add latency, or
hang until the client times out) or outgoing callbacks (``target="callback"``: lose, delay,
duplicate or reorder them). It applies by probability, to the next ``remaining`` matches,
or both.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

FaultTarget = Literal["api", "callback"]
ApiFaultKind = Literal["5xx", "429", "latency", "timeout"]
CallbackFaultKind = Literal["lost", "delayed", "duplicated", "reordered"]
API_FAULT_KINDS: frozenset[str] = frozenset({"5xx", "429", "latency", "timeout"})
CALLBACK_FAULT_KINDS: frozenset[str] = frozenset({"lost", "delayed", "duplicated", "reordered"})

_ids = itertools.count(1)


@dataclass
class Fault:
    """One fault rule.

    ``endpoint`` names what it applies to: for the API an operation such as
    ``"Calls/connect"``, ``"Calls"``, ``"Sms/send"``, ``"messages"`` or ``"*"``; for callbacks a
    callback kind: ``"status"`` (call status), ``"sms"``, ``"whatsapp"``, ``"applet"`` or ``"*"``.
    """

    target: FaultTarget
    kind: str
    endpoint: str = "*"
    probability: float = 1.0
    remaining: int | None = None  # None = unlimited
    status_code: int = 500  # for 5xx
    delay_seconds: float = 5.0  # for latency/timeout/delayed (simulated seconds)
    id: int = field(default_factory=lambda: next(_ids))
    hits: int = 0

    def to_json(self) -> dict[str, Any]:
        """The fault as the control API shows it."""
        return asdict(self)


class Faults:
    """The active fault rules of one emulator."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self._rules: list[Fault] = []
        self._rng = rng or random.Random()

    def add(self, fault: Fault) -> Fault:
        """Add a rule after validating its kind against its target."""
        allowed = API_FAULT_KINDS if fault.target == "api" else CALLBACK_FAULT_KINDS
        if fault.kind not in allowed:
            raise ValueError(f"kind {fault.kind!r} is not valid for target {fault.target!r}")
        if not 0.0 <= fault.probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        if fault.remaining is not None and fault.remaining < 1:
            raise ValueError("remaining must be at least 1")
        self._rules.append(fault)
        return fault

    def remove(self, fault_id: int) -> bool:
        """Remove a rule; False when there was none with that id."""
        before = len(self._rules)
        self._rules = [rule for rule in self._rules if rule.id != fault_id]
        return len(self._rules) != before

    def clear(self) -> None:
        """Remove every rule."""
        self._rules.clear()

    def list(self) -> list[Fault]:
        """The active rules, oldest first."""
        return list(self._rules)

    def pick(self, target: FaultTarget, endpoint: str) -> Fault | None:
        """The first rule that fires for this request/callback, consuming one use of it."""
        for rule in self._rules:
            if rule.target != target or rule.endpoint not in ("*", endpoint):
                continue
            if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                continue
            rule.hits += 1
            if rule.remaining is not None:
                rule.remaining -= 1
                if rule.remaining == 0:
                    self._rules.remove(rule)
            return rule
        return None
