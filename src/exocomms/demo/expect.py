"""What the demo's day must end as, order by order.

Read from the service's API (escalations, calls, timelines), what the sample backend received
(outcomes), and exosim's records (the SMS and calls that really went out).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from exocomms.demo.jupiter import RIDERS
from exocomms.demo.setup import ADMIN

if TYPE_CHECKING:
    from exocomms.demo.report import DemoResult, OrderReport

RIDER_PHONE = {r["id"]: r["phone"] for r in RIDERS}


def same_number(a: object, b: object) -> bool:
    """True when two phone numbers in any Indian form are the same line."""
    return isinstance(a, str) and isinstance(b, str) and a[-10:] == b[-10:] and len(a) >= 10


def _outcomes(order: OrderReport, event: str) -> list[Mapping[str, Any]]:
    return [dict(r["payload"]) for r in order.outcomes if r["payload"].get("event") == event]


class _Checker:
    def __init__(self, result: DemoResult) -> None:
        self.result = result
        self.problems: list[str] = []

    def expect(self, ok: bool, order: str, what: str) -> None:
        if not ok:
            self.problems.append(f"order {order}: expected {what}")

    def ladder(
        self,
        order: OrderReport,
        esc_id: str,
        status: str,
        *,
        channel: str | None = None,
        phone: str | None = None,
    ) -> None:
        esc = order.escalation(esc_id)
        if esc is None:
            self.expect(False, order.order_id, f"escalation {esc_id}")
            return
        got = (esc["status"], esc["acknowledgedChannel"])
        want_channel = channel if status == "acknowledged" else got[1]
        self.expect(
            got == (status, want_channel),
            order.order_id,
            f"{esc_id} {status}" + (f" via {channel}" if channel else "") + f", got {got}",
        )
        if phone is not None:
            self.expect(
                same_number(esc["phone"], phone), order.order_id, f"{esc_id} to end with {phone}"
            )

    def outcome(self, order: OrderReport, event: str, **data: Any) -> None:
        found = _outcomes(order, event)
        ok = any(all(o.get("data", {}).get(k) == v for k, v in data.items()) for o in found)
        self.expect(ok, order.order_id, f"the backend to receive {event} {data or ''}".rstrip())


def _sms_to(sms: Iterable[Mapping[str, Any]], number: str) -> list[Mapping[str, Any]]:
    return [s for s in sms if same_number(s.get("to_number"), number)]


def check(result: DemoResult) -> list[str]:
    """The differences between the day and the script (empty: all as scripted)."""
    c = _Checker(result)
    o = result.orders
    # 1001: WhatsApp vendor; rider 501 rejects on the IVR, 502 accepts and gets the pickup SMS.
    c.ladder(o["1001"], "vendor_order_1001", "acknowledged", channel="whatsapp")
    vendor_calls = [x for x in o["1001"].calls if x["purpose"] == "vendor_new_order"]
    c.expect(not vendor_calls, "1001", "no call to a vendor who answered on WhatsApp")
    c.ladder(
        o["1001"], "rider_assign_1001", "acknowledged", channel="ivr", phone=RIDER_PHONE["502"]
    )
    rejected = _outcomes(o["1001"], "rider.rejected")
    c.expect(
        any(same_number(r.get("actor"), RIDER_PHONE["501"]) for r in rejected),
        "1001",
        "the backend to hear that rider 501 rejected",
    )
    c.outcome(o["1001"], "rider.accepted")
    c.expect(bool(_sms_to(result.sim_sms, RIDER_PHONE["502"])), "1001", "the pickup SMS to 502")
    masked = [(x["status"], x["outcome"]) for x in o["1001"].calls if x["purpose"] == "masked_call"]
    c.expect(masked == [("completed", "connected")], "1001", f"a connected masked call, {masked}")
    # 1002: IVR accept with 20 minutes; rider on WhatsApp; address change confirmed by key.
    c.ladder(o["1002"], "vendor_order_1002", "acknowledged", channel="ivr")
    c.outcome(o["1002"], "vendor.accepted", prep_minutes=20)
    c.ladder(
        o["1002"], "rider_assign_1002", "acknowledged", channel="whatsapp", phone=RIDER_PHONE["503"]
    )
    c.ladder(o["1002"], "address_update_1002", "acknowledged", channel="ivr")
    # 1003: IVR reject, out of stock.
    c.ladder(o["1003"], "vendor_order_1003", "acknowledged", channel="ivr")
    c.outcome(o["1003"], "vendor.rejected", reason="out_of_stock")
    callback = [x for x in o["1003"].calls if x["purpose"] == "missed_call_callback"]
    c.expect(
        [(x["status"], x["digits"]) for x in callback] == [("completed", "1")],
        "1003",
        "the missed call called back, and 1 pressed to repeat the order",
    )
    names = {(e.get("data") or {}).get("event") for e in o["1003"].entries}
    c.expect("order.reorder_requested" in names, "1003", "order.reorder_requested on the timeline")
    # 1004: nobody answers: the admin gets the alert SMS and the bridge call rings them.
    c.ladder(o["1004"], "vendor_order_1004", "exhausted")
    c.expect(bool(_sms_to(result.sim_sms, ADMIN)), "1004", "the admin alert SMS in exosim")
    rang = [
        call
        for call in result.sim_calls
        if any(same_number(leg.get("number"), ADMIN) for leg in call.get("legs", []))
    ]
    c.expect(bool(rang), "1004", "the admin bridge call to ring the admin")
    undelivered = [m for m in result.outbox if m["status"] != "delivered"]
    c.expect(not undelivered, "all", f"every webhook delivered, {len(undelivered)} not")
    return c.problems
