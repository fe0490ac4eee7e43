"""After the demo's day: wait for the dust to settle, collect what happened from the service's
API (and exosim's and the sample backend's records), check it against the script, print it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from rich.console import Console
from rich.table import Table

from exocomms.demo.expect import check
from exocomms.demo.jupiter import CUSTOMERS, RIDERS, STORES
from exocomms.demo.scenario import ORDERS, STORE, Demo
from exocomms.demo.setup import ADMIN

IST = timezone(timedelta(hours=5, minutes=30), "IST")
TERMINAL_CALLS = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})


@dataclass
class OrderReport:
    """One order as the service's API tells it."""

    order_id: str
    store: str
    escalations: list[dict[str, Any]]
    entries: list[dict[str, Any]]
    calls: list[dict[str, Any]]
    outcomes: list[dict[str, Any]]  # what the sample backend received about the order

    def escalation(self, esc_id: str) -> dict[str, Any] | None:
        """The newest escalation with this id (a reassignment restarts the same id)."""
        found = [e for e in self.escalations if e["escalationId"] == esc_id]
        return found[-1] if found else None

    def messages(self, channel: str, status: str | None = None) -> list[dict[str, Any]]:
        """The order's SMS or WhatsApp messages: one timeline entry each (the one carrying the
        message's current status; its sent/delivered entries follow it)."""
        return [
            e
            for e in self.entries
            if e["kind"] == "message"
            and e.get("channel") == channel
            and "status" in (e.get("data") or {})
            and (status is None or e["data"]["status"] == status)
        ]


@dataclass
class DemoResult:
    """Everything the demo saw; ``problems`` is empty when every order ended as scripted."""

    orders: dict[str, OrderReport]
    sim_calls: list[dict[str, Any]]
    sim_sms: list[dict[str, Any]]
    sim_whatsapp: list[dict[str, Any]]
    received: list[dict[str, Any]]
    outbox: list[dict[str, Any]]
    problems: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 when the scenario's expectations hold, else 1."""
        return 1 if self.problems else 0


async def settle(demo: Demo, *, sim_seconds: float) -> None:
    """Wait until no ladder is active, every call is over and every outcome is delivered."""

    async def quiet() -> bool:
        active = await demo.api("/escalations", status="active")
        calls = (await demo.api("/calls", limit=500))["items"]
        outbox = (await demo.api("/outbox/messages", limit=500))["items"]
        return (
            active["count"] == 0
            and all(c["status"] in TERMINAL_CALLS for c in calls)
            and all(m["status"] in ("delivered", "dead") for m in outbox)
        )

    await demo.wait(quiet, "every ladder, call and webhook to finish", sim_seconds=sim_seconds)


async def collect(demo: Demo, problems: list[str]) -> DemoResult:
    """Read back the day from the service's API, exosim and the sample backend."""
    received = list((await demo.http.get(f"{demo.jupiter_url}/_jupiter/received")).json()["items"])
    orders: dict[str, OrderReport] = {}
    for order in ORDERS:
        oid = order["id"]
        timeline = await demo.api(f"/comms/timeline/{oid}")
        calls = (await demo.api("/calls", order_id=oid, limit=100))["items"]
        orders[oid] = OrderReport(
            order_id=oid,
            store=STORE[order["store_id"]]["name"],
            escalations=timeline["escalations"],
            entries=timeline["entries"],
            calls=list(reversed(calls)),  # oldest first
            outcomes=[r for r in received if (r.get("payload") or {}).get("orderId") == oid],
        )
    result = DemoResult(
        orders=orders,
        sim_calls=list(await demo.sim("GET", "calls")),
        sim_sms=list(await demo.sim("GET", "sms")),
        sim_whatsapp=list(await demo.sim("GET", "whatsapp")),
        received=received,
        outbox=(await demo.api("/outbox/messages", limit=500))["items"],
        problems=list(problems),
    )
    result.problems.extend(check(result))
    return result


def _ist(value: str | None) -> str:
    if not value:
        return ""
    return datetime.fromisoformat(value).astimezone(IST).strftime("%H:%M:%S")


