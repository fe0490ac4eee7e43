"""Timing rules: when a call or a message of a given purpose may reach someone (pure)."""

from exocomms.scheduling.engine import Decision, allowed, check, next_allowed
from exocomms.scheduling.model import (
    ANYONE,
    ChannelRule,
    ClassRule,
    Recipient,
    TimingPolicy,
    Window,
)
from exocomms.scheduling.purposes import CATEGORIES, DEFAULT_PURPOSES, Medium, PurposeClass

__all__ = [
    "ANYONE",
    "CATEGORIES",
    "DEFAULT_PURPOSES",
    "ChannelRule",
    "ClassRule",
    "Decision",
    "Medium",
    "PurposeClass",
    "Recipient",
    "TimingPolicy",
    "Window",
    "allowed",
    "check",
    "next_allowed",
]
