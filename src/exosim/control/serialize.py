"""Records as JSON for the inspection API: every field, datetimes as ISO 8601 UTC."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any


def to_jsonable(value: Any) -> Any:
    """Dataclasses, dicts, lists, sets and datetimes as plain JSON values.

    Objects of other types (e.g. another package's models) become their ``repr``, so
    inspection never fails on something it does not know.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(to_jsonable(v) for v in value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return repr(value)


def record_json(record: Any) -> dict[str, Any]:
    """One record (a dataclass) as a JSON object."""
    result = to_jsonable(record)
    if not isinstance(result, dict):
        raise TypeError(f"{type(record).__name__} is not a record")
    return result
