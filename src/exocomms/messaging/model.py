"""Message templates as data: DLT SMS bodies and WhatsApp texts per language, with buttons.

SMS bodies are DLT templates: each variable is written literally as ``{#var#}`` and filled in
the order of :attr:`Template.variables`; India's DLT rules want every value under 30
characters and the sent body to equal the registered template with the values in place.
WhatsApp bodies use ``{{1}}``, ``{{2}}``… like Meta's approved templates.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from exocomms.errors import ValidationError
from exocomms.telephony.callflow import Language

DLT_VAR = "{#var#}"
MAX_DLT_VALUE = 29  # "under 30 characters" (Exotel KB 3000116276)
MAX_WHATSAPP_VALUE = 200
_WA_VAR = re.compile(r"\{\{(\d+)\}\}")


class Channel(StrEnum):
    """How a message travels."""

    SMS = "sms"
    WHATSAPP = "whatsapp"


class MessageStatus(StrEnum):
    """Lifecycle of a message; only moves forward (failed is final)."""

    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    CANCELED = "canceled"  # never sent: the escalation behind it was closed first

    @property
    def rank(self) -> int:
        """Order of the lifecycle (failed ranks with delivered: a terminal status)."""
        ranks = {"queued": 0, "sent": 1, "delivered": 2, "read": 3, "failed": 3, "canceled": 3}
        return ranks[self.value]


@dataclass(frozen=True)
class Button:
    """A WhatsApp quick-reply button: an id (in the payload) and its label per language."""

    id: str
    labels: Mapping[Language, str]


@dataclass(frozen=True)
class Template:
    """One message template. A template may have an SMS form, a WhatsApp form, or both."""

    name: str
    variables: tuple[str, ...]
    sms: Mapping[Language, str] = field(default_factory=dict)
    whatsapp: Mapping[Language, str] = field(default_factory=dict)
    buttons: tuple[Button, ...] = ()
    whatsapp_name: str | None = None  # the approved template's name at Meta

    def validate(self) -> None:
        """Check every language, the placeholder counts and the button ids.

        Raises:
            ValidationError: an inconsistent template.
        """
        problems: list[str] = []
        if not self.sms and not self.whatsapp:
            problems.append("no SMS or WhatsApp text")
        for lang in Language:
            if self.sms:
                body = self.sms.get(lang)
                if not body:
                    problems.append(f"no {lang.value} SMS")
                elif body.count(DLT_VAR) != len(self.variables):
                    problems.append(f"{lang.value} SMS has {body.count(DLT_VAR)} {DLT_VAR}")
                elif "{{" in body:
                    problems.append(f"{lang.value} SMS uses a non-DLT placeholder")
            if self.whatsapp:
                text = self.whatsapp.get(lang)
                if not text:
                    problems.append(f"no {lang.value} WhatsApp text")
                    continue
                used = sorted({int(n) for n in _WA_VAR.findall(text)})
                if used != list(range(1, len(self.variables) + 1)):
                    problems.append(f"{lang.value} WhatsApp placeholders {used}")
            problems.extend(
                f"button {b.id!r} has no {lang.value} label"
                for b in self.buttons
                if not b.labels.get(lang)
            )
        if problems:
            raise ValidationError(f"template {self.name!r} is invalid", details=problems)

    def values(self, params: Mapping[str, Any], limit: int) -> list[str]:
        """The variables' values in order, as text, each checked against ``limit``.

        Raises:
            ValidationError: a missing, empty or too long value.
        """
        out: list[str] = []
        problems: list[str] = []
        for name in self.variables:
            raw = params.get(name)
            text = "" if raw is None else " ".join(str(raw).split())
            if not text:
                problems.append(f"{name} is required")
            elif len(text) > limit:
                problems.append(f"{name} is {len(text)} characters (at most {limit})")
            out.append(text)
        if problems:
            raise ValidationError(f"bad params for template {self.name!r}", details=problems)
        return out

    def render_sms(self, params: Mapping[str, Any], language: Language) -> str:
        """The exact SMS body: the DLT template with each ``{#var#}`` filled in order.

        Raises:
            ValidationError: no SMS form, or bad values.
        """
        if not self.sms:
            raise ValidationError(f"template {self.name!r} has no SMS form")
        body = self.sms[language]
        for value in self.values(params, MAX_DLT_VALUE):
            body = body.replace(DLT_VAR, value.replace(DLT_VAR, ""), 1)
        return body

    def render_whatsapp(
        self, params: Mapping[str, Any], language: Language
    ) -> tuple[str, list[str]]:
        """The WhatsApp text in ``language`` and the ordered values (template parameters).

        Raises:
            ValidationError: no WhatsApp form, or bad values.
        """
        if not self.whatsapp:
            raise ValidationError(f"template {self.name!r} has no WhatsApp form")
        values = self.values(params, MAX_WHATSAPP_VALUE)
        text = _WA_VAR.sub(lambda m: values[int(m[1]) - 1], self.whatsapp[language])
        return text, values
