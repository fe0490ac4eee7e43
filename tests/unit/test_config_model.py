"""The run-time configuration document: merge patches, validation with paths, lookups."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exocomms.calls.model import CallStatus
from exocomms.config.model import (
    RuntimeConfig,
    apply_patch,
    merge_patch,
    parse_sections,
    resolve_feature,
)
from exocomms.errors import ValidationError


def locs(exc: ValidationError) -> list[list[Any]]:
    return [item["loc"] for item in exc.details]


def test_defaults_round_trip_through_the_wire_form() -> None:
    config = RuntimeConfig()
    doc = config.to_dict()
    assert set(doc) == {"timing", "retry", "features", "general"}
    assert doc["features"] == {
        "verifiedCallsEnabled": False,
        "numberMaskingEnabled": True,
        "voiceStreamingEnabled": False,
        "autoDialerEnabled": False,
        "cqaEnabled": True,
    }
    assert doc["general"] == {
        "defaultLanguage": "hi",
        "adminOnDutyPhone": None,
        "recordingRetentionDays": 90,
    }
    assert doc["retry"]["default"] == {
        "maxAttempts": 3,
        "initialDelaySeconds": 300.0,
        "factor": 2.0,
        "maxDelaySeconds": 3600.0,
        "jitter": 0.1,
        "retryOn": ["busy", "failed", "no-answer"],
    }
    assert doc["timing"]["timezone"] == "Asia/Kolkata"
    assert parse_sections(doc) == config


def test_merge_patch_follows_rfc_7396() -> None:
    target = {"a": 1, "b": {"c": 2, "d": 3}, "e": [1, 2]}
    patch = {"a": None, "b": {"c": 5}, "e": [9], "f": {"g": None}}
    assert merge_patch(target, patch) == {"b": {"c": 5, "d": 3}, "e": [9], "f": {}}
    assert target == {"a": 1, "b": {"c": 2, "d": 3}, "e": [1, 2]}  # untouched


def test_partial_patch_keeps_everything_else() -> None:
    base, _ = apply_patch(RuntimeConfig(), {"timing": {"timezone": "Asia/Dubai"}})
    new, changed = apply_patch(
        base, {"timing": {"dnd_window": {"start": "22:00"}}, "features": {"cqaEnabled": False}}
    )
    assert changed == ["timing", "features"]
    assert new.timing.timezone == "Asia/Dubai"
    assert new.timing.dnd_window.to_dict() == {"start": "22:00", "end": "09:00"}
    assert new.features.cqa is False
    assert new.features.number_masking is True


def test_null_section_resets_it_to_defaults() -> None:
    changed_once, _ = apply_patch(RuntimeConfig(), {"general": {"recordingRetentionDays": 7}})
    reset, changed = apply_patch(changed_once, {"general": None})
    assert reset.general.recording_retention_days == 90
    assert changed == ["general"]


def test_unchanged_values_report_no_change() -> None:
    _, changed = apply_patch(RuntimeConfig(), {"features": {"numberMaskingEnabled": True}})
    assert changed == []


@pytest.mark.parametrize(
    ("patch", "loc"),
    [
        ({"timing": {"timezone": "Mars/Olympus"}}, ["timing", "timezone"]),
        (
            {"timing": {"business_hours": {"start": "25:00", "end": "18:00"}}},
            ["timing", "business_hours"],
        ),
        ({"timing": {"bogus": 1}}, ["timing", "bogus"]),
        ({"retry": {"default": {"maxAttempts": 11}}}, ["retry", "default", "maxAttempts"]),
        ({"retry": {"default": {"maxAttempts": 0}}}, ["retry", "default", "maxAttempts"]),
        ({"retry": {"default": {"maxAttempts": True}}}, ["retry", "default", "maxAttempts"]),
        ({"retry": {"default": {"jitter": 0.9}}}, ["retry", "default", "jitter"]),
        ({"retry": {"default": {"retryOn": ["completed"]}}}, ["retry", "default", "retryOn"]),
        (
            {"retry": {"default": {"initialDelaySeconds": 600, "maxDelaySeconds": 60}}},
            ["retry", "default", "maxDelaySeconds"],
        ),
        (
            {"retry": {"purposes": {"no_such_purpose": {}}}},
            ["retry", "purposes", "no_such_purpose"],
        ),
        (
            {"retry": {"purposes": {"payment_reminder": {"factor": 0.5}}}},
            ["retry", "purposes", "payment_reminder", "factor"],
        ),
        ({"features": {"cqaEnabled": "yes"}}, ["features", "cqaEnabled"]),
        ({"features": {"teleportEnabled": True}}, ["features", "teleportEnabled"]),
        ({"general": {"defaultLanguage": "fr"}}, ["general", "defaultLanguage"]),
        ({"general": {"adminOnDutyPhone": "12345"}}, ["general", "adminOnDutyPhone"]),
        ({"general": {"recordingRetentionDays": 0}}, ["general", "recordingRetentionDays"]),
        ({"general": []}, ["general"]),
        ({"colour": {}}, ["colour"]),
        ({"timing": {"promo_category": []}}, ["timing", "promo_category"]),
        (
            {"retry": {"default": {"initialDelaySeconds": 10**400}}},
            ["retry", "default", "initialDelaySeconds"],
        ),
    ],
)
def test_bad_values_name_their_path(patch: dict[str, Any], loc: list[Any]) -> None:
    with pytest.raises(ValidationError) as caught:
        apply_patch(RuntimeConfig(), patch)
    assert loc in locs(caught.value)
    assert caught.value.status_code == 422


def test_every_bad_field_is_reported_at_once() -> None:
    with pytest.raises(ValidationError) as caught:
        apply_patch(
            RuntimeConfig(),
            {"features": {"cqaEnabled": 1}, "general": {"defaultLanguage": "xx"}},
        )
    assert locs(caught.value) == [["features", "cqaEnabled"], ["general", "defaultLanguage"]]


def test_body_must_be_an_object() -> None:
    with pytest.raises(ValidationError):
        apply_patch(RuntimeConfig(), ["timing"])


def test_retry_policy_for_merges_purpose_overrides_over_the_default() -> None:
    config, _ = apply_patch(
        RuntimeConfig(),
        {
            "retry": {
                "default": {"maxAttempts": 4, "initialDelaySeconds": 60},
                "purposes": {"payment_reminder": {"maxAttempts": 2, "retryOn": ["busy"]}},
            }
        },
    )
    policy = config.retry_policy_for("payment_reminder")
    assert policy.max_attempts == 2
    assert policy.initial_delay == 60
    assert policy.retry_on == frozenset({CallStatus.BUSY})
    other = config.retry_policy_for("order_confirmation")
    assert other.max_attempts == 4
    assert other.retry_on == frozenset({CallStatus.BUSY, CallStatus.NO_ANSWER, CallStatus.FAILED})


def test_a_changed_default_reaches_purposes_that_do_not_override_the_field() -> None:
    config, _ = apply_patch(
        RuntimeConfig(), {"retry": {"purposes": {"feedback_request": {"maxAttempts": 1}}}}
    )
    config, _ = apply_patch(config, {"retry": {"default": {"factor": 3}}})
    policy = config.retry_policy_for("feedback_request")
    assert (policy.max_attempts, policy.factor) == (1, 3.0)


def test_retry_purposes_may_name_purposes_the_timing_policy_adds() -> None:
    config, _ = apply_patch(
        RuntimeConfig(),
        {
            "timing": {"purposes": {"kirana_survey": "service"}},
            "retry": {"purposes": {"kirana_survey": {"maxAttempts": 1}}},
        },
    )
    assert config.retry_policy_for("kirana_survey").max_attempts == 1


def test_admin_phone_is_normalised_to_e164() -> None:
    config, _ = apply_patch(RuntimeConfig(), {"general": {"adminOnDutyPhone": "098765 43210"}})
    assert config.general.admin_on_duty_phone == "+919876543210"


@pytest.mark.parametrize(
    ("name", "flag"),
    [
        ("cqaEnabled", "cqaEnabled"),
        ("cqa", "cqaEnabled"),
        ("NumberMasking", "numberMaskingEnabled"),
        ("autodialerenabled", "autoDialerEnabled"),
        ("teleport", None),
    ],
)
def test_feature_names_resolve(name: str, flag: str | None) -> None:
    assert resolve_feature(name) == flag
    if flag is not None:
        assert RuntimeConfig().feature_enabled(name) is RuntimeConfig().features.to_dict()[flag]


_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6)
_HINTS = st.sampled_from(["09:00", "sun", "01-26", "service", "busy", "hi", "Asia/Kolkata"])
_JSON = st.recursive(
    _SCALARS | _HINTS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=6) | st.sampled_from(["start", "end", "call"]), inner)
    ),
    max_leaves=6,
)
_FIELDS = {
    "timing": ["timezone", "dnd_window", "weekend_days", "holidays", "rules", "purposes"],
    "retry": ["default", "purposes"],
    "features": ["cqaEnabled", "autoDialerEnabled"],
    "general": ["defaultLanguage", "adminOnDutyPhone", "recordingRetentionDays"],
}
_PATCHES = st.sampled_from(sorted(_FIELDS)).flatmap(
    lambda section: st.fixed_dictionaries(
        {section: st.dictionaries(st.sampled_from(_FIELDS[section]), _JSON, max_size=3)}
    )
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_PATCHES)
def test_any_patch_is_either_refused_with_paths_or_round_trips(patch: dict[str, Any]) -> None:
    details: list[dict[str, Any]] = []
    try:
        config, _ = apply_patch(RuntimeConfig(), patch)
    except ValidationError as exc:
        details = exc.details
    if details:
        assert all(item["loc"] for item in details)  # each bad field named by its path
    else:
        assert parse_sections(config.to_dict()) == config
