"""The other IVRs, IVR validation, state serialisation, and termination for any input."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exocomms.errors import NotFound, ValidationError
from exocomms.ivr import engine, flows
from exocomms.ivr.model import (
    Acknowledged,
    Digits,
    Finish,
    Goto,
    Hangup,
    Input,
    Ivr,
    Menu,
    MessageDelivered,
    NoInput,
    NotAcknowledged,
    RejectReason,
    RiderAccepted,
    RiderRejected,
    SendPickupSms,
    State,
    VendorAccepted,
    VendorRejected,
    event_from_dict,
    t,
)
from exocomms.telephony.callflow import Language

CONTEXTS: dict[str, dict[str, Any]] = {
    "vendor_order": {
        "store_name": "Krishna Kirana",
        "order_id": 12345,
        "amount": 325,
        "items": [{"name": "Atta", "quantity": 1}],
    },
    "vendor_reminder": {
        "store_name": "Sharma Sweets",
        "order_id": 501,
        "amount": "1250.50",
        "items": [{"name": n} for n in "ABCDE"],
    },
    "rider_assignment": {
        "rider_name": "Ravi",
        "order_id": 12345,
        "pickup_name": "Krishna Kirana",
        "pickup_address": "Shop 4, MG Road, Pune",
        "drop_area": "Kothrud",
        "amount": 325,
        "earning": 45,
    },
    "rider_delivery_alert": {"rider_name": "Ravi", "order_id": 12345, "pickup_name": "Krishna"},
    "address_change": {
        "rider_name": "Ravi",
        "order_id": 12345,
        "new_address": "Flat 12, Sai Heights, Baner",
    },
    "customer_status": {"order_id": 12345, "status": "out_for_delivery"},
    "customer_delay": {"order_id": 12345, "delay_minutes": 15},
    # Inbound and missed-call IVRs (connect slice).
    "inbound_vendor": {
        "store_name": "Krishna Kirana",
        "pending_count": 1,
        "order_id": 12345,
        "amount": 325,
        "items": [{"name": "Atta", "quantity": 1}],
    },
    "inbound_rider": {"rider_name": "Ravi", "order_id": 12345, "pickup_name": "Krishna Kirana"},
    "inbound_customer": {"order_id": 12345, "status": "placed"},
    "inbound_message": {"message": "unknown"},
    "ordering": {},
}
# Inbound and missed-call IVRs: the caller called us and owes no answer.
CALLER_LED = {"inbound_vendor", "inbound_rider", "inbound_customer", "inbound_message", "ordering"}
OUTCOMES = {
    "vendor_accepted",
    "vendor_rejected",
    "rider_accepted",
    "rider_rejected",
    "acknowledged",
    "not_acknowledged",
    "message_delivered",
}


def test_catalogue_has_every_ivr_and_all_validate() -> None:
    assert flows.names() == sorted(CONTEXTS)
    for name in flows.names():
        flows.get(name).validate()
    with pytest.raises(NotFound):
        flows.get("nope")


@pytest.mark.parametrize("name", sorted(CONTEXTS))
@pytest.mark.parametrize("lang", list(Language))
def test_every_ivr_speaks_every_language_without_leftover_placeholders(name, lang) -> None:
    ivr = flows.get(name)
    turn = engine.start(ivr, CONTEXTS[name], lang)
    said = turn.prompt.spoken_text()
    assert said
    assert "{" not in said
    assert "}" not in said
    # Every prompt of the IVR renders in this language (confirmations included).
    values = {"prep_minutes": 20, "reason": "too_busy"}
    state = State(ivr=name, language=lang, context=turn.state.context, values=values)
    for pid in ivr.prompts:
        text = engine.prompt_text(ivr, state, pid)
        assert text
        assert "{" not in text


def step_all(name: str, *inputs: Input, lang: str = "hi"):
    ivr = flows.get(name)
    turns = [engine.start(ivr, CONTEXTS[name], lang)]
    for received in inputs:
        turns.append(engine.step(ivr, turns[-1].state, received))
    return turns


def test_rider_assignment_accept_also_sends_pickup_sms() -> None:
    turns = step_all("rider_assignment", Digits("1"))
    first = turns[0].prompt.spoken_text()
    assert first.startswith("नमस्ते Ravi! आपके लिए नई डिलीवरी है, ऑर्डर नंबर 12345।")
    assert "ड्रॉप: Kothrud" in first
    assert "आपकी कमाई 45 रुपये" in first
    assert turns[1].done
    assert turns[1].events == (RiderAccepted(), SendPickupSms())
    assert "SMS" in turns[1].prompt.spoken_text()


def test_rider_assignment_reject_repeat_and_silence() -> None:
    assert step_all("rider_assignment", Digits("2"))[-1].events == (RiderRejected(),)
    repeated = step_all("rider_assignment", Digits("3"))[-1]
    assert repeated.prompt.spoken_text().startswith("पिकअप: Krishna Kirana")
    silent = step_all("rider_assignment", NoInput(), NoInput(), NoInput())
    assert silent[-1].done
    assert silent[-1].events == (NotAcknowledged("no_response"),)


def test_delivery_alert_is_acknowledged_by_key_and_reminds_once() -> None:
    turns = step_all("rider_delivery_alert", Digits("1"), lang="en")
    assert (
        turns[0]
        .prompt.spoken_text()
        .startswith("Hello Ravi! order number 12345 is ready for pickup at Krishna.")
    )
    assert turns[-1].events == (Acknowledged(),)
    ignored = step_all("rider_delivery_alert", NoInput(), NoInput())
    assert ignored[-1].done
    assert ignored[-1].events == (NotAcknowledged("no_response"),)


def test_address_change_must_be_confirmed_by_key() -> None:
    turns = step_all("address_change", Digits("3"), Digits("1"), lang="mr")
    assert "नवीन पत्ता: Flat 12, Sai Heights, Baner." in turns[0].prompt.spoken_text()
    assert turns[-1].events == (Acknowledged(),)
    hung = step_all("address_change", Hangup())[-1]
    assert hung.events == (NotAcknowledged("hangup"),)


@pytest.mark.parametrize(
    ("lang", "spoken"),
    [
        ("hi", "नमस्ते! आपका ऑर्डर नंबर 12345 डिलीवरी के लिए निकल चुका है। धन्यवाद!"),
        ("en", "Hello! Your order number 12345 is out for delivery. Thank you!"),
        ("mr", "नमस्कार! तुमची ऑर्डर क्रमांक 12345 डिलिव्हरीसाठी निघाली आहे. धन्यवाद!"),
    ],
)
def test_customer_status_is_one_way(lang: str, spoken: str) -> None:
    turn = step_all("customer_status", lang=lang)[0]
    assert turn.done
    assert turn.events == (MessageDelivered(),)
    assert turn.prompt.spoken_text() == spoken
    assert turn.prompt.ends_call


def test_customer_delay_speaks_minutes() -> None:
    turn = step_all("customer_delay", lang="en")[0]
    assert "about 15 minutes late" in turn.prompt.spoken_text()
    assert not flows.get("customer_delay").interactive


@pytest.mark.parametrize(
    ("name", "context"),
    [
        ("vendor_order", {**CONTEXTS["vendor_order"], "amount": -5}),
        ("vendor_order", {**CONTEXTS["vendor_order"], "store_name": ""}),
        ("vendor_order", {**CONTEXTS["vendor_order"], "items": "Atta"}),
        ("vendor_order", {**CONTEXTS["vendor_order"], "items": [{"quantity": 1}]}),
        ("customer_status", {"order_id": 1, "status": "lost"}),
        ("customer_delay", {"order_id": 1, "delay_minutes": 2.5}),
        ("customer_delay", {"order_id": "--", "delay_minutes": 5}),
    ],
)
def test_bad_context_is_refused_up_front(name: str, context: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        engine.start(flows.get(name), context, "hi")


def test_context_is_normalised_and_trimmed() -> None:
    context = {
        **CONTEXTS["vendor_order"],
        "store_name": "  Krishna \n Kirana " + "x" * 100,
        "extra": {"not": "kept"},
    }
    state = engine.start(flows.get("vendor_order"), context, "hi").state
    assert state.context["store_name"].startswith("Krishna Kirana x")
    assert len(state.context["store_name"]) == 60
    assert "extra" not in state.context
    assert state.context["amount"] == "325"


def _tiny(**menu_kw: Any) -> Ivr:
    menu = Menu(
        prompt=("ask",),
        options={"1": Finish(("bye",))},
        on_exhausted=Finish(("bye",)),
        on_hangup=Finish(()),
        wrong_key_prompt=None,
        no_input_prompt=None,
    )
    fields = {
        "menus": {"main": menu},
        "start": Goto("main"),
        "prompts": {"ask": t("a", "b", "c"), "bye": t("x", "y", "z")},
    }
    fields.update(menu_kw)
    return Ivr(name="tiny", title="Tiny", **fields)


def test_validate_catches_broken_definitions() -> None:
    _tiny().validate()
    broken = [
        _tiny(prompts={"ask": {Language.HI: "a"}, "bye": t("x", "y", "z")}),  # missing en/mr
        _tiny(prompts={"ask": t("{who}", "b", "c"), "bye": t("x", "y", "z")}),  # unknown slot
        _tiny(start=Goto("nowhere")),
        _tiny(
            menus={
                "main": Menu(
                    prompt=("ask",),
                    options={"x": Finish(("bye",))},
                    on_exhausted=Finish(("gone",)),
                    on_hangup=Finish(()),
                )
            }
        ),
    ]
    for ivr in broken:
        with pytest.raises(ValidationError):
            ivr.validate()


def test_state_from_dict_refuses_garbage() -> None:
    good = step_all("vendor_order", Digits("7"))[-1].state.to_dict()
    assert State.from_dict(good).misses == 1
    for bad in (
        {**good, "v": 99},
        {**good, "language": "ta"},
        {**good, "misses": -1},
        {**good, "turn": "3"},
        {**good, "prompt": "details"},
        {**good, "context": []},
        {k: v for k, v in good.items() if k != "ivr"},
    ):
        with pytest.raises(ValidationError):
            State.from_dict(bad)


def test_state_of_another_ivr_is_refused() -> None:
    state = step_all("vendor_order")[0].state
    with pytest.raises(ValidationError):
        engine.step(flows.get("rider_assignment"), state, Digits("1"))


def test_events_round_trip() -> None:
    for event in (
        VendorAccepted(15),
        VendorAccepted(20, defaulted=True),
        VendorRejected(RejectReason.SHOP_CLOSED),
        RiderAccepted(),
        SendPickupSms(),
        NotAcknowledged("hangup"),
        MessageDelivered(),
    ):
        data = json.loads(json.dumps(event.to_dict()))
        assert event_from_dict(data) == event
    assert VendorRejected(RejectReason.TOO_BUSY).to_dict() == {
        "kind": "vendor_rejected",
        "reason": "too_busy",
    }
    for bad in (
        {"kind": "nope"},
        {"kind": "vendor_rejected", "reason": "bored"},
        {"kind": "vendor_accepted"},
    ):
        with pytest.raises(ValidationError):
            event_from_dict(bad)


inputs = st.one_of(
    st.text(alphabet="0123456789*#", max_size=3).map(Digits),
    st.just(NoInput()),
    st.just(Hangup()),
)


@settings(max_examples=150, deadline=None)
@given(
    name=st.sampled_from(sorted(CONTEXTS)),
    lang=st.sampled_from(list(Language)),
    received=st.lists(inputs, max_size=40),
)
def test_any_input_sequence_ends_within_bounded_turns_with_one_outcome(name, lang, received):
    ivr = flows.get(name)
    turn = engine.start(ivr, CONTEXTS[name], lang)
    outcomes = [e for e in turn.events if e.kind in OUTCOMES]
    steps = 0
    for item in received:
        if turn.done:
            break
        turn = engine.step(ivr, turn.state, item)
        outcomes += [e for e in turn.events if e.kind in OUTCOMES]
        steps += 1
        assert steps <= ivr.max_turns + 1
        assert State.from_dict(json.loads(json.dumps(turn.state.to_dict()))) == turn.state
    if not turn.done:  # silence forever still ends the call
        while not turn.done:
            turn = engine.step(ivr, turn.state, NoInput())
            outcomes += [e for e in turn.events if e.kind in OUTCOMES]
            steps += 1
            assert steps <= ivr.max_turns + 1
    if name in CALLER_LED:
        # The caller rang us: hanging up or staying silent is no decision, so at most one.
        assert len(outcomes) <= 1
    else:
        assert len(outcomes) == 1
    assert turn.prompt.steps == () or turn.prompt.ends_call
