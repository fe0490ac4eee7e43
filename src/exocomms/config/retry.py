"""The ``retry`` section: per-purpose call retry policies (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from exocomms.calls.model import CallStatus
from exocomms.calls.retry import RetryPolicy
from exocomms.config.fields import (
    ConfigErrors,
    Loc,
    check_integer,
    check_number,
    check_object,
    check_unknown,
)

RETRYABLE = frozenset(
    {CallStatus.BUSY, CallStatus.NO_ANSWER, CallStatus.FAILED, CallStatus.CANCELED}
)
MAX_DELAY_SECONDS = 86_400.0


@dataclass(frozen=True)
class RetrySpec:
    """One call retry policy (PRODUCT.md §6 defaults: 3 attempts, 300 s, ×2, at most 3600 s)."""

    max_attempts: int = 3
    initial_delay_seconds: float = 300.0
    factor: float = 2.0
    max_delay_seconds: float = 3600.0
    jitter: float = 0.1
    retry_on: frozenset[CallStatus] = frozenset(
        {CallStatus.BUSY, CallStatus.NO_ANSWER, CallStatus.FAILED}
    )

    def policy(self) -> RetryPolicy:
        """The :class:`~exocomms.calls.retry.RetryPolicy` the calls slice runs."""
        return RetryPolicy(
            max_attempts=self.max_attempts,
            initial_delay=self.initial_delay_seconds,
            factor=self.factor,
            max_delay=self.max_delay_seconds,
            jitter=self.jitter,
            retry_on=self.retry_on,
        )

    def to_dict(self) -> dict[str, Any]:
        """camelCase wire form."""
        return {
            "maxAttempts": self.max_attempts,
            "initialDelaySeconds": self.initial_delay_seconds,
            "factor": self.factor,
            "maxDelaySeconds": self.max_delay_seconds,
            "jitter": self.jitter,
            "retryOn": sorted(s.value for s in self.retry_on),
        }


_RETRY_KEYS = set(RetrySpec().to_dict())


def _parse_retry_fields(
    data: Mapping[str, Any], base: RetrySpec, loc: Loc, errors: ConfigErrors
) -> RetrySpec | None:
    """``base`` with the fields given in ``data`` replaced; None when a field is bad."""
    check_unknown(data, _RETRY_KEYS, loc, errors)
    before = len(errors.items)
    kw: dict[str, Any] = {}
    if "maxAttempts" in data:
        kw["max_attempts"] = check_integer(
            data["maxAttempts"], 1, 10, [*loc, "maxAttempts"], errors
        )
    if "initialDelaySeconds" in data:
        where = [*loc, "initialDelaySeconds"]
        kw["initial_delay_seconds"] = check_number(
            data["initialDelaySeconds"], 0, MAX_DELAY_SECONDS, where, errors
        )
    if "factor" in data:
        kw["factor"] = check_number(data["factor"], 1, 10, [*loc, "factor"], errors)
    if "maxDelaySeconds" in data:
        where = [*loc, "maxDelaySeconds"]
        kw["max_delay_seconds"] = check_number(
            data["maxDelaySeconds"], 0, MAX_DELAY_SECONDS, where, errors
        )
    if "jitter" in data:
        kw["jitter"] = check_number(data["jitter"], 0, 0.5, [*loc, "jitter"], errors)
    if "retryOn" in data:
        kw["retry_on"] = _retry_on(data["retryOn"], [*loc, "retryOn"], errors)
    if len(errors.items) > before:
        return None
    spec = replace(base, **kw)
    if spec.max_delay_seconds < spec.initial_delay_seconds:
        errors.add([*loc, "maxDelaySeconds"], "must not be below initialDelaySeconds")
        return None
    return spec


def _retry_on(value: Any, loc: Loc, errors: ConfigErrors) -> frozenset[CallStatus] | None:
    allowed = sorted(s.value for s in RETRYABLE)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors.add(loc, f"must be a list of call statuses ({', '.join(allowed)})", "type_error")
        return None
    bad = [v for v in value if v not in allowed]
    if bad:
        errors.add(loc, f"unknown status {bad[0]!r}; allowed: {', '.join(allowed)}")
        return None
    return frozenset(CallStatus(v) for v in value)


@dataclass(frozen=True)
class RetryConfig:
    """The default retry policy and per-purpose overrides (only the fields they set)."""

    default: RetrySpec = RetrySpec()
    purposes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def spec_for(self, purpose: str) -> RetrySpec:
        """The effective policy of ``purpose``: its overrides on top of ``default``."""
        override = self.purposes.get(purpose)
        if not override:
            return self.default
        errors = ConfigErrors()
        spec = _parse_retry_fields(override, self.default, [], errors)
        # Overrides were validated against this default when the config was parsed.
        return spec if spec is not None else self.default

    def to_dict(self) -> dict[str, Any]:
        """Wire form: full default, partial overrides."""
        return {
            "default": self.default.to_dict(),
            "purposes": {k: dict(v) for k, v in sorted(self.purposes.items())},
        }


def parse_retry(data: Any, loc: Loc, errors: ConfigErrors, known: set[str]) -> RetryConfig | None:
    """Parse the ``retry`` section; purposes must be in ``known``."""
    obj = check_object(data, loc, errors)
    if obj is None:
        return None
    check_unknown(obj, {"default", "purposes"}, loc, errors)
    default = RetrySpec()
    if "default" in obj:
        raw = check_object(obj["default"], [*loc, "default"], errors)
        parsed = _parse_retry_fields(raw, default, [*loc, "default"], errors) if raw else default
        default = parsed or default
    purposes: dict[str, Mapping[str, Any]] = {}
    raw_purposes = check_object(obj.get("purposes", {}), [*loc, "purposes"], errors) or {}
    for name, override in raw_purposes.items():
        where: Loc = [*loc, "purposes", str(name)]
        if name not in known:
            errors.add(where, "unknown purpose", "extra")
            continue
        raw = check_object(override, where, errors)
        if raw is not None and _parse_retry_fields(raw, default, where, errors) is not None:
            purposes[str(name)] = MappingProxyType(dict(raw))
    return RetryConfig(default=default, purposes=purposes)
