"""India DLT checks and SMS segment counting (EXOTEL.md §4.1, §4.4).

A body must equal a registered template exactly, with each ``{#var#}`` replaced by a value
under 30 characters; one extra space fails it. Sender IDs listed on the template must match.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from exosim.api.render import ExotelError
from exosim.model import DltTemplate
from exosim.store import Store

PLACEHOLDER = "{#var#}"
MAX_VAR_CHARS = 29  # "under 30 characters" (Exotel KB)
_ANY_PLACEHOLDER = re.compile(r"\{#[^{}]*#\}")

# GSM 03.38 basic set, and the extension table whose characters take two septets.
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = set("^{}\\[~]|€\f")


@dataclass
class DltResult:
    """The template a body matched, and the values in its placeholders."""

    template: DltTemplate
    values: list[str]


def validate_template_body(body: str) -> None:
    """Reject template text with placeholders other than the literal ``{#var#}``.

    Raises:
        ValueError: naming the offending placeholder.
    """
    for match in _ANY_PLACEHOLDER.finditer(body):
        if match.group(0) != PLACEHOLDER:
            raise ValueError(f"only {PLACEHOLDER} placeholders are allowed, not {match.group(0)}")


def _pattern(template: DltTemplate, limit: int | None) -> re.Pattern[str]:
    value = "(.*?)" if limit is None else f"(.{{0,{limit}}}?)"
    parts = [re.escape(part) for part in template.body.split(PLACEHOLDER)]
    return re.compile(value.join(parts), re.DOTALL)


def match_template(template: DltTemplate, body: str) -> list[str] | None:
    """Placeholder values when ``body`` fits ``template`` exactly (any value length)."""
    found = _pattern(template, None).fullmatch(body)
    return list(found.groups()) if found else None


def fits(template: DltTemplate, body: str) -> bool:
    """True when ``body`` fits ``template`` with every value under 30 characters."""
    return _pattern(template, MAX_VAR_CHARS).fullmatch(body) is not None


def check_dlt(
    store: Store, body: str, sender: str, template_id: str | None, entity_id: str | None
) -> DltResult | None:
    """Validate an SMS against the registered DLT templates.

    Applies when a DLT id is given or any template is registered; returns None otherwise.

    Raises:
        ExotelError: 400 for an unknown template, wrong entity, body mismatch, a value of
            30+ characters, or a sender the template does not allow.
    """
    if template_id is None and entity_id is None and not store.dlt_templates:
        return None
    if template_id is not None:
        template = store.dlt_templates.get(template_id)
        if template is None:
            raise ExotelError(400, f"DLT template {template_id[:40]!r} is not registered")
        candidates = [template]
    else:
        candidates = [t for t in store.dlt_templates.values() if entity_id in (None, t.entity_id)]
        if not candidates:
            raise ExotelError(400, f"No DLT template is registered for entity {entity_id!r}")
    for template in candidates:
        if entity_id is not None and entity_id != template.entity_id:
            raise ExotelError(
                400,
                f"DltEntityId {entity_id[:40]!r} does not own template {template.template_id!r}",
            )
        values = match_template(template, body)
        if values is None:
            continue
        if not fits(template, body):
            raise ExotelError(
                400, f"A DLT variable value must be under {MAX_VAR_CHARS + 1} characters"
            )
        if template.sender_ids and sender.upper() not in {s.upper() for s in template.sender_ids}:
            raise ExotelError(400, f"Sender {sender!r} is not registered for this DLT template")
        return DltResult(template, values)
    raise ExotelError(400, "Body does not match the registered DLT template exactly")


def is_gsm(text: str) -> bool:
    """True when every character fits the GSM 7-bit alphabet (with its extension)."""
    return all(ch in _GSM_BASIC or ch in _GSM_EXTENDED for ch in text)


def sms_units(body: str, encoding: str) -> int:
    """Segments billed: GSM 160 (153 per part), unicode 70 (67 per part)."""
    if encoding == "unicode" or not is_gsm(body):
        length = len(body)
        return 1 if length <= 70 else math.ceil(length / 67)
    septets = sum(2 if ch in _GSM_EXTENDED else 1 for ch in body)
    return 1 if septets <= 160 else math.ceil(septets / 153)
