"""The run-time configuration document: typed, validated, JSON-ready (pure; no I/O).

Four sections, each stored as one row and edited on its own or together:

* ``timing`` — :class:`~exocomms.scheduling.model.TimingPolicy` in its own dict form
  (snake_case keys, validated by ``scheduling``; nothing is duplicated here).
* ``retry`` — ``{"default": {...}, "purposes": {"payment_reminder": {...}}}``: the call retry
  policy (camelCase keys, see :class:`RetrySpec`); a purpose entry overrides only the fields
  it gives, the rest come from ``default`` when the policy is looked up.
* ``features`` — the five flags (``verifiedCallsEnabled``…).
* ``general`` — ``defaultLanguage``, ``adminOnDutyPhone``, ``recordingRetentionDays``.

Edits are JSON Merge Patches (RFC 7396): objects merge recursively, any other value replaces,
``null`` removes a key (so it takes its default). Unknown keys and bad values raise
:class:`~exocomms.errors.ValidationError` whose ``details`` is a list of
``{"loc": [...], "message", "type"}`` naming the path of each bad field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Literal

from exocomms.calls.model import CallStatus
from exocomms.calls.retry import RetryPolicy
from exocomms.errors import ValidationError
from exocomms.phones import normalize
from exocomms.scheduling.model import TimingPolicy
from exocomms.scheduling.purposes import DEFAULT_PURPOSES, PurposeClass

SECTIONS = ("timing", "retry", "features", "general")
Section = Literal["timing", "retry", "features", "general"]
LANGUAGES = ("hi", "en", "mr")
RETRYABLE = frozenset(
    {CallStatus.BUSY, CallStatus.NO_ANSWER, CallStatus.FAILED, CallStatus.CANCELED}
)
MAX_DELAY_SECONDS = 86_400.0

Loc = list[str | int]


class ConfigErrors:
    """Collects field errors while parsing, raised once as a ``ValidationError``."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, loc: Loc, message: str, kind: str = "value_error") -> None:
        """Record one bad field."""
        self.items.append({"loc": list(loc), "message": message, "type": kind})

    def raise_if_any(self) -> None:
        """Raise :class:`ValidationError` listing every recorded field, if there is one."""
        if self.items:
            first = self.items[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ValidationError(f"{where}: {first['message']}", details=self.items)


def merge_patch(target: Any, patch: Any) -> Any:
    """Apply an RFC 7396 JSON Merge Patch: ``patch`` onto ``target``, returning a new value."""
    if not isinstance(patch, Mapping):
        return patch
    result = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _object(value: Any, loc: Loc, errors: ConfigErrors) -> Mapping[str, Any] | None:
    if not isinstance(value, Mapping):
        errors.add(loc, "must be an object", "type_error")
        return None
    return value


def _unknown(data: Mapping[str, Any], allowed: set[str], loc: Loc, errors: ConfigErrors) -> None:
    for key in sorted(str(k) for k in data if k not in allowed):
        errors.add([*loc, key], f"unknown field; allowed: {', '.join(sorted(allowed))}", "extra")


def _number(value: Any, lo: float, hi: float, loc: Loc, errors: ConfigErrors) -> float | None:
    # bool is an int subclass: refuse it explicitly, ``true`` is never a delay.
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        errors.add(loc, "must be a number", "type_error")
        return None
    if not lo <= value <= hi:
        errors.add(loc, f"must be between {lo:g} and {hi:g}")
        return None
    return float(value)


def _integer(value: Any, lo: int, hi: int, loc: Loc, errors: ConfigErrors) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        errors.add(loc, "must be an integer", "type_error")
        return None
    if not lo <= value <= hi:
        errors.add(loc, f"must be between {lo} and {hi}")
        return None
    return value


# -- retry -----------------------------------------------------------------------------------


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
    _unknown(data, _RETRY_KEYS, loc, errors)
    before = len(errors.items)
    kw: dict[str, Any] = {}
    if "maxAttempts" in data:
        kw["max_attempts"] = _integer(data["maxAttempts"], 1, 10, [*loc, "maxAttempts"], errors)
    if "initialDelaySeconds" in data:
        where = [*loc, "initialDelaySeconds"]
        kw["initial_delay_seconds"] = _number(
            data["initialDelaySeconds"], 0, MAX_DELAY_SECONDS, where, errors
        )
    if "factor" in data:
        kw["factor"] = _number(data["factor"], 1, 10, [*loc, "factor"], errors)
    if "maxDelaySeconds" in data:
        where = [*loc, "maxDelaySeconds"]
        kw["max_delay_seconds"] = _number(
            data["maxDelaySeconds"], 0, MAX_DELAY_SECONDS, where, errors
        )
    if "jitter" in data:
        kw["jitter"] = _number(data["jitter"], 0, 0.5, [*loc, "jitter"], errors)
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
    obj = _object(data, loc, errors)
    if obj is None:
        return None
    _unknown(obj, {"default", "purposes"}, loc, errors)
    default = RetrySpec()
    if "default" in obj:
        raw = _object(obj["default"], [*loc, "default"], errors)
        parsed = _parse_retry_fields(raw, default, [*loc, "default"], errors) if raw else default
        default = parsed or default
    purposes: dict[str, Mapping[str, Any]] = {}
    raw_purposes = _object(obj.get("purposes", {}), [*loc, "purposes"], errors) or {}
    for name, override in raw_purposes.items():
        where: Loc = [*loc, "purposes", str(name)]
        if name not in known:
            errors.add(where, "unknown purpose", "extra")
            continue
        raw = _object(override, where, errors)
        if raw is not None and _parse_retry_fields(raw, default, where, errors) is not None:
            purposes[str(name)] = MappingProxyType(dict(raw))
    return RetryConfig(default=default, purposes=purposes)


# -- features --------------------------------------------------------------------------------

#: Wire name of each flag → attribute of :class:`Features`.
FEATURE_FLAGS: Mapping[str, str] = MappingProxyType(
    {
        "verifiedCallsEnabled": "verified_calls",
        "numberMaskingEnabled": "number_masking",
        "voiceStreamingEnabled": "voice_streaming",
        "autoDialerEnabled": "auto_dialer",
        "cqaEnabled": "cqa",
    }
)
FEATURE_FLAGS_BY_ATTRIBUTE: Mapping[str, str] = MappingProxyType(
    {name: wire for wire, name in FEATURE_FLAGS.items()}
)


@dataclass(frozen=True)
class Features:
    """Feature flags. Off by default where the carrier account or an extra must support it."""

    verified_calls: bool = False
    number_masking: bool = True
    voice_streaming: bool = False
    auto_dialer: bool = False
    cqa: bool = True

    def enabled(self, flag: str) -> bool:
        """The value of ``flag`` (``cqaEnabled``, ``cqa``, or attribute like ``number_masking``)."""
        wire = resolve_feature(flag) or FEATURE_FLAGS_BY_ATTRIBUTE.get(flag)
        if wire is None:
            raise KeyError(flag)
        return bool(getattr(self, FEATURE_FLAGS[wire]))

    def to_dict(self) -> dict[str, bool]:
        """``{"verifiedCallsEnabled": false, …}``."""
        return {wire: getattr(self, name) for wire, name in FEATURE_FLAGS.items()}


def resolve_feature(name: str) -> str | None:
    """The wire flag for ``name`` (``cqaEnabled``, ``cqa``, ``CQA``…), or None if unknown."""
    wanted = name.strip().lower()
    for wire in FEATURE_FLAGS:
        if wanted in (wire.lower(), wire.lower().removesuffix("enabled")):
            return wire
    return None


def parse_features(data: Any, loc: Loc, errors: ConfigErrors) -> Features | None:
    """Parse the ``features`` section (booleans only)."""
    obj = _object(data, loc, errors)
    if obj is None:
        return None
    _unknown(obj, set(FEATURE_FLAGS), loc, errors)
    kw: dict[str, bool] = {}
    for wire, name in FEATURE_FLAGS.items():
        if wire in obj:
            if isinstance(obj[wire], bool):
                kw[name] = obj[wire]
            else:
                errors.add([*loc, wire], "must be true or false", "type_error")
    return Features(**kw)


# -- general ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class General:
    """Service-wide choices an operator may change at run time."""

    default_language: str = "hi"
    admin_on_duty_phone: str | None = None  # E.164
    recording_retention_days: int = 90

    def to_dict(self) -> dict[str, Any]:
        """camelCase wire form."""
        return {
            "defaultLanguage": self.default_language,
            "adminOnDutyPhone": self.admin_on_duty_phone,
            "recordingRetentionDays": self.recording_retention_days,
        }


def parse_general(data: Any, loc: Loc, errors: ConfigErrors) -> General | None:
    """Parse the ``general`` section; the phone is normalised to E.164."""
    obj = _object(data, loc, errors)
    if obj is None:
        return None
    _unknown(obj, set(General().to_dict()), loc, errors)
    kw: dict[str, Any] = {}
    if "defaultLanguage" in obj:
        if obj["defaultLanguage"] in LANGUAGES:
            kw["default_language"] = obj["defaultLanguage"]
        else:
            errors.add([*loc, "defaultLanguage"], f"must be one of {', '.join(LANGUAGES)}")
    if obj.get("adminOnDutyPhone") is not None:
        phone = obj["adminOnDutyPhone"]
        try:
            if not isinstance(phone, str):
                raise ValidationError("not a string")
            kw["admin_on_duty_phone"] = normalize(phone)
        except ValidationError:
            errors.add([*loc, "adminOnDutyPhone"], "not a valid phone number")
    if "recordingRetentionDays" in obj:
        where = [*loc, "recordingRetentionDays"]
        kw["recording_retention_days"] = _integer(
            obj["recordingRetentionDays"], 1, 3650, where, errors
        )
    return General(**kw) if not any(v is None for v in kw.values()) else None


# -- timing ----------------------------------------------------------------------------------

_TIMING_KEYS = set(TimingPolicy().to_dict())


def parse_timing(data: Any, loc: Loc, errors: ConfigErrors) -> TimingPolicy | None:
    """Parse the ``timing`` section with ``scheduling``'s own rules, locating the bad key."""
    obj = _object(data, loc, errors)
    if obj is None:
        return None
    _unknown(obj, _TIMING_KEYS, loc, errors)
    before = len(errors.items)
    # Parse key by key first, so an error names the field; then the whole for cross-checks.
    for key in sorted(k for k in obj if k in _TIMING_KEYS):
        try:
            TimingPolicy.from_dict({key: obj[key]})
        except ValidationError as exc:
            errors.add([*loc, key], exc.message)
    if len(errors.items) > before:
        return None
    try:
        return TimingPolicy.from_dict(obj)
    except ValidationError as exc:
        errors.add(loc, exc.message)
        return None


# -- the document ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RuntimeConfig:
    """Every run-time setting. Immutable: a change makes a new one (see ``config.service``)."""

    timing: TimingPolicy = field(default_factory=TimingPolicy)
    retry: RetryConfig = field(default_factory=RetryConfig)
    features: Features = field(default_factory=Features)
    general: General = field(default_factory=General)

    def retry_policy_for(self, purpose: str) -> RetryPolicy:
        """The call retry policy of ``purpose`` (the default policy if it has no override)."""
        return self.retry.spec_for(purpose).policy()

    def feature_enabled(self, flag: str) -> bool:
        """Whether a feature flag is on (``cqaEnabled`` or ``cqa``)."""
        return self.features.enabled(flag)

    def section(self, name: str) -> dict[str, Any]:
        """One section in wire form."""
        value: Any = getattr(self, name)
        result: dict[str, Any] = value.to_dict()
        return result

    def to_dict(self) -> dict[str, Any]:
        """The whole document in wire form."""
        return {name: self.section(name) for name in SECTIONS}


def known_purposes(timing: TimingPolicy) -> set[str]:
    """Purposes a retry override may name: built-in ones, classes, and timing's own."""
    return {*DEFAULT_PURPOSES, *(c.value for c in PurposeClass), *timing.purposes}


def parse_sections(sections: Mapping[str, Any], loc: Loc | None = None) -> RuntimeConfig:
    """Build a config from complete section dicts (missing sections take defaults).

    Raises:
        ValidationError: listing every bad field with its path.
    """
    errors = ConfigErrors()
    base: Loc = loc or []
    _unknown(sections, set(SECTIONS), base, errors)
    timing = TimingPolicy()
    if "timing" in sections:
        timing = parse_timing(sections["timing"], [*base, "timing"], errors) or timing
    kw: dict[str, Any] = {"timing": timing}
    if "retry" in sections:
        kw["retry"] = parse_retry(
            sections["retry"], [*base, "retry"], errors, known_purposes(timing)
        )
    if "features" in sections:
        kw["features"] = parse_features(sections["features"], [*base, "features"], errors)
    if "general" in sections:
        kw["general"] = parse_general(sections["general"], [*base, "general"], errors)
    errors.raise_if_any()
    return RuntimeConfig(**{k: v for k, v in kw.items() if v is not None})


def apply_patch(config: RuntimeConfig, patch: Any) -> tuple[RuntimeConfig, list[str]]:
    """Merge-patch ``{"section": {...}}`` onto ``config``.

    Returns:
        The new config and the names of the sections whose value changed.

    Raises:
        ValidationError: the patch is not an object, names an unknown section or field, or
            makes a value invalid; nothing is applied then.
    """
    if not isinstance(patch, Mapping):
        raise ValidationError(
            "the body must be a JSON object",
            details=[{"loc": [], "message": "must be an object", "type": "type_error"}],
        )
    current = config.to_dict()
    defaults = RuntimeConfig().to_dict()
    merged = {}
    for name in SECTIONS:
        if name not in patch:
            merged[name] = current[name]
        elif patch[name] is None:  # RFC 7396: null removes the member, i.e. back to defaults
            merged[name] = defaults[name]
        else:
            merged[name] = merge_patch(current[name], patch[name])
    extra = {k: v for k, v in patch.items() if k not in SECTIONS}
    new = parse_sections({**merged, **extra})
    changed = [name for name in SECTIONS if new.section(name) != current[name]]
    return new, changed
