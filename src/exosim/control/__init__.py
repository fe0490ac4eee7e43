"""The ``/_exosim/`` control and inspection API (JSON, no auth; see exosim's README)."""

from __future__ import annotations

from fastapi import APIRouter

from exosim.control import inspect, ops, setup

router = APIRouter(prefix="/_exosim", tags=["control"])
router.include_router(ops.router)
router.include_router(setup.router)
router.include_router(inspect.router)

__all__ = ["router"]
