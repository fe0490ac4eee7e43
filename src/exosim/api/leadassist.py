"""Exotel Lead Assist (ExoBridge) GreenVN and GreenPin allocation endpoints (EXOTEL.md §5).

``/v1/tenants/<tenant_id>/greenvn`` and ``/greenpin``, HTTP Basic with the account SID (or
API key) and the ExoBridge token. exosim's ExoBridge token is the account's API token
(assumed: Exotel issues a separate token). Requests may be JSON or form-encoded and use the
DOC-OLD names (``aparty_numbers``, ``bparty_numbers``, ``usage``…) or the DOC-NEW ones
(``from``, ``to``, ``duration``); lists may be JSON lists or comma-separated strings.

Documented: the paths, Basic auth, the parameter names, ``usage`` oneway/twoway, GreenPin's
5 min–170 days validity and the ``greenpin_id``/``virtual_number``/``pin`` response fields.
Assumed (UNKNOWN in the docs): the ``{"response": {...}}`` envelope of DOC-NEW for every
answer, errors as ``{"status": "failure", "message": …}``, 409 when no number is free for a
GreenVN, the default validity (86 400 s) and the virtual numbers themselves (the account's
ExoPhones, else :data:`DEFAULT_NUMBERS`; set them with ``PUT /_exosim/leadassist/numbers``).

Routing: :func:`~exosim.api.leadassist_store.route` (re-exported here) says where a call from
``caller`` to a virtual number goes.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import secrets
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from exosim.api.leadassist_store import DEFAULT_DURATION as DEFAULT_DURATION
from exosim.api.leadassist_store import DEFAULT_NUMBERS as DEFAULT_NUMBERS  # re-exported
from exosim.api.leadassist_store import MAX_DURATION, MIN_DURATION, Kind, tail
from exosim.api.leadassist_store import Allocation as Allocation
from exosim.api.leadassist_store import LeadAssistError as LeadAssistError
from exosim.api.leadassist_store import allocations as allocations
from exosim.api.leadassist_store import route as route
from exosim.api.leadassist_store import route_pin as route_pin
from exosim.api.leadassist_store import virtual_numbers as virtual_numbers
from exosim.api.state import get_sim
from exosim.model import Account, new_sid
from exosim.store import Store

router = APIRouter(tags=["lead assist"])


# -- request handling ---------------------------------------------------------------------
def _account(store: Store, request: Request) -> Account:
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    try:
        user, sep, password = (
            base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        )
    except (binascii.Error, UnicodeDecodeError):
        sep = ""
    if scheme.lower() != "basic" or not sep:
        raise LeadAssistError(401, "Authentication required: Basic account SID and token")
    for account in store.accounts.values():
        user_ok = hmac.compare_digest(user.encode(), account.sid.encode()) or (
            hmac.compare_digest(user.encode(), account.api_key.encode())
        )
        if user_ok and hmac.compare_digest(password.encode(), account.api_token.encode()):
            return account
    raise LeadAssistError(401, "Authentication failed")


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise LeadAssistError(400, "Body is not valid JSON") from exc
        if not isinstance(data, dict):
            raise LeadAssistError(400, "Body must be a JSON object")
        return data
    form = await request.form()
    result: dict[str, Any] = {}
    for key, value in form.multi_items():
        name = key.removesuffix("[]")
        if isinstance(value, str):
            result.setdefault(name, []).append(value)
    return {k: v[0] if len(v) == 1 else v for k, v in result.items()}


def _numbers(body: dict[str, Any], *names: str, required: bool) -> list[str]:
    for name in names:
        value = body.get(name)
        if value in (None, "", []):
            continue
        items = value if isinstance(value, list) else str(value).split(",")
        numbers = [str(n).strip() for n in items if str(n).strip()]
        if any(len(tail(n)) < 10 for n in numbers):
            raise LeadAssistError(400, f"{names[0]} must hold phone numbers")
        return numbers
    if required:
        raise LeadAssistError(400, f"{names[0]} is required")
    return []


def _pins(body: dict[str, Any], name: str) -> list[int]:
    value = body.get(name)
    if value in (None, "", []):
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    try:
        return [int(str(p).strip()) for p in items]
    except ValueError as exc:
        raise LeadAssistError(400, f"{name} must be integers") from exc


def _duration(body: dict[str, Any], kind: Kind) -> int:
    raw = body.get("duration", body.get("validity"))
    if raw in (None, ""):
        return DEFAULT_DURATION
    try:
        seconds = int(str(raw))
    except ValueError as exc:
        raise LeadAssistError(400, "duration must be seconds") from exc
    low = MIN_DURATION if kind == "greenpin" else 1
    if not low <= seconds <= MAX_DURATION:
        raise LeadAssistError(400, f"duration must be {low}..{MAX_DURATION} seconds")
    return seconds


def _ok(record: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse({"status": "success", "response": record}, status_code=status)


def _fail(error: LeadAssistError) -> JSONResponse:
    return JSONResponse({"status": "failure", "message": error.message}, status_code=error.status)


def _find(store: Store, account: Account, tenant: str, ident: str, kind: Kind) -> Allocation:
    alloc = allocations(store).get(ident)
    if alloc is None or alloc.kind != kind or alloc.account_sid != account.sid:
        raise LeadAssistError(404, f"No {kind} allocation {ident[:64]!r}")
    if alloc.tenant_id != tenant:
        raise LeadAssistError(404, f"No {kind} allocation {ident[:64]!r}")
    return alloc


def _free_number(store: Store, account: Account, parties: list[str], skip: str = "") -> str:
    held = {
        tail(a.virtual_number)
        for a in allocations(store).values()
        if a.kind == "greenvn" and {tail(n) for n in a.aparty + a.bparty} & set(parties)
    }
    for number in virtual_numbers(store, account.sid):
        if tail(number) not in held and tail(number) != tail(skip):
            return number
    raise LeadAssistError(409, "No virtual number available for these parties")


async def _handle(request: Request, tenant: str, action: str, ident: str = "") -> JSONResponse:
    store = get_sim(request).store
    try:
        account = _account(store, request)
        return await _dispatch(store, account, request, tenant, action, ident)
    except LeadAssistError as error:
        return _fail(error)


async def _dispatch(
    store: Store, account: Account, request: Request, tenant: str, action: str, ident: str
) -> JSONResponse:
    now = store.clock.now()
    if action in ("greenvn.create", "greenpin.create"):
        kind: Kind = "greenvn" if action == "greenvn.create" else "greenpin"
        body = await _body(request)
        a = _numbers(body, "aparty_numbers", "from", "aparty_number", required=True)
        b = _numbers(body, "bparty_numbers", "to", "bparty_number", required=True)
        usage = str(body.get("usage", "twoway")).lower()
        if kind == "greenvn" and usage not in ("oneway", "twoway"):
            raise LeadAssistError(400, "usage must be oneway or twoway")
        seconds = _duration(body, kind)
        alloc = Allocation(
            id=new_sid(),
            kind=kind,
            tenant_id=tenant,
            account_sid=account.sid,
            connection_id=str(body.get("connection_id", ""))[:128],
            aparty=a,
            bparty=b,
            virtual_number="",
            created_at=now,
            expires_at=now + timedelta(seconds=seconds),
            usage=usage,
            aparty_pins=_pins(body, "aparty_pins"),
            bparty_pins=_pins(body, "bparty_pins"),
        )
        if kind == "greenvn":
            alloc.virtual_number = _free_number(store, account, [tail(n) for n in a + b])
        else:
            alloc.virtual_number = virtual_numbers(store, account.sid)[0]
            taken = {x.pin for x in allocations(store).values() if x.kind == "greenpin"}
            given = alloc.aparty_pins[0] if alloc.aparty_pins else None
            alloc.pin = str(given) if given is not None else _new_pin(taken)
        allocations(store)[alloc.id] = alloc
        return _ok(alloc.to_json(), 201)
    kind = "greenvn" if action.startswith("greenvn") else "greenpin"
    if action == "greenpin.bulk":
        body = await _body(request)
        items = body.get("greenpins")
        if not isinstance(items, list):
            raise LeadAssistError(400, "greenpins must be a list of allocations")
        updated = []
        for item in items:
            if not isinstance(item, dict):
                raise LeadAssistError(400, "each greenpin must be an object")
            alloc = _find(store, account, tenant, str(item.get("greenpin_id", "")), "greenpin")
            _update(alloc, item, now)
            updated.append(alloc.to_json())
        return _ok({"greenpins": updated})
    alloc = _find(store, account, tenant, ident, kind)
    if action.endswith(".get"):
        return _ok(alloc.to_json())
    if action.endswith(".delete"):
        del allocations(store)[alloc.id]
        return _ok({alloc_id_key(kind): alloc.id, "deleted": True})
    body = await _body(request)
    if action == "greenvn.vn":
        wanted = str(body.get("virtual_number", "")).strip()
        parties = [tail(n) for n in alloc.aparty + alloc.bparty]
        del allocations(store)[alloc.id]  # its own number does not block the move
        try:
            if wanted:
                if tail(wanted) not in {tail(n) for n in virtual_numbers(store, account.sid)}:
                    raise LeadAssistError(400, "virtual_number is not one of this account's")
                alloc.virtual_number = wanted
            else:
                alloc.virtual_number = _free_number(store, account, parties, alloc.virtual_number)
        finally:
            allocations(store)[alloc.id] = alloc
        return _ok(alloc.to_json())
    _update(alloc, body, now)  # greenvn.call-party and greenpin.update
    return _ok(alloc.to_json())


def alloc_id_key(kind: Kind) -> str:
    """``greenvn_id`` or ``greenpin_id``."""
    return f"{kind}_id"


def _update(alloc: Allocation, body: dict[str, Any], now: datetime) -> None:
    a = _numbers(body, "aparty_numbers", "from", required=False)
    b = _numbers(body, "bparty_numbers", "to", required=False)
    if a:
        alloc.aparty = a
    if b:
        alloc.bparty = b
    if body.get("duration") not in (None, ""):
        alloc.expires_at = now + timedelta(seconds=_duration(body, alloc.kind))


def _new_pin(taken: set[str | None]) -> str:
    while True:
        pin = str(secrets.randbelow(10_000)).zfill(4)
        if pin not in taken:
            return pin


_BASE = "/v1/tenants/{tenant_id}"


@router.post(_BASE + "/greenvn")
async def create_greenvn(tenant_id: str, request: Request) -> JSONResponse:
    """Allocate a GreenVN."""
    return await _handle(request, tenant_id, "greenvn.create")


@router.get(_BASE + "/greenvn/{greenvn_id}")
async def get_greenvn(tenant_id: str, greenvn_id: str, request: Request) -> JSONResponse:
    """One GreenVN."""
    return await _handle(request, tenant_id, "greenvn.get", greenvn_id)


@router.delete(_BASE + "/greenvn/{greenvn_id}")
async def delete_greenvn(tenant_id: str, greenvn_id: str, request: Request) -> JSONResponse:
    """Release a GreenVN."""
    return await _handle(request, tenant_id, "greenvn.delete", greenvn_id)


@router.put(_BASE + "/greenvn/{greenvn_id}/call-party")
async def call_party(tenant_id: str, greenvn_id: str, request: Request) -> JSONResponse:
    """Replace the A and/or B parties."""
    return await _handle(request, tenant_id, "greenvn.call-party", greenvn_id)


@router.put(_BASE + "/greenvn/{greenvn_id}/vn")
async def change_vn(tenant_id: str, greenvn_id: str, request: Request) -> JSONResponse:
    """Move to another virtual number (``virtual_number``, or any free one)."""
    return await _handle(request, tenant_id, "greenvn.vn", greenvn_id)


@router.post(_BASE + "/greenpin")
async def create_greenpin(tenant_id: str, request: Request) -> JSONResponse:
    """Allocate a GreenPin."""
    return await _handle(request, tenant_id, "greenpin.create")


@router.put(_BASE + "/greenpin")
async def bulk_greenpin(tenant_id: str, request: Request) -> JSONResponse:
    """Update several GreenPins: ``{"greenpins": [{"greenpin_id": …, …}]}`` (shape assumed)."""
    return await _handle(request, tenant_id, "greenpin.bulk")


@router.get(_BASE + "/greenpin/{greenpin_id}")
async def get_greenpin(tenant_id: str, greenpin_id: str, request: Request) -> JSONResponse:
    """One GreenPin."""
    return await _handle(request, tenant_id, "greenpin.get", greenpin_id)


@router.put(_BASE + "/greenpin/{greenpin_id}")
async def update_greenpin(tenant_id: str, greenpin_id: str, request: Request) -> JSONResponse:
    """Change parties or duration."""
    return await _handle(request, tenant_id, "greenpin.update", greenpin_id)


@router.delete(_BASE + "/greenpin/{greenpin_id}")
async def delete_greenpin(tenant_id: str, greenpin_id: str, request: Request) -> JSONResponse:
    """Release a GreenPin."""
    return await _handle(request, tenant_id, "greenpin.delete", greenpin_id)


# -- control ------------------------------------------------------------------------------
@router.get("/_exosim/leadassist")
async def inspect(request: Request) -> dict[str, Any]:
    """Every live allocation and the virtual numbers in use."""
    store = get_sim(request).store
    return {
        "numbers": store.leadassist.get("numbers") or None,
        "allocations": [a.to_json() | {"kind": a.kind} for a in allocations(store).values()],
    }


@router.put("/_exosim/leadassist/numbers")
async def set_numbers(request: Request) -> dict[str, Any]:
    """Set the virtual numbers: ``{"numbers": ["+9180…"]}`` (empty: ExoPhones/defaults)."""
    store = get_sim(request).store
    try:
        body = await _body(request)
        numbers = _numbers(body, "numbers", required=False)
    except LeadAssistError as error:
        return {"error": error.message}
    store.leadassist["numbers"] = numbers
    return {"numbers": numbers}


@router.get("/_exosim/leadassist/route")
async def route_preview(request: Request, caller: str, to: str, pin: str = "") -> dict[str, Any]:
    """Where a call from ``caller`` to virtual number ``to`` would go (``pin`` for GreenPin)."""
    store = get_sim(request).store
    target = route_pin(store, caller, to, pin) if pin else route(store, caller, to)
    return {"caller": caller, "virtual_number": to, "connect_to": target}
