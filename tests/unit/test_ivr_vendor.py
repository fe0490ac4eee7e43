"""The vendor order confirmation IVR, every key path, through the pure engine."""

from __future__ import annotations

import json

import pytest

from exocomms.ivr import engine, flows
from exocomms.ivr.model import (
    DetailsRepeated,
    Digits,
    Hangup,
    Input,
    NoInput,
    NotAcknowledged,
    RejectReason,
    State,
    Turn,
    VendorAccepted,
    VendorRejected,
)
from exocomms.telephony import callflow as cf

IVR = flows.get("vendor_order")
CONTEXT = {
    "store_name": "Krishna Kirana",
    "order_id": 12345,
    "amount": 325,
    "items": [{"name": "Butter Chicken", "quantity": 1}, {"name": "Naan", "quantity": 2}],
}
OUTCOMES = ("vendor_accepted", "vendor_rejected", "not_acknowledged")


def run(*inputs: Input, lang: str = "hi") -> list[Turn]:
    turns = [engine.start(IVR, CONTEXT, lang)]
    for received in inputs:
        turns.append(engine.step(IVR, turns[-1].state, received))
    return turns


def text(turn: Turn) -> str:
    return turn.prompt.spoken_text()


def events(turns: list[Turn]) -> list[object]:
    return [e for t in turns for e in t.events]


def test_greeting_names_the_store_and_reads_the_order() -> None:
    first = run()[0]
    assert text(first) == (
        "नमस्ते Krishna Kirana! नया ऑर्डर आया है, ऑर्डर नंबर 12345। "
        "2 आइटम: Butter Chicken और 2 Naan। कुल राशि 325 रुपये। "
        "ऑर्डर स्वीकार करने के लिए 1 दबाएँ, अस्वीकार करने के लिए 2, और दोबारा सुनने के लिए 3 दबाएँ।"
    )
    gather = first.prompt.gather
    assert gather is not None
    assert (gather.num_digits, gather.timeout_seconds, gather.retries) == (1, 6, 0)
    assert all(isinstance(s, cf.Say) and s.language is cf.Language.HI for s in gather.prompt)
    assert not first.done
    assert first.events == ()


@pytest.mark.parametrize(("key", "minutes"), [("1", 15), ("2", 20), ("3", 30)])
def test_accept_then_prep_time(key: str, minutes: int) -> None:
    turns = run(Digits("1"), Digits(key))
    assert text(turns[1]).startswith("ऑर्डर तैयार होने में कितना समय लगेगा?")
    assert turns[1].events == ()
    last = turns[-1]
    assert last.done
    assert last.events == (VendorAccepted(minutes),)
    assert text(last) == f"धन्यवाद! ऑर्डर स्वीकार हो गया है। तैयारी का समय {minutes} मिनट।"
    assert last.prompt.ends_call
    assert last.prompt.gather is None


@pytest.mark.parametrize(
    ("lang", "spoken"), [("hi", "20 मिनट"), ("en", "20 minutes"), ("mr", "20 मिनिटे")]
)
def test_no_input_for_prep_time_defaults_to_20_minutes_said_aloud(lang: str, spoken: str) -> None:
    last = run(Digits("1"), NoInput(), lang=lang)[-1]
    assert last.done
    assert last.events == (VendorAccepted(20, defaulted=True),)
    assert spoken in text(last)


def test_wrong_prep_keys_repeat_then_default() -> None:
    turns = run(Digits("1"), Digits("7"), Digits("8"), Digits("9"))
    assert text(turns[2]).startswith("माफ़ कीजिए, यह सही विकल्प नहीं है। ऑर्डर तैयार होने")
    assert not turns[3].done
    assert turns[4].done
    assert turns[4].events == (VendorAccepted(20, defaulted=True),)


def test_hanging_up_after_accept_still_accepts_with_default_time() -> None:
    last = run(Digits("1"), Hangup())[-1]
    assert last.done
    assert last.events == (VendorAccepted(20, defaulted=True),)
    assert last.prompt.steps == ()


@pytest.mark.parametrize(
    ("key", "reason", "said"),
    [
        ("1", RejectReason.OUT_OF_STOCK, "सामान उपलब्ध नहीं"),
        ("2", RejectReason.SHOP_CLOSED, "दुकान बंद"),
        ("3", RejectReason.TOO_BUSY, "बहुत व्यस्त"),
        ("9", RejectReason.OTHER, "अन्य कारण"),
    ],
)
def test_reject_with_reason(key: str, reason: RejectReason, said: str) -> None:
    turns = run(Digits("2"), Digits(key))
    assert text(turns[1]).startswith("ऑर्डर अस्वीकार करने का कारण बताइए।")
    last = turns[-1]
    assert last.done
    assert last.events == (VendorRejected(reason),)
    assert text(last) == f"ऑर्डर अस्वीकार कर दिया गया है, कारण: {said}। बताने के लिए धन्यवाद।"


def test_reject_without_reason_after_repeats_or_hangup() -> None:
    turns = run(Digits("2"), NoInput(), Digits("5"), NoInput())
    assert [t.done for t in turns] == [False, False, False, False, True]
    assert turns[-1].events == (VendorRejected(RejectReason.UNSPECIFIED),)
    assert text(turns[-1]) == "ऑर्डर अस्वीकार कर दिया गया है। धन्यवाद।"
    hung = run(Digits("2"), Hangup())[-1]
    assert hung.events == (VendorRejected(RejectReason.UNSPECIFIED),)


