"""The provider-neutral call flow model and the telephony port."""

from __future__ import annotations

import pytest

from exocomms.errors import NotSupported, ValidationError
from exocomms.telephony.callflow import CallFlow, Gather, Hangup, Language, Pause, Play, Say
from exocomms.telephony.port import (
    CallRef,
    CallStatus,
    Capability,
    FlowCall,
    SmsMessage,
    TelephonyProvider,
    UnsupportedOperations,
    require,
)


@pytest.mark.parametrize(
    ("raw", "lang"),
    [
        ("hi", Language.HI),
        ("HI", Language.HI),
        ("hi-IN", Language.HI),
        ("mr_IN", Language.MR),
        (" en ", Language.EN),
        (None, Language.HI),
        ("", Language.HI),
    ],
)
def test_language_parse(raw, lang) -> None:
    assert Language.parse(raw) is lang


def test_language_parse_rejects_unknown_unless_defaulted() -> None:
    with pytest.raises(ValidationError):
        Language.parse("ta")
    assert Language.parse("ta", Language.EN) is Language.EN
    assert Language.MR.bcp47 == "mr-IN"


@pytest.mark.parametrize(
    "kwargs",
    [{"num_digits": 0}, {"timeout_seconds": 0}, {"finish_on_key": "x"}, {"retries": -1}],
)
def test_gather_rejects_impossible_settings(kwargs) -> None:
    with pytest.raises(ValidationError):
        Gather(prompt=(), **kwargs)


def test_flow_helpers() -> None:
    flow = CallFlow(
        (Say("नमस्ते"), Pause(), Gather((Say("1 दबाएँ"), Play("https://a.example/x.wav"))), Hangup())
    )
    assert flow.spoken_text() == "नमस्ते 1 दबाएँ"
    assert flow.gather is not None
    assert flow.ends_call
    assert not CallFlow().ends_call


class SmsOnly(UnsupportedOperations):
    name = "sms-only"
    capabilities = frozenset({Capability.SMS})


async def test_port_unsupported_operations_raise_not_supported() -> None:
    provider = SmsOnly()
    assert isinstance(provider, TelephonyProvider)
    require(provider, Capability.SMS)
    with pytest.raises(NotSupported) as info:
        require(provider, Capability.CALL_FLOW)
    assert info.value.details == {"provider": "sms-only", "capability": "call.flow"}
    with pytest.raises(NotSupported):
        await provider.call_flow(FlowCall(to="+919800000001", caller_id="+918000000000", flow="1"))
    with pytest.raises(NotSupported):
        await provider.send_sms(SmsMessage(to="+919800000001", body="hi", sender="EXOCOM"))


def test_call_status_terminal() -> None:
    assert CallStatus.COMPLETED.terminal
    assert CallStatus.NO_ANSWER.terminal
    assert not CallStatus.IN_PROGRESS.terminal
    assert CallRef("sid", CallStatus.QUEUED).raw == {}
