"""Push through FCM HTTP v1 on a real database: queue → ``push.fcm_send`` → the FCM fake, token
refresh, dead tokens, no push after an acknowledgement, and the ladder's push step with
``push_provider=fcm`` (FCM when the party has a token, the backend's webhook when not)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr
from sqlalchemy import select

from exocomms.bootstrap import build_runtime
from exocomms.clock import ManualClock
from exocomms.demo.jupiter import create_jupiter_app
from exocomms.errors import ProviderUnavailable
from exocomms.escalation import service as escalation
from exocomms.jobs import store
from exocomms.jobs.registry import Job, RetryLater
from exocomms.jobs.store import Finish
from exocomms.push import jobs as push_jobs
from exocomms.push import service as push
from exocomms.runtime import Runtime
from exocomms.settings import Settings
from exocomms.storage.db import Database
from exocomms.storage.tables import jobs, outbox_messages, push_messages, timeline_entries
from tests.support import fcm_fake
from tests.support.fcm_fake import FcmFake, make_service_account

FCM = "http://fcm.test"
JUPITER = "http://jupiter.test"
SECRET = "push-test-secret-0123456789abcdef"
DEVICE = "cXk3-fake-device:APA91bFAKEtokenFORtests"
VENDOR = "+919810010067"  # store 67 of the sample backend


@pytest.fixture(scope="module")
def account_and_key() -> tuple[dict[str, Any], rsa.RSAPublicKey]:
    return make_service_account(f"{FCM}/token")


@pytest.fixture
def fake(account_and_key: tuple[dict[str, Any], rsa.RSAPublicKey]) -> FcmFake:
    return FcmFake(public_key=account_and_key[1], token_uri=f"{FCM}/token")


def _settings(account: dict[str, Any], **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "_env_file": None,
        "env": "test",
        "embedded_worker": False,
        "caller_id": "+918047000000",
        "jupiter_url": JUPITER,
        "jupiter_webhook_secret": SecretStr(SECRET),
        "push_provider": "fcm",
        "fcm_project_id": fcm_fake.PROJECT,
        "fcm_service_account_json": SecretStr(json.dumps(account)),
        "fcm_base_url": FCM,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
async def rt(
    db: Database, fake: FcmFake, account_and_key: tuple[dict[str, Any], Any]
) -> AsyncIterator[Runtime]:
    clock = ManualClock()
    jupiter = create_jupiter_app(SECRET, clock=clock)
    http = httpx.AsyncClient(
        mounts={
            FCM: httpx.ASGITransport(app=fake.app),
            JUPITER: httpx.ASGITransport(app=jupiter),
        }
    )
    runtime = build_runtime(_settings(account_and_key[0]), clock=clock, db=db, http=http)
    runtime.extras["jupiter"] = jupiter.state.jupiter
    yield runtime
    await http.aclose()


async def run_due(rt: Runtime) -> int:
    """Run every due escalation and push job until none is left (others are left pending)."""
    ran = 0
    while True:
        now = rt.clock.now()
        got = await store.claim(rt.db, "test", 100, now, now + timedelta(minutes=5))
        results = []
        for claimed in got.claimed:
            job = claimed.job
            if job.kind.startswith(("escalation.", "push.")):
                spec = rt.registry.get(job.kind)
                assert spec is not None
                await spec.fn(rt, job)
                ran += 1
                results.append(Finish(job.id, job.attempt, "done"))
            else:
                results.append(Finish(job.id, job.attempt, "release", run_at=now, refund=1))
        await store.finish(rt.db, "test", results, now, notify=False)
        if not any(r.outcome == "done" for r in results):
            return ran


async def _queue(rt: Runtime, key: str, token: str = DEVICE, esc: str | None = None) -> str:
    async with rt.db.transaction() as session:
        return await push.queue_fcm(
            session,
            rt,
            device_token=token,
            title="New order 12345",
            body="Please accept it",
            data={"order_id": "12345", "amount": 325, "items": [{"name": "Naan"}]},
            order_id="12345",
            escalation_id=esc,
            idempotency_key=key,
        )


async def _rows(rt: Runtime) -> list[dict[str, Any]]:
    async with rt.db.transaction() as session:
        result = await session.execute(select(push_messages).order_by(push_messages.c.created_at))
        return [dict(r) for r in result.mappings()]


async def _timeline(rt: Runtime, esc_id: str) -> list[str]:
    async with rt.db.transaction() as session:
        result = await session.execute(
            select(timeline_entries.c.summary)
            .where(timeline_entries.c.escalation_id == esc_id)
            .order_by(timeline_entries.c.id)
        )
        return [str(s) for s in result.scalars()]


async def _start_vendor(rt: Runtime, party_id: str | None = "67", **context: Any) -> str:
    async with rt.db.transaction() as session:
        return await escalation.start_escalation(
            session,
            rt,
            event_type="vendor_new_order",
            order_id="12345",
            phone=VENDOR,
            party_id=party_id,
            name="Krishna Kirana",
            language="en",
            context={"store_name": "Krishna Kirana", "amount": 325, "items": ["Naan"], **context},
        )


async def test_queued_push_is_sent_with_the_documented_body(rt: Runtime, fake: FcmFake) -> None:
    push_id = await _queue(rt, "k1")
    assert await _queue(rt, "k1") == push_id  # same key: the same push
    async with rt.db.transaction() as session:
        keys = (await session.execute(select(jobs.c.key).where(jobs.c.kind == push.SEND_JOB))).all()
    assert [k for (k,) in keys] == [f"push.fcm_send:{push_id}"]
    assert await run_due(rt) == 1
    assert fake.messages == [
        {
            "message": {
                "token": DEVICE,
                "notification": {"title": "New order 12345", "body": "Please accept it"},
                "data": {"order_id": "12345", "amount": "325"},  # strings; the list left out
                "android": {"priority": "high"},
            }
        }
    ]
    (row,) = await _rows(rt)
    assert row["status"] == "sent"
    assert row["message_name"] == f"projects/{fcm_fake.PROJECT}/messages/0:1%fake"
    assert row["sent_at"] == rt.clock.now()
    assert await run_due(rt) == 0  # nothing left: sent once


async def test_a_revoked_token_is_refreshed_and_the_push_still_goes(
    rt: Runtime, fake: FcmFake
) -> None:
    await _queue(rt, "a")
    await run_due(rt)
    fake.revoke_tokens()
    await _queue(rt, "b")
    await run_due(rt)
    assert [r["status"] for r in await _rows(rt)] == ["sent", "sent"]
    assert len(fake.assertions) == 2  # one token, refused (401), one fresh token
    assert len(fake.messages) == 2
    assert fake.send_requests == 3


async def test_a_dead_token_fails_the_push_and_is_reported(rt: Runtime, fake: FcmFake) -> None:
    esc_id = await _start_vendor(rt, party_id=None)
    fake.unregistered.add(DEVICE)
    await _queue(rt, "dead", esc=esc_id)
    await run_due(rt)
    rows = [r for r in await _rows(rt) if r["idempotency_key"] == "dead"]
    assert rows[0]["status"] == "failed"
    assert "UNREGISTERED" in rows[0]["error"]
    assert DEVICE not in rows[0]["error"]
    assert any("no longer registered" in s for s in await _timeline(rt, esc_id))
    assert fake.messages == []


async def test_rate_limits_wait_and_outages_retry_then_fail(rt: Runtime, fake: FcmFake) -> None:
    push_id = await _queue(rt, "busy")
    job = Job(1, push.SEND_JOB, None, {"push_id": push_id}, attempt=1, max_attempts=3)
    fake.fail_next(429, retry_after="30")
    with pytest.raises(RetryLater) as later:
        await push_jobs.send(rt, job)
    assert later.value.delay_seconds == 30.0
    fake.fail_next(503)
    with pytest.raises(ProviderUnavailable):  # the worker retries it with backoff
        await push_jobs.send(rt, job)
    assert (await _rows(rt))[0]["status"] == "queued"
    fake.fail_next(503)
    await push_jobs.send(rt, replace(job, attempt=3))  # the last attempt: failed, not raised
    assert (await _rows(rt))[0]["status"] == "failed"
    assert fake.messages == []


async def test_an_acknowledgement_before_the_send_cancels_the_push(
    rt: Runtime, fake: FcmFake
) -> None:
    esc_id = await _start_vendor(rt, push_token=DEVICE)
    now = rt.clock.now()
    got = await store.claim(rt.db, "test", 10, now, now + timedelta(minutes=5))
    step = [c.job for c in got.claimed if c.job.kind.startswith("escalation.")]
    spec = rt.registry.get("escalation.step")
    assert spec is not None
    assert len(step) == 1
    await spec.fn(rt, step[0])  # step 0 queues the FCM push (token from the context)
    await store.finish(
        rt.db, "test", [Finish(step[0].id, step[0].attempt, "done")], now, notify=False
    )
    async with rt.db.transaction() as session:
        await escalation.acknowledge(session, rt, escalation_id=esc_id, by=VENDOR, channel="app")
    await run_due(rt)
    (row,) = await _rows(rt)
    assert (row["status"], row["device_token"]) == ("canceled", DEVICE)
    assert "push_token" not in row["data"]
    assert fake.messages == []
    assert fake.send_requests == 0


async def test_ladder_push_step_uses_fcm_with_the_backends_token(
    rt: Runtime, fake: FcmFake
) -> None:
    esc_id = await _start_vendor(rt)
    await run_due(rt)
    (sent,) = fake.messages
    message = sent["message"]
    assert message["token"] == "demo-fcm-token-store-67"  # looked up on the backend
    assert message["notification"]["title"] == "New order 12345"
    assert "Krishna Kirana" in message["notification"]["body"]
    assert message["data"]["escalation_id"] == esc_id
    assert message["data"]["template"] == "vendor_new_order.push"
    assert all(isinstance(v, str) for v in message["data"].values())
    (row,) = await _rows(rt)
    assert (row["channel"], row["status"]) == ("fcm", "sent")
    assert await _outbox_pushes(rt) == 0


async def test_ladder_push_step_falls_back_to_the_webhook_without_a_token(
    rt: Runtime, fake: FcmFake
) -> None:
    rt.extras["jupiter"].stores["67"].pop("push_token")
    esc_id = await _start_vendor(rt)
    await run_due(rt)
    assert fake.messages == []
    (row,) = await _rows(rt)
    assert (row["channel"], row["status"]) == ("webhook", "sent")
    assert row["message_name"].startswith("outbox:")
    assert await _outbox_pushes(rt) == 1
    assert any(
        "webhook: the commerce backend knows no device token" in s
        for s in await _timeline(rt, esc_id)
    )


async def test_no_party_id_and_no_token_goes_to_the_webhook_at_once(
    rt: Runtime, fake: FcmFake
) -> None:
    esc_id = await _start_vendor(rt, party_id=None)
    await run_due(rt)
    assert await _rows(rt) == []
    assert await _outbox_pushes(rt) == 1
    assert any("no device token known for the vendor" in s for s in await _timeline(rt, esc_id))
    assert fake.send_requests == 0


async def _outbox_pushes(rt: Runtime) -> int:
    async with rt.db.transaction() as session:
        result = await session.execute(
            select(outbox_messages.c.id).where(outbox_messages.c.topic == "push")
        )
        return len(result.all())
