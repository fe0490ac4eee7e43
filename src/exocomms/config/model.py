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

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from exocomms.calls.retry import RetryPolicy
from exocomms.config.fields import (
    ConfigErrors,
    Loc,
    check_integer,
    check_object,
    check_unknown,
    merge_patch,
)
from exocomms.config.retry import RetryConfig, RetrySpec, parse_retry
from exocomms.errors import ValidationError
from exocomms.phones import normalize
from exocomms.scheduling.model import TimingPolicy
from exocomms.scheduling.purposes import DEFAULT_PURPOSES, PurposeClass

__all__ = [
    "SECTIONS",
    "ConfigErrors",
    "Features",
    "General",
    "RetryConfig",
    "RetrySpec",
    "RuntimeConfig",
    "apply_patch",
    "merge_patch",
    "parse_sections",
    "resolve_feature",
]

SECTIONS = ("timing", "retry", "features", "general")
LANGUAGES = ("hi", "en", "mr")


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
    obj = check_object(data, loc, errors)
    if obj is None:
        return None
    check_unknown(obj, set(FEATURE_FLAGS), loc, errors)
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
    obj = check_object(data, loc, errors)
    if obj is None:
        return None
    check_unknown(obj, set(General().to_dict()), loc, errors)
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
        kw["recording_retention_days"] = check_integer(
            obj["recordingRetentionDays"], 1, 3650, where, errors
        )
    return General(**kw) if not any(v is None for v in kw.values()) else None


# -- timing ----------------------------------------------------------------------------------

_TIMING_KEYS = set(TimingPolicy().to_dict())


def parse_timing(data: Any, loc: Loc, errors: ConfigErrors) -> TimingPolicy | None:
    """Parse the ``timing`` section with ``scheduling``'s own rules, locating the bad key."""
    obj = check_object(data, loc, errors)
    if obj is None:
        return None
    check_unknown(obj, _TIMING_KEYS, loc, errors)
    before = len(errors.items)
    # Parse key by key first, so an error names the field; then the whole for cross-checks.
    for key in sorted(k for k in obj if k in _TIMING_KEYS):
        try:
            TimingPolicy.from_dict({key: obj[key]})
        except ValidationError as exc:
            errors.add([*loc, key], exc.message)
        except (TypeError, ValueError):
            # Input of a shape the parser did not foresee (a list where a name belongs):
            # still the caller's mistake, so a 422 here, never a 500.
            errors.add([*loc, key], "invalid value", "type_error")
    if len(errors.items) > before:
        return None
    try:
        return TimingPolicy.from_dict(obj)
    except ValidationError as exc:
        errors.add(loc, exc.message)
    except (TypeError, ValueError):
        errors.add(loc, "invalid value", "type_error")
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
    check_unknown(sections, set(SECTIONS), base, errors)
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
