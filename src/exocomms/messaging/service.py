"""Queue SMS and WhatsApp messages (in the caller's transaction), track their status, and turn
WhatsApp replies into acknowledgements.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from exocomms import phones
from exocomms.errors import ValidationError
from exocomms.events import DomainEvent
from exocomms.messaging import repo, templates
from exocomms.messaging.model import Channel, MessageStatus, Template
from exocomms.telephony.callflow import Language

if TYPE_CHECKING:
    from exocomms.runtime import Runtime

SEND_JOB = "messaging.send"
BUTTON_PREFIX = "ack"


def send_job_key(message_id: str) -> str:
    """The dedupe key of the job that sends ``message_id``."""
    return f"{SEND_JOB}:{message_id}"


async def queue_sms(
    session: AsyncSession,
    runtime: Runtime,
    *,
    to: str,
    template: str,
    params: Mapping[str, Any],
    purpose: str,
    language: str = "hi",
    order_id: str | None = None,
    escalation_id: str | None = None,
) -> str:
    """Render a DLT SMS template and queue it; a job sends it after commit.

    Raises:
        ValidationError: unknown template, no SMS form, a bad phone, a missing value or one
            of 30 characters or more.

    Returns:
        Our message id.
    """
    tpl = templates.get(template)
    lang = Language.parse(language, default=Language.HI)
    body = tpl.render_sms(params, lang)
    content: dict[str, Any] = {}
    dlt_id = runtime.settings.dlt_template_ids.get(f"{tpl.name}.{lang.value}")
    dlt_id = dlt_id or runtime.settings.dlt_template_ids.get(tpl.name)
    if dlt_id:
        content["dlt_template_id"] = dlt_id
    if runtime.settings.dlt_entity_id:
        content["dlt_entity_id"] = runtime.settings.dlt_entity_id
    return await _store(
        session,
        runtime,
        Channel.SMS,
        tpl,
        lang,
        to,
        body,
        content,
        purpose,
        order_id,
        escalation_id,
    )


async def queue_whatsapp(
    session: AsyncSession,
    runtime: Runtime,
    *,
    to: str,
    template: str,
    params: Mapping[str, Any],
    purpose: str,
    language: str = "hi",
    buttons: Sequence[str] = (),
    order_id: str | None = None,
    escalation_id: str | None = None,
) -> str:
    """Render a WhatsApp template (quick-reply buttons included) and queue it.

    Args:
        buttons: Button ids to offer (default: the template's own, e.g. accept/reject). A
            button press comes back with the payload ``ack:<message_id>:<button id>``.

    Returns:
        Our message id.

    Raises:
        ValidationError: unknown template or button, no WhatsApp form, bad phone or values.
    """
    tpl = templates.get(template)
    lang = Language.parse(language, default=Language.HI)
    text, values = tpl.render_whatsapp(params, lang)
    known = {b.id: b for b in tpl.buttons}
    chosen = list(buttons) or list(known)
    unknown = [b for b in chosen if b not in known]
    if unknown:
        raise ValidationError(
            f"template {tpl.name!r} has no button(s) {unknown}", details={"known": list(known)}
        )
    message_id = uuid.uuid4().hex
    offered = [
        {"id": b, "label": known[b].labels[lang], "payload": f"{BUTTON_PREFIX}:{message_id}:{b}"}
        for b in chosen
    ]
    if runtime.settings.whatsapp_templates and tpl.whatsapp_name:
        content = _template_content(tpl, lang, values, offered)
    elif offered:
        content = {
            "type": "interactive",
            "interactive": {
                "type": "button",
                "body": {"text": text},
                "action": {
                    "buttons": [
                        {"type": "reply", "reply": {"id": o["payload"], "title": o["label"]}}
                        for o in offered
                    ]
                },
            },
        }
    else:
        content = {"type": "text", "text": {"body": text}}
    return await _store(
        session,
        runtime,
        Channel.WHATSAPP,
        tpl,
        lang,
        to,
        text,
        {"message": content, "buttons": offered},
        purpose,
        order_id,
        escalation_id,
        message_id=message_id,
    )


def _template_content(
    tpl: Template, lang: Language, values: list[str], offered: list[dict[str, str]]
) -> dict[str, Any]:
    components: list[dict[str, Any]] = [
        {"type": "body", "parameters": [{"type": "text", "text": v} for v in values]}
    ]
    components += [
        {
            "type": "button",
            "sub_type": "quick_reply",
            "index": str(index),
            "parameters": [{"type": "payload", "payload": o["payload"]}],
        }
        for index, o in enumerate(offered)
    ]
    return {
        "type": "template",
        "template": {
            "name": tpl.whatsapp_name,
            "language": {"code": lang.value},
            "components": components,
        },
    }


async def _store(
    session: AsyncSession,
    runtime: Runtime,
    channel: Channel,
    tpl: Template,
    lang: Language,
    to: str,
    body: str,
    content: dict[str, Any],
    purpose: str,
    order_id: str | None,
    escalation_id: str | None,
    *,
    message_id: str | None = None,
) -> str:
    if not purpose or len(purpose) > 40:
        raise ValidationError("purpose must be 1..40 characters")
    number = phones.normalize(to)
    message_id = message_id or uuid.uuid4().hex
    now = runtime.clock.now()
    await repo.insert_message(
        session,
        {
            "id": message_id,
            "channel": channel.value,
            "to_number": number,
            "template": tpl.name,
            "language": lang.value,
            "purpose": purpose,
            "body": body,
            "content": content,
            "status": MessageStatus.QUEUED.value,
            "order_id": None if order_id is None else str(order_id)[:64],
            "escalation_id": escalation_id,
            "created_at": now,
            "updated_at": now,
        },
    )
    await runtime.queue.enqueue(
        session, SEND_JOB, {"message_id": message_id}, key=send_job_key(message_id)
    )
    return message_id


async def set_status(
    session: AsyncSession,
    runtime: Runtime,
    row: dict[str, Any],
    status: MessageStatus,
    *,
    error: str | None = None,
    at: datetime | None = None,
) -> bool:
    """Move a message forward to ``status`` (never backwards); publish ``message.status``.

    Returns:
        True when the status changed.
    """
    current = MessageStatus(row["status"])
    if status.rank <= current.rank or current is MessageStatus.FAILED:
        return False
    now = at or runtime.clock.now()
    changes: dict[str, Any] = {"status": status.value, "updated_at": runtime.clock.now()}
    if status is MessageStatus.SENT and row["sent_at"] is None:
        changes["sent_at"] = now
    if status in (MessageStatus.DELIVERED, MessageStatus.READ) and row["delivered_at"] is None:
        changes["delivered_at"] = now
    if error:
        changes["error"] = error[:500]
    await repo.update_message(session, row["id"], changes)
    row.update(changes)
    await _publish(
        session,
        runtime,
        row,
        "message.status",
        {"message_id": row["id"], "channel": row["channel"], "status": status.value},
    )
    return True


async def record_reply(
    session: AsyncSession,
    runtime: Runtime,
    *,
    phone: str,
    text: str | None,
    button: str | None,
) -> dict[str, Any] | None:
    """A WhatsApp reply or button press from ``phone``: match it to the message it answers.

    A button payload ``ack:<message_id>:<button>`` names the message; plain text answers the
    newest WhatsApp message to that phone. Publishes ``message.reply`` and, for a message of
    an escalation, ``party.acknowledged``.

    Returns:
        The message replied to, or None when there is none (nothing is published).
    """
    row: dict[str, Any] | None = None
    choice: str | None = None
    if button and button.startswith(f"{BUTTON_PREFIX}:"):
        _, _, rest = button.partition(":")
        message_id, _, choice = rest.partition(":")
        row = await repo.get_message(session, message_id=message_id[:32])
        if row is not None and row["to_number"] != phone:
            row = None  # a payload forwarded from someone else's chat proves nothing
    if row is None:
        row = await repo.latest_whatsapp_to(session, phone)
    if row is None:
        return None
    now = runtime.clock.now()
    first = row["replied_at"] is None
    if first:
        changes = {"reply": (choice or button or text or "")[:500], "replied_at": now}
        await repo.update_message(session, row["id"], {**changes, "updated_at": now})
        row.update(changes)
    data = {
        "message_id": row["id"],
        "channel": "whatsapp",
        "text": (text or "")[:500],
        "button": choice or button,
    }
    await _publish(session, runtime, row, "message.reply", data)
    if row["escalation_id"]:
        await _publish(
            session,
            runtime,
            row,
            "party.acknowledged",
            {"channel": "whatsapp", "button": choice or button, "message_id": row["id"]},
        )
    return row


async def _publish(
    session: AsyncSession, runtime: Runtime, row: dict[str, Any], name: str, data: dict[str, Any]
) -> None:
    payload = dict(data)
    if row.get("escalation_id"):
        payload["escalation_id"] = row["escalation_id"]
    await runtime.events.publish(
        session,
        runtime,
        DomainEvent(
            name=name,
            at=runtime.clock.now(),
            order_id=row.get("order_id"),
            party=_party(row.get("template", "")),
            actor=row.get("to_number"),
            data=payload,
        ),
    )


def _party(template: str) -> str | None:
    if template.startswith("vendor_"):
        return "vendor"
    if template.startswith(("rider", "address_change")):
        return "rider"
    if template.startswith("customer_"):
        return "customer"
    if template.startswith("admin"):
        return "admin"
    return None
