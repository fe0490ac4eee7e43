"""Control routes for the emulator itself: health, clock, faults and reset."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from exosim.api.render import exotel_time
from exosim.api.state import api_state, default_account, get_sim
from exosim.faults import Fault

router = APIRouter()


@router.get("/health")
async def health(request: Request) -> dict[str, Any]:
    """Liveness plus the default account and where the emulator is reachable."""
    sim = get_sim(request)
    return {
        "status": "ok",
        "account_sid": sim.config.account_sid,
        "base_url": sim.config.base_url,
        "clock": _clock_state(request),
    }


# -- clock ------------------------------------------------------------------------------
class ClockChange(BaseModel):
    """Change the clock: a scale, a mode (manual freezes, ``at`` sets), and/or an advance."""

    model_config = ConfigDict(extra="forbid")
    scale: float | None = Field(default=None, gt=0, le=100_000)
    mode: Literal["real", "scaled", "manual"] | None = None
    at: datetime | None = None
    advance: float | None = Field(default=None, ge=0, le=10 * 365 * 86400)


def _clock_state(request: Request) -> dict[str, Any]:
    clock = get_sim(request).store.clock
    now = clock.now()
    return {
        "mode": clock.mode,
        "scale": clock.scale,
        "now": now.isoformat(),
        "now_ist": exotel_time(now),
    }


@router.get("/clock")
async def get_clock(request: Request) -> dict[str, Any]:
    """Mode, scale and current simulated time (UTC ISO and Exotel's IST form)."""
    return _clock_state(request)


@router.post("/clock")
async def set_clock(request: Request, change: ClockChange) -> dict[str, Any]:
    """``{"scale": 60}``, ``{"mode": "manual", "at": "…"}``, ``{"advance": 30}``, …"""
    clock = get_sim(request).store.clock
    if change.at is not None and change.mode != "manual":
        raise HTTPException(422, 'at is only valid with "mode": "manual"')
    if change.mode == "scaled" and change.scale is None:
        raise HTTPException(422, 'mode "scaled" needs a scale')
    if change.mode == "manual":
        at = change.at
        if at is not None and at.tzinfo is None:
            at = at.replace(tzinfo=UTC)  # naive times are read as UTC, the clock's zone
        clock.set_manual(at)
    elif change.mode == "real":
        clock.set_scale(1.0)
    elif change.scale is not None:
        clock.set_scale(change.scale)
    if change.advance:
        clock.advance(change.advance)
    return _clock_state(request)


# -- faults -----------------------------------------------------------------------------
class FaultIn(BaseModel):
    """A fault rule; see :class:`exosim.faults.Fault` for the meaning of each field."""

    model_config = ConfigDict(extra="forbid")
    target: Literal["api", "callback"]
    kind: str
    endpoint: str = Field(default="*", min_length=1, max_length=100)
    probability: float = Field(default=1.0, ge=0, le=1)
    remaining: int | None = Field(default=None, ge=1)
    status_code: int = Field(default=500, ge=500, le=599)
    delay_seconds: float = Field(default=5.0, ge=0, le=86400)


@router.get("/faults")
async def list_faults(request: Request) -> list[dict[str, Any]]:
    """Active fault rules, oldest first."""
    return [fault.to_json() for fault in get_sim(request).store.faults.list()]


@router.post("/faults", status_code=201)
async def add_fault(request: Request, body: FaultIn) -> dict[str, Any]:
    """Add a rule, e.g. ``{"target": "api", "kind": "5xx", "status_code": 503, …}``."""
    try:
        fault = get_sim(request).store.faults.add(Fault(**body.model_dump()))
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    return fault.to_json()


@router.delete("/faults/{fault_id}", status_code=204)
async def delete_fault(request: Request, fault_id: int) -> None:
    """Remove one rule."""
    if not get_sim(request).store.faults.remove(fault_id):
        raise HTTPException(404, f"No fault with id {fault_id}")


@router.delete("/faults", status_code=204)
async def clear_faults(request: Request) -> None:
    """Remove every rule."""
    get_sim(request).store.faults.clear()


# -- reset ------------------------------------------------------------------------------
@router.post("/reset")
async def reset(request: Request) -> dict[str, Any]:
    """End live calls, then forget every record, rule and extra account (not the default)."""
    sim = get_sim(request)
    # Stop calls and SMS/WhatsApp progress first: they would otherwise keep writing to (and
    # calling back about) records that no longer exist.
    await sim.engine.reset()
    await api_state(request).cancel_background()
    store = sim.store
    for records in (store.calls, store.sms, store.whatsapp, store.exophones, store.flows):
        records.clear()
    store.dlt_templates.clear()
    store.dnd_numbers.clear()
    store.phones.clear()
    store.faults.clear()
    store.accounts.clear()
    store.accounts[sim.config.account_sid] = default_account(sim.config)
    api_state(request).limiter.reset()
    return {"status": "reset"}