def _since(start: str | None, end: str | None) -> str:
    if not start or not end:
        return ""
    seconds = int((datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds())
    return f"{seconds // 60}m{seconds % 60:02d}s"


def _names() -> dict[str, str]:
    people = {s["phone"]: s["name"] for s in STORES}
    people.update({r["phone"]: f"{r['name'].split()[0]} (rider)" for r in RIDERS})
    people.update({c["phone"]: f"{c['name'].split()[0]} (customer)" for c in CUSTOMERS})
    people[ADMIN] = "admin"
    return people


NAMES = _names()
PHONE = re.compile(r"\+91\d{10}")
# Entries another line already says: the ack says "acknowledged", the message line its status.
_QUIET_EVENTS = frozenset(
    {"message.status", "message.reply", "party.acknowledged", "call.finished"}
)


def _shown(entry: dict[str, Any]) -> bool:
    data = entry.get("data") or {}
    if entry["source"] == "orchestrator":
        return str(data.get("event")) not in _QUIET_EVENTS
    if entry["source"] == "messages":
        return "status" in data or entry["kind"] == "key"  # the message itself, and replies
    if entry["source"] == "call_events":
        return bool(entry["kind"] == "key")  # the keys; the call line has the final status
    return True


def _who(actor: str | None) -> str:
    return NAMES.get(actor or "", actor or "")


def _named(text: str) -> str:
    return PHONE.sub(lambda m: NAMES.get(m.group(0), m.group(0)), text)


def _outcomes_cell(order: OrderReport) -> str:
    events = [r["payload"].get("event") for r in order.outcomes if r["kind"] == "outcome"]
    named = [str(e) for e in events if e and e != "escalation.acknowledged"]
    acks = sum(1 for e in events if e == "escalation.acknowledged")
    pushes = sum(1 for r in order.outcomes if r["kind"] == "push")
    return "\n".join([*named, f"+{acks} acks, {pushes} pushes"])


def _ladder_cell(esc: dict[str, Any] | None) -> str:
    if esc is None:
        return "-"
    if esc["status"] == "acknowledged":
        after = _since(esc["startedAt"], esc["acknowledgedAt"])
        return f"{esc['acknowledgedChannel']} after {after}"
    return str(esc["status"])


def _summary(result: DemoResult) -> Table:
    table = Table(
        "order", "store", "vendor\nanswered", "rider", "calls\nplaced/\nanswered", "SMS",
        "Whats\nApp", "admin\nalerts", "webhooks to the backend",
        title="The day", title_justify="left",
    )  # fmt: skip
    for order in result.orders.values():
        rider = order.escalation(f"rider_assign_{order.order_id}")
        rider_cell = "-" if rider is None else f"{rider['name']}: {_ladder_cell(rider)}"
        address = order.escalation(f"address_update_{order.order_id}")
        if address is not None:
            rider_cell += f"\naddress change: {_ladder_cell(address)}"
        vendor = order.escalation(f"vendor_order_{order.order_id}")
        answered = sum(1 for c in order.calls if c["answered_at"])
        alerts = [m for m in order.messages("sms") if m["data"].get("template") == "admin.alert"]
        table.add_row(
            order.order_id,
            order.store,
            _ladder_cell(vendor),
            rider_cell,
            f"{len(order.calls)}/{answered}",
            str(len(order.messages("sms"))),
            str(len(order.messages("whatsapp"))),
            str(len(alerts)),
            _outcomes_cell(order),
        )
    return table


def _timeline(order: OrderReport) -> Table:
    shown = [e for e in order.entries if _shown(e)]
    start = order.entries[0]["at"] if order.entries else None
    table = Table(
        "time (IST)", "+", "kind", "who", "what",
        title=f"Order {order.order_id} · {order.store} · GET /comms/timeline/{order.order_id}",
        caption=f"{len(order.entries) - len(shown)} status/delivery entries not shown",
        title_justify="left",
    )  # fmt: skip
    for e in shown:
        table.add_row(
            _ist(e["at"]),
            _since(start, e["at"]),
            e["kind"],
            _who(e.get("actor")),
            _named(e["summary"]),
        )
    return table


SAW = (
    "[bold]What you just saw[/bold]: four orders reached their stores through the escalation "
    "ladder (app push at once, WhatsApp after 1 min, a ring after 2, an IVR call after 3, the "
    "admin after 5), on exosim's accelerated clock. Krishna Kirana answered on WhatsApp, so it "
    "was never called; Sharma Sweets ignored WhatsApp and the ring, then pressed 1 and 2 on the "
    "IVR (accepted, 20 minutes); Annapurna Tiffins pressed 2 and 1 (rejected: out of stock); "
    "Brigade Bakes answered nothing, so the admin on duty got an SMS and a WhatsApp alert and a "
    "bridge call. Rider Ravi pressed 2 to reject order 1001 and the backend reassigned it to "
    "Suresh, who pressed 1 and got the pickup SMS; Arjun took order 1002 on WhatsApp and then "
    "confirmed its changed address with a key. Priya called Suresh through a masked virtual "
    "number (neither saw the other's phone); Kavya, whose order was rejected, gave a missed call "
    "and was called back, pressing 1 to repeat her order. Every outcome went back to the "
    "commerce backend as a signed, idempotent webhook."
)


def render(console: Console, result: DemoResult) -> None:
    """Print the summary, each order's timeline, and the verdict."""
    console.print(_summary(result))
    delivered = sum(1 for m in result.outbox if m["status"] == "delivered")
    console.print(
        f"exosim: {len(result.sim_calls)} calls, {len(result.sim_sms)} SMS, "
        f"{len(result.sim_whatsapp)} WhatsApp messages · webhooks to the backend: "
        f"{delivered}/{len(result.outbox)} delivered, {len(result.received)} received"
    )
    for order in result.orders.values():
        console.print(_timeline(order))
    console.print(SAW)
    if result.problems:
        console.print("[bold red]The day did not go as scripted:[/bold red]")
        for problem in result.problems:
            console.print(f"[red]  ✗ {problem}")
    else:
        console.print("[bold green]✓ every order ended as scripted[/bold green]")
