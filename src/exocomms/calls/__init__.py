"""Calls: the call record, its idempotent state machine and per-purpose retry policy."""
