"""Control routes that set up the carrier side: accounts, ExoPhones, DLT templates, DND."""

from __future__ import annotations

import secrets
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from exosim.api.dlt import validate_template_body
from exosim.api.phonenum import display, normalise, same_number
from exosim.api.state import api_state, get_sim
from exosim.control.serialize import record_json
from exosim.model import Account, DltTemplate, ExoPhone, new_sid
from exosim.store import Store

router = APIRouter()
Url = Field(default=None, max_length=2000, pattern=r"^https?://\S+$")
Limit = Field(default=None, ge=1, le=1_000_000)


def _number(raw: str) -> str:
    number = normalise(raw)
    if number is None:
        raise HTTPException(422, f"Not a phone number: {raw[:40]!r}")
    return number


def _account(store: Store, sid: str) -> Account:
    account = store.accounts.get(sid)
    if account is None:
        raise HTTPException(404, f"No account {sid[:64]!r}")
    return account


# -- accounts ---------------------------------------------------------------------------
class AccountIn(BaseModel):
    """A new account; key and token are generated when not given."""

    model_config = ConfigDict(extra="forbid")
    sid: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    api_key: str | None = Field(default=None, min_length=1, max_length=128)
    api_token: str | None = Field(default=None, min_length=1, max_length=128)
    name: str = Field(default="", max_length=200)
    voice_per_minute: int = Field(default=200, ge=1, le=1_000_000)
    sms_per_minute: int = Field(default=200, ge=1, le=1_000_000)
    whatsapp_url: str | None = Url


