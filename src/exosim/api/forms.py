"""Request parameters of Exotel's v1 API, with every array spelling clients use.

Bodies come form-encoded or multipart (EXOTEL.md §1.1); arrays arrive as ``K[0]=a&K[1]=b``,
``K[]=a&K[]=b``, ``K=a&K=b`` or ``K=a,b`` (§1.2), and nested arrays as ``K[0][To]=…`` (§4.2).
Blank values count as absent, so "missing" means the same however a client spells it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request
from starlette.datastructures import UploadFile

from exosim.api.render import ExotelError

MAX_BODY_BYTES = 1_000_000  # far above any legitimate request; protects the emulator
_INDEXED = re.compile(r"^(?P<name>[^\[\]]+)\[(?P<index>\d*)\](?P<rest>.*)$")


class Params:
    """Ordered (name, value) pairs of one request, with Exotel-style accessors."""

    def __init__(self, pairs: Iterable[tuple[str, str]], json_body: Any = None) -> None:
        self.pairs = [(key, value) for key, value in pairs]
        self.json_body = json_body

    def get(self, name: str) -> str | None:
        """The first non-blank value of ``name`` (whitespace trimmed), or None."""
        for key, value in self.pairs:
            if key == name and value.strip():
                return value.strip()
        return None

    def has(self, name: str) -> bool:
        """True when ``name`` (in any array spelling) has a non-blank value."""
        return bool(self.get_list(name))

    def get_list(self, name: str) -> list[str]:
        """Every value of array ``name`` in all four spellings, comma lists split, in order.

        Indexed items (``K[3]``) sort by index; unindexed ones keep their request order.
        """
        plain: list[str] = []
        indexed: list[tuple[int, int, str]] = []
        for position, (key, value) in enumerate(self.pairs):
            if key in (name, f"{name}[]"):
                plain.append(value)
                continue
            match = _INDEXED.match(key)
            if match and match["name"] == name and match["index"] and not match["rest"]:
                indexed.append((int(match["index"]), position, value))
        values = plain + [value for _, _, value in sorted(indexed)]
        return [part.strip() for value in values for part in value.split(",") if part.strip()]

    def get_objects(self, name: str) -> list[dict[str, str]]:
        """Nested array ``name[0][Field]=…`` as a list of dicts, ordered by index."""
        items: dict[int, dict[str, str]] = {}
        for key, value in self.pairs:
            match = _INDEXED.match(key)
            if not match or match["name"] != name or not match["index"]:
                continue
            field = re.fullmatch(r"\[([^\[\]]+)\]", match["rest"])
            if field is None:
                continue
            items.setdefault(int(match["index"]), {}).setdefault(field[1], value.strip())
        return [items[index] for index in sorted(items)]

    def names(self) -> set[str]:
        """Every parameter name as sent."""
        return {key for key, _ in self.pairs}


def _json_pairs(body: Any) -> list[tuple[str, str]]:
    """Top-level scalars (and lists of scalars) of a JSON object as form pairs.

    Exotel's v1 takes forms; accepting the same names in a JSON object costs nothing and
    helps clients that send JSON everywhere.
    """
    if not isinstance(body, dict):
        return []
    pairs: list[tuple[str, str]] = []
    for key, value in body.items():
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, bool):
                pairs.append((str(key), "true" if item else "false"))
            elif isinstance(item, str | int | float):
                pairs.append((str(key), str(item)))
    return pairs


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ExotelError(400, "Request body is not valid UTF-8") from exc


async def read_params(request: Request) -> Params:
    """Query string plus a form, multipart or JSON body, as :class:`Params`.

    Raises:
        ExotelError: 400 for an undecodable or oversized body.
    """
    query = list(request.query_params.multi_items())
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        try:
            form = await request.form(max_files=50, max_fields=5000)
        except Exception as exc:  # malformed multipart of any kind is the client's fault
            raise ExotelError(400, f"Malformed multipart body: {exc}") from exc
        pairs: list[tuple[str, str]] = []
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                pairs.append((key, _decode(await value.read(MAX_BODY_BYTES))))
            else:
                pairs.append((key, value))
        await form.close()
        return Params(pairs + query)
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise ExotelError(400, "Request body is too large")
    text = _decode(raw)
    if content_type == "application/json":
        try:
            body = json.loads(text) if text.strip() else None
        except json.JSONDecodeError as exc:
            raise ExotelError(400, f"Body is not valid JSON: {exc.msg}") from exc
        return Params(_json_pairs(body) + query, body)
    # Form-encoded, or no content type at all (some clients omit it).
    return Params(parse_qsl(text, keep_blank_values=True) + query)
