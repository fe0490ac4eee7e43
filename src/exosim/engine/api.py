"""``/_exosim/recordings`` (WAV files behind RecordingUrl) and live-call actions."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from exosim.runtime import Sim

router = APIRouter(tags=["exosim engine"])
_SID = re.compile(r"^[0-9a-f]{32}$")


def _sim(request: Request) -> Sim:
    sim: Sim = request.app.state.sim
    return sim


class EngineSettings(BaseModel):
    """Body of ``PATCH /_exosim/engine``."""

    model_config = ConfigDict(extra="forbid")

    details_delay: float | None = Field(default=None, ge=0, le=86_400)


def _engine_state(sim: Sim) -> dict[str, Any]:
    return {"details_delay": sim.engine.details_delay, "live_calls": sorted(sim.engine.sessions)}


@router.get("/_exosim/engine")
async def engine_state(request: Request) -> dict[str, Any]:
    """The engine's settings and the sids of live calls."""
    return _engine_state(_sim(request))


@router.patch("/_exosim/engine")
async def engine_settings(request: Request, body: EngineSettings) -> dict[str, Any]:
    """Change settings, e.g. ``{"details_delay": 120}`` (Exotel fills details ~2 min late)."""
    sim = _sim(request)
    if body.details_delay is not None:
        sim.engine.details_delay = body.details_delay
    return _engine_state(sim)


@router.get("/_exosim/recordings/{name}")
async def recording(name: str, request: Request) -> FileResponse:
    """The WAV recording of a finished call (``<CallSid>.wav``)."""
    sim = _sim(request)
    sid = name.removesuffix(".wav")
    if not name.endswith(".wav") or not _SID.match(sid):
        raise HTTPException(404, "recordings are named <CallSid>.wav")
    call = sim.store.calls.get(sid)
    if call is None or call.recording_url is None:
        raise HTTPException(404, f"no recording for call {sid}")
    if not call.terminal:
        raise HTTPException(409, "the call is still in progress; the recording is not ready")
    path = sim.engine.recording_path(sid)
    if not path.exists():
        raise HTTPException(404, f"no recording for call {sid}")
    return FileResponse(path, media_type="audio/wav", filename=name)


@router.post("/_exosim/calls/{sid}/hangup")
async def hang_up(sid: str, request: Request) -> dict[str, Any]:
    """Make the caller of a live call hang up now."""
    sim = _sim(request)
    if sid not in sim.store.calls:
        raise HTTPException(404, f"no call {sid}")
    if not sim.engine.hang_up(sid):
        raise HTTPException(409, "the call is not live")
    return {"call_sid": sid, "hung_up": True}