def test_repeat_says_the_details_again_without_the_greeting() -> None:
    turns = run(Digits("3"))
    assert turns[1].events == (DetailsRepeated(),)
    assert text(turns[1]).startswith("नया ऑर्डर आया है, ऑर्डर नंबर 12345।")
    assert "नमस्ते" not in text(turns[1])
    assert not turns[1].done


def test_repeat_is_limited_then_counts_as_a_miss() -> None:
    turns = run(*[Digits("3")] * 4)
    assert [len(t.events) for t in turns[1:]] == [1, 1, 1, 0]  # 4th "3" is a miss
    assert turns[4].state.misses == 1
    # The call still ends: two more misses and it is over.
    more = [engine.step(IVR, turns[-1].state, NoInput())]
    more.append(engine.step(IVR, more[-1].state, NoInput()))
    assert more[-1].done
    assert more[-1].events == (NotAcknowledged("no_response"),)


def test_wrong_key_says_wrong_option_and_the_menu_again_at_most_twice() -> None:
    turns = run(Digits("7"), Digits("0"), Digits("*"))
    for turn in turns[1:3]:
        assert text(turn).startswith("माफ़ कीजिए, यह सही विकल्प नहीं है। नया ऑर्डर आया है")
        assert text(turn).endswith("दोबारा सुनने के लिए 3 दबाएँ।")
        assert not turn.done
        assert turn.events == ()
    last = turns[-1]
    assert last.done
    assert last.events == (NotAcknowledged("no_response"),)
    assert text(last) == "हमें जवाब नहीं मिला। हम आपसे जल्द दोबारा संपर्क करेंगे। धन्यवाद।"


def test_no_input_repeats_the_menu_at_most_twice_then_goodbye() -> None:
    turns = run(NoInput(), NoInput(), NoInput())
    assert text(turns[1]).startswith("हमें आपका जवाब नहीं मिला। नया ऑर्डर आया है")
    assert not turns[2].done
    assert turns[3].done
    assert turns[3].events == (NotAcknowledged("no_response"),)


def test_misses_count_per_menu() -> None:
    # Two misses on the main menu, then accept: the prep menu gets its own two.
    turns = run(Digits("7"), NoInput(), Digits("1"), Digits("7"), Digits("8"), Digits("2"))
    assert turns[-1].events == (VendorAccepted(20),)


def test_hangup_in_main_menu_is_not_acknowledged() -> None:
    last = run(Hangup())[-1]
    assert last.done
    assert last.events == (NotAcknowledged("hangup"),)


def test_finish_key_and_empty_digits() -> None:
    assert run(Digits("1#"), Digits("3#"))[-1].events == (VendorAccepted(30),)
    assert text(run(Digits(""))[1]).startswith("हमें आपका जवाब नहीं मिला।")
    assert text(run(Digits("12"))[1]).startswith("माफ़ कीजिए")  # two keys is not "1"


def test_a_finished_call_ignores_replays() -> None:
    last = run(Digits("1"), Digits("2"))[-1]
    again = engine.step(IVR, last.state, Digits("2"))
    assert again.done
    assert again.events == ()
    assert again.state == last.state


@pytest.mark.parametrize(
    ("lang", "greeting", "accepted"),
    [
        ("en", "Hello Krishna Kirana! You have a new order, order number 12345.", "15 minutes"),
        ("mr", "नमस्कार Krishna Kirana! नवीन ऑर्डर आली आहे, ऑर्डर क्रमांक 12345.", "15 मिनिटे"),
    ],
)
def test_other_languages(lang: str, greeting: str, accepted: str) -> None:
    turns = run(Digits("1"), Digits("1"), lang=lang)
    assert text(turns[0]).startswith(greeting)
    assert accepted in text(turns[-1])
    assert all(s.language.value == lang for s in turns[-1].prompt.steps if isinstance(s, cf.Say))


ALPHABET: list[Input] = [Digits("1"), Digits("2"), Digits("3"), Digits("9"), NoInput(), Hangup()]


def test_every_key_path_ends_with_exactly_one_outcome() -> None:
    """Walk every input sequence (depth-first, sharing prefixes) until each call is over."""
    ended = 0

    def walk(turn: Turn, outcomes_so_far: int, depth: int) -> None:
        nonlocal ended
        outcomes = outcomes_so_far + sum(e.kind in OUTCOMES for e in turn.events)
        if turn.done:
            assert outcomes == 1
            ended += 1
            return
        assert outcomes == 0
        assert depth < IVR.max_turns
        for received in ALPHABET:
            walk(engine.step(IVR, turn.state, received), outcomes, depth + 1)

    walk(run()[0], 0, 0)
    assert ended > 1000  # every path ends: the tree is finite


def test_state_round_trips_through_json_and_re_renders_the_same_prompt() -> None:
    for turn in run(Digits("7"), Digits("3"), Digits("2"), NoInput(), Digits("9")):
        restored = State.from_dict(json.loads(json.dumps(turn.state.to_dict())))
        assert restored == turn.state
        assert engine.render(IVR, restored) == turn.prompt


def test_turn_counter_is_a_fencing_token() -> None:
    turns = run(Digits("7"), Digits("3"), Digits("1"))
    assert [t.state.turn for t in turns] == [0, 1, 2, 3]
