"""Validation helpers shared by the timing-rule parsers (``from_dict`` of the models)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from exocomms.errors import ValidationError


def invalid(message: str, **details: Any) -> ValidationError:
    """A :class:`~exocomms.errors.ValidationError` with ``details`` (None when empty)."""
    return ValidationError(message, details=details or None)


def only_keys(data: Any, allowed: set[str], what: str) -> Mapping[str, Any]:
    """``data`` as a mapping, rejecting keys outside ``allowed`` (``what`` names it)."""
    if not isinstance(data, Mapping):
        raise invalid(f"{what} must be an object")
    unknown = sorted(str(k) for k in data if k not in allowed)
    if unknown:
        raise invalid(f"unknown field(s) in {what}: {', '.join(unknown)}", allowed=sorted(allowed))
    return data


def bool_field(data: Mapping[str, Any], key: str, default: bool, what: str) -> bool:
    """``data[key]`` (``default`` when missing), which must be a bool."""
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise invalid(f"{what}.{key} must be true or false")
    return value