class AccountPatch(BaseModel):
    """Fields of an account that can change (rate limits, incoming WhatsApp URL, name)."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=200)
    voice_per_minute: int | None = Limit
    sms_per_minute: int | None = Limit
    whatsapp_url: str | None = Url


@router.get("/accounts")
async def list_accounts(request: Request) -> list[dict[str, Any]]:
    """Every account with its credentials (this is a local test double)."""
    return [record_json(a) for a in get_sim(request).store.accounts.values()]


@router.post("/accounts", status_code=201)
async def create_account(request: Request, body: AccountIn) -> dict[str, Any]:
    """Add an account."""
    store = get_sim(request).store
    if body.sid in store.accounts:
        raise HTTPException(409, f"Account {body.sid!r} exists")
    account = Account(
        sid=body.sid,
        api_key=body.api_key or f"{body.sid}-key-{secrets.token_hex(4)}",
        api_token=body.api_token or secrets.token_hex(16),
        name=body.name,
        voice_per_minute=body.voice_per_minute,
        sms_per_minute=body.sms_per_minute,
        whatsapp_url=body.whatsapp_url,
    )
    if store.account_by_key(account.api_key) is not None:
        raise HTTPException(409, "Another account uses that api_key")
    store.accounts[account.sid] = account
    return record_json(account)


@router.get("/accounts/{sid}")
async def get_account(request: Request, sid: str) -> dict[str, Any]:
    """One account."""
    return record_json(_account(get_sim(request).store, sid))


@router.patch("/accounts/{sid}")
async def update_account(request: Request, sid: str, body: AccountPatch) -> dict[str, Any]:
    """Change rate limits (``voice_per_minute``, ``sms_per_minute``), name or WhatsApp URL."""
    account = _account(get_sim(request).store, sid)
    for name in body.model_fields_set:
        value = getattr(body, name)
        if value is None and name != "whatsapp_url":
            raise HTTPException(422, f"{name} cannot be null")
        setattr(account, name, value)
    if body.model_fields_set & {"voice_per_minute", "sms_per_minute"}:
        api_state(request).limiter.reset()
    return record_json(account)


# -- ExoPhones --------------------------------------------------------------------------
class ExoPhoneIn(BaseModel):
    """A new ExoPhone; ``account_sid`` defaults to the default account."""

    model_config = ConfigDict(extra="forbid")
    number: str = Field(min_length=1, max_length=32)
    account_sid: str | None = None
    friendly_name: str = Field(default="", max_length=200)
    voice_flow_id: str | None = Field(default=None, max_length=128)
    sms_flow_id: str | None = Field(default=None, max_length=128)
    whatsapp_url: str | None = Url


class ExoPhonePatch(BaseModel):
    """ExoPhone fields that can change; ``null`` clears a flow or URL."""

    model_config = ConfigDict(extra="forbid")
    friendly_name: str | None = Field(default=None, max_length=200)
    voice_flow_id: str | None = Field(default=None, max_length=128)
    sms_flow_id: str | None = Field(default=None, max_length=128)
    whatsapp_url: str | None = Url


def _exophone(store: Store, sid: str) -> ExoPhone:
    exophone = store.exophones.get(sid)
    if exophone is None:
        raise HTTPException(404, f"No ExoPhone {sid[:64]!r}")
    return exophone


@router.get("/exophones")
async def list_exophones(request: Request) -> list[dict[str, Any]]:
    """Every ExoPhone of every account."""
    return [record_json(p) for p in get_sim(request).store.exophones.values()]


@router.post("/exophones", status_code=201)
async def create_exophone(request: Request, body: ExoPhoneIn) -> dict[str, Any]:
    """Register an ExoPhone (shown as Exotel shows numbers, e.g. ``08047091234``)."""
    sim = get_sim(request)
    account = _account(sim.store, body.account_sid or sim.config.account_sid)
    number = _number(body.number)
    if any(same_number(p.phone_number, number) for p in sim.store.exophones.values()):
        raise HTTPException(409, f"ExoPhone {body.number!r} already exists")
    exophone = ExoPhone(
        sid=new_sid(),
        account_sid=account.sid,
        phone_number=display(number),
        friendly_name=body.friendly_name,
        voice_flow_id=body.voice_flow_id,
        sms_flow_id=body.sms_flow_id,
        whatsapp_url=body.whatsapp_url,
    )
    sim.store.exophones[exophone.sid] = exophone
    return record_json(exophone)


@router.patch("/exophones/{sid}")
async def update_exophone(request: Request, sid: str, body: ExoPhonePatch) -> dict[str, Any]:
    """Assign flows / WhatsApp URL / name."""
    exophone = _exophone(get_sim(request).store, sid)
    for name in body.model_fields_set:
        value = getattr(body, name)
        setattr(exophone, name, "" if value is None and name == "friendly_name" else value)
    return record_json(exophone)


@router.delete("/exophones/{sid}", status_code=204)
async def delete_exophone(request: Request, sid: str) -> None:
    """Remove an ExoPhone."""
    store = get_sim(request).store
    _exophone(store, sid)
    del store.exophones[sid]


# -- DLT templates ----------------------------------------------------------------------
class DltIn(BaseModel):
    """A DLT template; ``body`` uses literal ``{#var#}`` placeholders."""

    model_config = ConfigDict(extra="forbid")
    template_id: str = Field(min_length=1, max_length=64)
    entity_id: str = Field(min_length=1, max_length=64)
    body: str = Field(min_length=1, max_length=2000)
    sender_ids: list[str] = Field(default_factory=list, max_length=50)
    sms_type: Literal["transactional", "transactional_opt_in", "promotional"] = "transactional"


@router.get("/dlt/templates")
async def list_templates(request: Request) -> list[dict[str, Any]]:
    """Registered templates."""
    return [record_json(t) for t in get_sim(request).store.dlt_templates.values()]


@router.post("/dlt/templates", status_code=201)
async def create_template(request: Request, body: DltIn) -> dict[str, Any]:
    """Register a template; from then on every SMS must match some template."""
    store = get_sim(request).store
    try:
        validate_template_body(body.body)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    if body.template_id in store.dlt_templates:
        raise HTTPException(409, f"Template {body.template_id!r} exists")
    template = DltTemplate(**body.model_dump())
    store.dlt_templates[template.template_id] = template
    return record_json(template)


@router.delete("/dlt/templates/{template_id}", status_code=204)
async def delete_template(request: Request, template_id: str) -> None:
    """Unregister a template."""
    store = get_sim(request).store
    if store.dlt_templates.pop(template_id, None) is None:
        raise HTTPException(404, f"No template {template_id[:64]!r}")


# -- DND --------------------------------------------------------------------------------
class DndIn(BaseModel):
    """Numbers to mark as DND (any Indian spelling)."""

    model_config = ConfigDict(extra="forbid")
    numbers: list[str] = Field(min_length=1, max_length=10_000)


@router.get("/dnd")
async def list_dnd(request: Request) -> dict[str, list[str]]:
    """DND numbers (E.164)."""
    return {"numbers": sorted(get_sim(request).store.dnd_numbers)}


@router.post("/dnd")
async def add_dnd(request: Request, body: DndIn) -> dict[str, list[str]]:
    """Mark numbers DND: promotional SMS to them end ``failed_dnd``."""
    numbers = [_number(raw) for raw in body.numbers]  # validate all before changing any
    store = get_sim(request).store
    store.dnd_numbers.update(numbers)
    return {"numbers": sorted(store.dnd_numbers)}


@router.delete("/dnd/{number}", status_code=204)
async def remove_dnd(request: Request, number: str) -> None:
    """Unmark a number."""
    store = get_sim(request).store
    e164 = _number(number)
    if e164 not in store.dnd_numbers:
        raise HTTPException(404, f"{number[:40]!r} is not on the DND list")
    store.dnd_numbers.discard(e164)
