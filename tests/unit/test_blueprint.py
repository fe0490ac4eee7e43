"""Flow blueprints: the text an operator follows and the JSON exosim loads as is."""

from __future__ import annotations

import json

import pytest

from exocomms.errors import ValidationError
from exocomms.ivr import flows
from exocomms.telephony.callflow import Language
from exocomms.telephony.exotel import blueprint
from exosim.flows.model import Flow
from tests.golden.telephony import assert_golden

BASE = "https://comms.example.in/"
TOKEN = "TOKEN"


@pytest.mark.parametrize("lang", list(Language))
def test_vendor_blueprint_text_golden(lang: Language) -> None:
    ivr = flows.get("vendor_order")
    bp = blueprint.build(ivr, base_url=BASE, token=TOKEN)
    assert_golden(f"blueprint/vendor_order_{lang.value}.txt", blueprint.to_text(bp, ivr, lang))


def test_vendor_blueprint_json_golden_loads_in_exosim() -> None:
    bp = blueprint.build(flows.get("vendor_order"), base_url=BASE, token=TOKEN)
    text = blueprint.to_json(bp)
    assert_golden("blueprint/vendor_order.json", text)
    flow = Flow.model_validate(json.loads(text))
    assert flow.start == "start"
    assert flow.applets["input"].model_dump()["on_302"] == "goodbye"


def test_one_way_blueprint_golden() -> None:
    ivr = flows.get("customer_delay")
    bp = blueprint.build(ivr, base_url=BASE, token=TOKEN)
    assert [a.type for a in bp.applets] == ["passthru", "greeting", "greeting", "hangup"]
    assert_golden("blueprint/customer_delay.json", blueprint.to_json(bp))
    assert_golden("blueprint/customer_delay_en.txt", blueprint.to_text(bp, ivr, Language.EN))


@pytest.mark.parametrize("name", flows.names())
def test_every_ivr_blueprint_is_a_valid_exosim_flow(name: str) -> None:
    ivr = flows.get(name)
    bp = blueprint.build(ivr, base_url="http://127.0.0.1:8080", token="t", flow_id=f"f-{name}")
    flow = Flow.model_validate(blueprint.to_exosim(bp))
    assert flow.id == f"f-{name}"
    urls = [a.url for a in bp.applets if a.url]
    assert all(u.startswith(f"http://127.0.0.1:8080/exotel/applets/{name}/") for u in urls)
    assert all(u.endswith("?t=t") for u in urls)
    assert ("gather" in {a.type for a in bp.applets}) == ivr.interactive


def test_applet_urls_quote_the_token_and_refuse_bad_bases() -> None:
    url = blueprint.applet_url("https://x.example.in/base/", "vendor_order", "gather", "a+b/c&d")
    assert url == "https://x.example.in/base/exotel/applets/vendor_order/gather?t=a%2Bb%2Fc%26d"
    for bad in ("ftp://x.example.in", "x.example.in", "https://x.example.in/?a=1", ""):
        with pytest.raises(ValidationError):
            blueprint.applet_url(bad, "vendor_order", "start", "t")


def test_render_is_what_the_cli_prints() -> None:
    ivr = flows.get("vendor_order")
    bp = blueprint.build(ivr, base_url=BASE, token=TOKEN)
    assert blueprint.render(ivr, base_url=BASE, token=TOKEN, as_json=True) == blueprint.to_json(bp)
    assert blueprint.render(ivr, base_url=BASE, token=TOKEN, language=Language.MR) == (
        blueprint.to_text(bp, ivr, Language.MR)
    )
