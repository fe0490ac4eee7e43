"""Field checks shared by the configuration sections: errors with paths, merge patches."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from exocomms.errors import ValidationError

Loc = list[str | int]


class ConfigErrors:
    """Collects field errors while parsing, raised once as a ``ValidationError``."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, loc: Loc, message: str, kind: str = "value_error") -> None:
        """Record one bad field."""
        self.items.append({"loc": list(loc), "message": message, "type": kind})

    def raise_if_any(self) -> None:
        """Raise :class:`ValidationError` listing every recorded field, if there is one."""
        if self.items:
            first = self.items[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ValidationError(f"{where}: {first['message']}", details=self.items)


def merge_patch(target: Any, patch: Any) -> Any:
    """Apply an RFC 7396 JSON Merge Patch: ``patch`` onto ``target``, returning a new value."""
    if not isinstance(patch, Mapping):
        return patch
    result = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def check_object(value: Any, loc: Loc, errors: ConfigErrors) -> Mapping[str, Any] | None:
    """``value`` if it is a JSON object, else None (and an error at ``loc``)."""
    if not isinstance(value, Mapping):
        errors.add(loc, "must be an object", "type_error")
        return None
    return value


def check_unknown(
    data: Mapping[str, Any], allowed: set[str], loc: Loc, errors: ConfigErrors
) -> None:
    """Record an error for every key of ``data`` not in ``allowed``."""
    for key in sorted(str(k) for k in data if k not in allowed):
        errors.add([*loc, key], f"unknown field; allowed: {', '.join(sorted(allowed))}", "extra")


def check_number(value: Any, lo: float, hi: float, loc: Loc, errors: ConfigErrors) -> float | None:
    """``value`` as a float within ``[lo, hi]``, else None (and an error at ``loc``)."""
    # bool is an int subclass: refuse it explicitly, ``true`` is never a delay.
    if isinstance(value, bool) or not isinstance(value, int | float):
        errors.add(loc, "must be a number", "type_error")
        return None
    if isinstance(value, float) and not math.isfinite(value):
        errors.add(loc, "must be a number", "type_error")
        return None
    if not lo <= value <= hi:
        errors.add(loc, f"must be between {lo:g} and {hi:g}")
        return None
    return float(value)


def check_integer(value: Any, lo: int, hi: int, loc: Loc, errors: ConfigErrors) -> int | None:
    """``value`` as an int within ``[lo, hi]``, else None (and an error at ``loc``)."""
    if isinstance(value, bool) or not isinstance(value, int):
        errors.add(loc, "must be an integer", "type_error")
        return None
    if not lo <= value <= hi:
        errors.add(loc, f"must be between {lo} and {hi}")
        return None
    return value
