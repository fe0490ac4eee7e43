"""Queue app pushes through FCM HTTP v1 (in the caller's transaction), or fall back to the
commerce backend's push webhook when no device token is known.

``push_provider=fcm`` makes the ladder's push step call :func:`push_for_step`:

* the device token is the escalation context's ``push_token``/``fcm_token`` when it carries one;
  otherwise the ``push.fcm_send`` job looks it up on the commerce backend (the store, rider
  or customer record's ``push_token``) right before sending — a look-up is network, and the
  step runs inside a transaction;
* nobody to look up (no party id, an admin), FCM not configured, or no token on the backend:
  the push goes through the webhook (:func:`exocomms.commerce.push.queue_push`) as before,
  and the timeline says why.

Device tokens are personal data: stored (they are needed to send), never logged or shown.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from exocomms.errors import ValidationError
from exocomms.logging import get_logger
from exocomms.push import texts
from exocomms.push.fcm import FcmClient, ServiceAccount
from exocomms.storage.tables import push_messages

if TYPE_CHECKING:
    from exocomms.runtime import Runtime

log = get_logger(__name__)

SEND_JOB = "push.fcm_send"
CLIENT_EXTRA = "fcm_client"  # runtime.extras key: the FcmClient (tests may inject one)
TOKEN_KEYS = ("push_token", "fcm_token")  # where a context may carry the device token
MAX_DATA_VALUE_CHARS = 500
STATUSES = frozenset({"queued", "sent", "failed", "canceled"})


def send_job_key(push_id: str) -> str:
    """The dedupe key of the job that sends ``push_id``."""
    return f"{SEND_JOB}:{push_id}"


def fcm_configured(runtime: Runtime) -> bool:
    """True when a project id and service-account credentials are configured."""
    s = runtime.settings
    has_account = bool(s.fcm_service_account_json.get_secret_value().strip()) or bool(
        s.fcm_service_account_file
    )
    return runtime.extras.get(CLIENT_EXTRA) is not None or (
        bool(s.fcm_project_id.strip()) and has_account
    )


def client_for(runtime: Runtime) -> FcmClient:
    """The process's FCM client, built from the settings on first use (it caches the token).

    Raises:
        ProviderAuthError: credentials missing, unreadable or malformed.
    """
    client = runtime.extras.get(CLIENT_EXTRA)
    if isinstance(client, FcmClient):
        return client
    s = runtime.settings
    text = s.fcm_service_account_json.get_secret_value().strip()
    if not text and s.fcm_service_account_file is not None:
        try:
            text = s.fcm_service_account_file.read_text(encoding="utf-8")
        except OSError as exc:
            from exocomms.errors import ProviderAuthError

            raise ProviderAuthError(
                f"FCM service account file unreadable: {type(exc).__name__}"
            ) from None
    account = ServiceAccount.from_json(text)
    client = FcmClient(
        runtime.http,
        project_id=s.fcm_project_id.strip() or account.project_id,
        account=account,
        clock=runtime.clock,
        base_url=s.fcm_base_url,
        timeout=s.fcm_timeout_seconds,
    )
    runtime.extras[CLIENT_EXTRA] = client
    return client


def fcm_data(data: Mapping[str, Any]) -> dict[str, str]:
    """FCM ``data``: the scalar values as strings (lists, objects and tokens left out)."""
    return {
        str(k): (str(v).lower() if isinstance(v, bool) else str(v))[:MAX_DATA_VALUE_CHARS]
        for k, v in data.items()
        if isinstance(v, str | int | float | bool) and k not in TOKEN_KEYS
    }


async def queue_fcm(
    session: AsyncSession,
    runtime: Runtime,
    *,
    device_token: str | None,
    title: str,
    body: str,
    data: Mapping[str, Any],
    order_id: str | None,
    escalation_id: str | None,
    idempotency_key: str,
    party: str | None = None,
    party_id: str | None = None,
    template: str | None = None,
) -> str:
    """Store an FCM push and enqueue ``push.fcm_send``, inside the caller's transaction.

    Args:
        device_token: The FCM registration token; None to have the job look it up on the
            commerce backend from ``party``/``party_id`` (webhook fallback if there is none).
        title: Notification title. body: Notification text.
        data: JSON values for the app; sent as strings (scalars only).
        order_id: The order it is about. escalation_id: The escalation that asks (checked
            with ``runtime.may_send`` right before sending).
        idempotency_key: The same key again returns the existing push (a retried step).
        party, party_id, template: Whom to look up and what to send through the webhook
            fallback.

    Returns:
        The push id (the existing one for a repeated key).

    Raises:
        ValidationError: empty title or key.
    """
    if not title.strip() or not idempotency_key:
        raise ValidationError("a push needs a title and an idempotency key")
    existing = await session.scalar(
        select(push_messages.c.id).where(push_messages.c.idempotency_key == idempotency_key)
    )
    if existing is not None:
        return str(existing)
    push_id = uuid.uuid4().hex
    now = runtime.clock.now()
    clean = {k: v for k, v in data.items() if k not in TOKEN_KEYS}
    await session.execute(
        push_messages.insert().values(
            id=push_id,
            channel="fcm",
            party=party,
            party_id=party_id,
            template=template,
            device_token=device_token or None,
            title=title[: texts.TITLE_CHARS],
            body=body,
            data=clean,
            status="queued",
            order_id=order_id,
            escalation_id=escalation_id,
            idempotency_key=idempotency_key[:255],
            created_at=now,
            updated_at=now,
        )
    )
    await runtime.queue.enqueue(session, SEND_JOB, {"push_id": push_id}, key=send_job_key(push_id))
    return push_id


async def push_for_step(
    session: AsyncSession,
    runtime: Runtime,
    *,
    party: str,
    party_id: str | None,
    order_id: str | None,
    template: str,
    data: Mapping[str, Any],
    escalation_id: str,
    key: str,
) -> str | None:
    """A ladder push step with ``push_provider=fcm``: the push id, or None for the webhook.

    None means "use the webhook": the reason is already on the escalation's timeline.
    """
    token = next((data[k] for k in TOKEN_KEYS if isinstance(data.get(k), str) and data[k]), None)
    reason: str | None = None
    if not fcm_configured(runtime):
        reason = "FCM is not configured (EXOCOMMS_FCM_PROJECT_ID / service account)"
    elif token is None and (party_id is None or party not in ("vendor", "rider", "customer")):
        reason = f"no device token known for the {party}"
    if reason is not None:
        await note_fallback(session, runtime, order_id, escalation_id, party, reason)
        return None
    language = "hi"
    from exocomms.escalation import repo as escalation_repo

    row = await escalation_repo.get(session, escalation_id)
    if row is not None and row.get("language"):
        language = str(row["language"])
    title, body = texts.render(template, data, language)
    return await queue_fcm(
        session,
        runtime,
        device_token=token,
        title=title,
        body=body,
        data={**data, "template": template, "escalation_id": escalation_id},
        order_id=order_id,
        escalation_id=escalation_id,
        idempotency_key=f"push:{key}",
        party=party,
        party_id=party_id,
        template=template,
    )


async def note_fallback(
    session: AsyncSession,
    runtime: Runtime,
    order_id: str | None,
    escalation_id: str | None,
    party: str | None,
    reason: str,
) -> None:
    """Say on the timeline that a push goes through the backend's webhook, and why."""
    from exocomms.escalation import repo as escalation_repo

    await escalation_repo.add_entry(
        session,
        at=runtime.clock.now(),
        kind="status",
        channel="push",
        actor="system",
        order_id=order_id,
        escalation_id=escalation_id,
        summary=f"push to {party or 'party'} sent through the commerce backend's webhook: {reason}",
        data={"push_provider": "fcm", "fallback": "webhook", "reason": reason},
    )
    log.info("push.fcm_fallback", escalation_id=escalation_id, party=party, reason=reason)


async def get_push(
    session: AsyncSession, push_id: str, *, lock: bool = False
) -> dict[str, Any] | None:
    """The push row (locked ``FOR UPDATE`` when asked)."""
    stmt = select(push_messages).where(push_messages.c.id == push_id)
    if lock:
        stmt = stmt.with_for_update()
    row = (await session.execute(stmt)).mappings().first()
    return dict(row) if row is not None else None


async def update_push(
    session: AsyncSession, runtime: Runtime, push_id: str, **changes: Any
) -> None:
    """Change a push row (``updated_at`` set; ``error`` clipped)."""
    if "status" in changes and changes["status"] not in STATUSES:
        raise ValueError(f"bad push status {changes['status']!r}")
    if changes.get("error"):
        changes["error"] = str(changes["error"])[:500]
    await session.execute(
        update(push_messages)
        .where(push_messages.c.id == push_id)
        .values(**changes, updated_at=runtime.clock.now())
    )
