"""The demo's cast and wiring: numbers, settings, and exosim loaded with flows and templates.

Everything here is configuration a real deployment would do by hand on Exotel's dashboard
(App Bazaar flows from ``exocomms flows blueprint``, ExoPhones, DLT templates, the incoming
WhatsApp URL), done through exosim's control API instead.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from exocomms.connect import blueprint as connect_blueprint
from exocomms.escalation.channels import IVR_FOR_TEMPLATE
from exocomms.ivr import flows
from exocomms.messaging import templates
from exocomms.settings import Settings
from exocomms.telephony.exotel import blueprint

DID_NEW_ORDER = "08047100001"
DID_REMINDER = "08047100002"
DID_ADDRESS = "08047100003"
CALLER_ID = "08047100009"
SMS_SENDER = "SHOPCO"
DLT_ENTITY = "1101000000000000001"
ADMIN = "+919876500001"  # the admin on duty (a virtual phone in exosim)
MASKING_NUMBERS = ("08047100101", "08047100102", "08047100103")  # virtual numbers (ExoPhones)
MISSED_CALL_NUMBER = "08047100004"  # give a missed call here to be called back
EXOSIM_ACCOUNT = ("exosim", "exosim-key", "exosim-token")  # exosim's documented demo account


def dlt_template_ids() -> dict[str, str]:
    """A made-up DLT template id for every SMS template of the catalogue."""
    keys = [
        f"{name}.{lang}"
        for name, bodies in sorted(templates.dlt_bodies().items())
        for lang in sorted(bodies)
    ]
    return {key: f"1107{index:015d}" for index, key in enumerate(keys, 1)}


def demo_settings(
    data_dir: Path,
    *,
    url: str,
    exotel_url: str,
    jupiter_url: str,
    jupiter_secret: str,
    database_url: str | None = None,
    admin_key: str | None = None,
) -> Settings:
    """Settings of the demo service: throwaway data dir, exosim as Exotel, the sample backend.

    Explicit values everywhere, and no ``.env`` file: the demo must not pick up a developer's
    real configuration.
    """
    return Settings(
        _env_file=None,  # no .env: a developer's real settings must not leak in
        env="development",
        data_dir=data_dir,
        database_url=database_url or f"sqlite+aiosqlite:///{data_dir / 'exocomms.db'}",
        public_base_url=url,
        webhook_token=SecretStr(secrets.token_urlsafe(24)),
        admin_api_key=SecretStr(admin_key or secrets.token_urlsafe(24)),
        exotel_base_url=exotel_url,
        exotel_account_sid=EXOSIM_ACCOUNT[0],
        exotel_api_key=SecretStr(EXOSIM_ACCOUNT[1]),
        exotel_api_token=SecretStr(EXOSIM_ACCOUNT[2]),
        exotel_timeout_seconds=5.0,
        jupiter_url=jupiter_url,
        jupiter_webhook_secret=SecretStr(jupiter_secret),
        log_json=False,
        log_level="WARNING",
        embedded_worker=True,
        job_poll_seconds=0.1,
        did_new_order=DID_NEW_ORDER,
        did_reminder=DID_REMINDER,
        did_address=DID_ADDRESS,
        caller_id=CALLER_ID,
        whatsapp_number=CALLER_ID,
        sms_sender_id=SMS_SENDER,
        dlt_entity_id=DLT_ENTITY,
        dlt_template_ids=dlt_template_ids(),
        admin_on_duty_phone=ADMIN,
        masking_numbers=",".join(MASKING_NUMBERS),
        call_ring_timeout_seconds=20,
        reconcile_margin_seconds=10.0,
    )


async def load_exosim(client: httpx.AsyncClient, sim_url: str, settings: Settings) -> None:
    """Load exosim: ExoPhones, every ladder IVR's blueprint, the ring flow, DLT templates, and
    the account's incoming WhatsApp URL (the service's callback)."""
    token = settings.resolved_webhook_token
    service_url = settings.public_base_url

    async def control(method: str, path: str, body: dict[str, Any]) -> None:
        response = await client.request(method, f"{sim_url}/_exosim/{path}", json=body)
        response.raise_for_status()

    numbers = (DID_NEW_ORDER, DID_REMINDER, DID_ADDRESS, CALLER_ID, MISSED_CALL_NUMBER)
    for number in (*numbers, *MASKING_NUMBERS):
        await control("POST", "exophones", {"number": number})
    for name in sorted(set(IVR_FOR_TEMPLATE.values())):
        flow_id = settings.exotel_flows.get(name, name)
        bp = blueprint.build(flows.get(name), base_url=service_url, token=token, flow_id=flow_id)
        await control("PUT", f"flows/{flow_id}", blueprint.to_exosim(bp))
    ring = {"id": settings.ring_flow, "start": "bye", "applets": {"bye": {"type": "hangup"}}}
    await control("PUT", f"flows/{settings.ring_flow}", ring)
    # The connect slice's flows: masked calls on every pool number, the main number's inbound
    # IVR, the missed-call number, and "ordering" (what a missed-call callback runs).
    assigned = {"masked-call": MASKING_NUMBERS, "inbound": (CALLER_ID,)}
    assigned["missed-call"] = (MISSED_CALL_NUMBER,)
    for name in connect_blueprint.FLOWS:
        flow = connect_blueprint.build(name, base_url=service_url, token=token)
        await control("PUT", f"flows/{flow.flow_id}", connect_blueprint.to_exosim(flow))
        for number in assigned.get(name, ()):
            await control("POST", f"flows/{flow.flow_id}/assign", {"exophone": number})
    bodies = templates.dlt_bodies()
    for key, template_id in settings.dlt_template_ids.items():
        name, _, lang = key.rpartition(".")
        await control(
            "POST",
            "dlt/templates",
            {
                "template_id": template_id,
                "entity_id": settings.dlt_entity_id,
                "body": bodies[name][lang],
                "sender_ids": [settings.sms_sender_id],
                "sms_type": "transactional",
            },
        )
    whatsapp_url = f"{service_url}/exotel/callbacks/whatsapp?t={token}"
    await control("PATCH", f"accounts/{EXOSIM_ACCOUNT[0]}", {"whatsapp_url": whatsapp_url})


def heard(ivr: str, prompt: str) -> str:
    """A regex a virtual phone matches against what it hears: ``prompt`` of ``ivr`` in any
    language (its first words, before any placeholder)."""
    texts = flows.get(ivr).prompts[prompt].values()
    return "|".join(re.escape(text.split("{")[0][:24]) for text in texts)


def press(ivr: str, prompt: str, keys: str) -> dict[str, Any]:
    """A key-press rule: press ``keys`` once, on hearing ``prompt`` of ``ivr``."""
    return {"when_heard": heard(ivr, prompt), "keys": keys, "once": True}
