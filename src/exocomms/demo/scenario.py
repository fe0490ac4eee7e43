"""The demo's small day of orders, driven through the public surfaces only.

The sample commerce backend's events go to the service as signed webhooks (``send_event``),
the people are exosim's scripted virtual phones, and progress is read from the service's API.
Four orders run side by side:

* **1001** — Krishna Kirana replies "Accept" on WhatsApp. Rider Ravi ignores his messages and
  presses 2 (reject) on the IVR call; the backend reassigns to Suresh, who presses 1 and gets
  the pickup SMS; the customer, Priya, then calls him through a masked virtual number.
* **1002** — Sharma Sweets ignores WhatsApp, misses the ring, and on the IVR call presses 1
  (accept) then 2 (20 minutes). Rider Arjun accepts on WhatsApp; then the customer changes the
  address mid-delivery and Arjun must confirm it with a key on the address IVR.
* **1003** — Annapurna Tiffins rejects on the IVR: 2, then 1 (out of stock). The customer,
  Kavya, gives a missed call; the service calls her back and she presses 1 (repeat the order).
* **1004** — Brigade Bakes never answers anything: the admin on duty gets the alert (SMS and
  WhatsApp) and a bridge call rings the admin, then the store.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from exocomms.clock import Clock
from exocomms.demo.jupiter import CUSTOMERS, RIDERS, STORES, send_event
from exocomms.demo.setup import ADMIN, MISSED_CALL_NUMBER, press

T = TypeVar("T")

POLL_SECONDS = 0.4
STORE = {s["id"]: s for s in STORES}
RIDER = {r["id"]: r for r in RIDERS}
CUSTOMER = {c["id"]: c for c in CUSTOMERS}


class ScenarioError(Exception):
    """A step of the scenario did not happen in time."""


@dataclass
class Demo:
    """The running demo as the scenario sees it: URLs, clients, secrets and the clock."""

    service_url: str
    sim_url: str
    jupiter_url: str
    secret: str
    admin_key: str
    clock: Clock
    scale: float
    http: httpx.AsyncClient
    notes: list[tuple[str, str]] = field(default_factory=list)  # (order, what the script did)

    async def api(self, path: str, **params: Any) -> Any:
        """GET a service admin route (JSON)."""
        response = await self.http.get(
            f"{self.service_url}{path}", params=params, headers={"X-API-Key": self.admin_key}
        )
        response.raise_for_status()
        return response.json()

    async def sim(self, method: str, path: str, body: Any = None) -> Any:
        """Call exosim's control API."""
        response = await self.http.request(method, f"{self.sim_url}/_exosim/{path}", json=body)
        response.raise_for_status()
        return response.json() if response.content else None

    async def phone(self, number: str, **script: Any) -> None:
        """Script a virtual phone."""
        await self.sim("PUT", f"phones/{number}", script)

    async def event(
        self, order: str, name: str, payload: Mapping[str, Any], *, event_id: str | None = None
    ) -> None:
        """The commerce backend sends ``name`` (signed with the demo clock's time)."""
        response = await send_event(
            self.http,
            self.service_url,
            self.secret,
            name,
            {"order_id": order, **payload},
            timestamp=self.clock.now(),
            event_id=event_id,
        )
        if response.status_code >= 300:
            raise ScenarioError(f"{name} for {order}: HTTP {response.status_code} {response.text}")
        self.notes.append((order, f"backend sent {name}"))

    async def put_order(self, order: Mapping[str, Any]) -> None:
        """Give the sample backend an order (so the service's look-ups find it)."""
        response = await self.http.post(f"{self.jupiter_url}/_jupiter/orders", json=dict(order))
        response.raise_for_status()

    async def wait(
        self, probe: Callable[[], Awaitable[T | None]], what: str, *, sim_seconds: float
    ) -> T:
        """Poll ``probe`` until it answers something truthy, for ``sim_seconds`` of demo time
        (plus a real-time margin); raises :class:`ScenarioError` after that."""
        deadline = time.monotonic() + sim_seconds / self.scale + 15.0
        while True:
            value = await probe()
            if value:
                return value
            if time.monotonic() > deadline:
                raise ScenarioError(f"timed out waiting for {what}")
            # Everything shares this event loop: polling gently leaves it to the servers.
            await asyncio.sleep(POLL_SECONDS)

    async def escalation_ended(
        self, esc_id: str, *, phone: str | None = None, sim_seconds: float = 600
    ) -> dict[str, Any]:
        """Wait until ``esc_id`` (for ``phone``, when given) is no longer active."""

        async def probe() -> dict[str, Any] | None:
            response = await self.http.get(
                f"{self.service_url}/escalations/{esc_id}", headers={"X-API-Key": self.admin_key}
            )
            if response.status_code == 404:
                return None
            response.raise_for_status()
            esc: dict[str, Any] = response.json()
            if esc["status"] == "active" or (phone is not None and esc["phone"] != phone):
                return None
            return esc

        return await self.wait(probe, f"{esc_id} to end", sim_seconds=sim_seconds)

    async def outcome(self, order: str, event: str, *, sim_seconds: float = 120) -> dict[str, Any]:
        """Wait until the sample backend has received the outcome ``event`` for ``order``."""

        async def probe() -> dict[str, Any] | None:
            response = await self.http.get(f"{self.jupiter_url}/_jupiter/received")
            response.raise_for_status()
            for item in response.json()["items"]:
                payload = item.get("payload") or {}
                if payload.get("orderId") == order and payload.get("event") == event:
                    return dict(item)
            return None

        return await self.wait(probe, f"{event} for {order}", sim_seconds=sim_seconds)

    async def call_done(
        self, order: str, purpose: str, *, sim_seconds: float = 300
    ) -> dict[str, Any]:
        """Wait until the order has a finished call of ``purpose``."""

        async def probe() -> dict[str, Any] | None:
            calls = (await self.api("/calls", order_id=order, limit=100))["items"]
            done = [c for c in calls if c["purpose"] == purpose and c["ended_at"]]
            return dict(done[0]) if done else None

        return await self.wait(probe, f"a finished {purpose} call", sim_seconds=sim_seconds)


async def masked_call(demo: Demo, order: str, caller: str, callee: str) -> None:
    """``caller`` rings the virtual number of their masking session with ``callee``."""

    async def session() -> str | None:
        found = (await demo.api(f"/masking/status/{order}"))["sessions"]
        live = [
            s["virtualNumber"]
            for s in found
            if s["status"] != "ended" and callee in (s["partyA"], s["partyB"])
        ]
        return live[0] if live and live[0] else None

    number = await demo.wait(session, f"a masking session for {order}", sim_seconds=120)
    # The callee ends the conversation, so the flow runs on to its last applet.
    await demo.phone(callee, name="callee", hangup_after=20)
    await demo.sim("POST", f"phones/{caller}/call", {"to": number})
    demo.notes.append((order, f"{caller} called {number}"))
    await demo.call_done(order, "masked_call")


# ---------------------------------------------------------------- the people


def _no_answer_first() -> list[dict[str, Any]]:
    # The ring step is the first call a party gets: let it ring out.
    return [{"behaviour": "no_answer"}]


async def script_phones(demo: Demo) -> None:
    """How everyone will behave today."""
    store = {sid: STORE[sid]["phone"] for sid in STORE}
    await demo.phone(
        store["67"], name="Krishna Kirana", whatsapp_reply={"after": 20, "text": "Accept"}
    )
    await demo.phone(
        store["68"],
        name="Sharma Sweets",
        calls=_no_answer_first(),
        keys=[press("vendor_order", "options", "1"), press("vendor_order", "ask_prep", "2")],
        hangup_after=120,
    )
    await demo.phone(
        store["69"],
        name="Annapurna Tiffins",
        calls=_no_answer_first(),
        keys=[press("vendor_order", "options", "2"), press("vendor_order", "ask_reason", "1")],
        hangup_after=120,
    )
    await demo.phone(store["70"], name="Brigade Bakes", behaviour="no_answer")
    await demo.phone(
        RIDER["501"]["phone"],
        name="Ravi (rider)",
        calls=_no_answer_first(),
        keys=[press("rider_assignment", "options", "2")],
        hangup_after=120,
    )
    await demo.phone(
        RIDER["502"]["phone"],
        name="Suresh (rider)",
        calls=_no_answer_first(),
        keys=[press("rider_assignment", "options", "1")],
        hangup_after=120,
    )
    await demo.phone(
        RIDER["503"]["phone"], name="Arjun (rider)", whatsapp_reply={"after": 15, "text": "OK"}
    )
    await demo.phone(ADMIN, name="Admin on duty", answer_after=3, hangup_after=40)


# ---------------------------------------------------------------- the orders


def _order(
    order_id: str, store: str, customer: str, amount: int, items: list[Any]
) -> dict[str, Any]:
    return {
        "id": order_id,
        "store_id": store,
        "customer_id": customer,
        "rider_id": None,
        "amount": amount,
        "payment_method": "upi",
        "status": "placed",
        "address": "Flat 4, Sai Krupa, Baner, Pune 411045",
        "items": items,
    }


ORDERS: tuple[dict[str, Any], ...] = (
    _order("1001", "67", "890", 325, [{"name": "Atta 5kg", "quantity": 1, "price": 245},
                                      {"name": "Toor Dal", "quantity": 1, "price": 80}]),
    _order("1002", "68", "891", 540, [{"name": "Kaju Katli", "quantity": 1, "price": 540}]),
    _order("1003", "69", "892", 180, [{"name": "Poha", "quantity": 2, "price": 90}]),
    _order("1004", "70", "890", 410, [{"name": "Black Forest", "quantity": 1, "price": 410}]),
)  # fmt: skip
NEW_ADDRESS = "Flat 9, Green Park Society, Aundh, Pune 411007"


async def new_order(demo: Demo, order: Mapping[str, Any]) -> None:
    """The backend tells the service about a new order (only ids: the service looks up the
    store's phone and language on the backend, as in production)."""
    await demo.put_order(order)
    payload = {k: order[k] for k in ("store_id", "customer_id", "amount", "items", "address")}
    await demo.event(order["id"], "order/new", {**payload, "payment_method": "upi"})


PICKUP_ADDRESS = {"67": "Shop 3, Kothrud Market", "68": "Lajpat Nagar Main Road"}


async def assign(demo: Demo, order: str, rider: str, attempt: int = 1) -> None:
    """The backend assigns ``rider``: ids and what the rider is told (the service looks up the
    rider's phone). An event id, as a reassignment may repeat the same content."""
    spec = next(o for o in ORDERS if o["id"] == order)
    payload = {
        "rider_id": rider,
        "pickup_name": STORE[spec["store_id"]]["name"],
        "pickup_address": PICKUP_ADDRESS[spec["store_id"]],
        "drop_area": "Baner",
        "amount": spec["amount"],
        "earning": 45,
    }
    await demo.event(order, "rider/assigned", payload, event_id=f"{order}-r{attempt}")


async def story_1001(demo: Demo) -> None:
    """WhatsApp vendor; a rider who rejects and a second who accepts."""
    await new_order(demo, ORDERS[0])
    await demo.escalation_ended("vendor_order_1001")
    await assign(demo, "1001", "501")
    await demo.escalation_ended("rider_assign_1001", phone=RIDER["501"]["phone"])
    await demo.outcome("1001", "rider.rejected")
    await assign(demo, "1001", "502", attempt=2)  # the backend reassigns
    await demo.escalation_ended("rider_assign_1001", phone=RIDER["502"]["phone"])
    await masked_call(demo, "1001", CUSTOMER["890"]["phone"], RIDER["502"]["phone"])
    await demo.event("1001", "order/delivered", {})


async def story_1002(demo: Demo) -> None:
    """IVR vendor (20 minutes); a rider on WhatsApp; an address change confirmed by key."""
    await asyncio.sleep(15 / demo.scale)
    await new_order(demo, ORDERS[1])
    await demo.escalation_ended("vendor_order_1002")
    await assign(demo, "1002", "503")
    await demo.escalation_ended("rider_assign_1002", phone=RIDER["503"]["phone"])
    # Arjun is riding now: he reads no WhatsApp, misses the first ring, presses 1 on the IVR.
    await demo.phone(
        RIDER["503"]["phone"],
        name="Arjun (rider)",
        calls=_no_answer_first(),
        keys=[press("address_change", "confirm_options", "1")],
        hangup_after=120,
    )
    await demo.event("1002", "address/changed", {"address": NEW_ADDRESS, "rider_id": "503"})
    await demo.escalation_ended("address_update_1002")
    await demo.event("1002", "order/delivered", {})


async def story_1003(demo: Demo) -> None:
    """A vendor who rejects on the IVR (out of stock)."""
    await asyncio.sleep(30 / demo.scale)
    await new_order(demo, ORDERS[2])
    await demo.escalation_ended("vendor_order_1003")
    # Kavya gives a missed call; she is called back and presses 1 to repeat her last order.
    kavya = CUSTOMER["892"]["phone"]
    await demo.phone(kavya, name="Kavya (customer)", keys=[press("ordering", "options", "1")])
    await demo.sim("POST", f"phones/{kavya}/call", {"to": MISSED_CALL_NUMBER, "missed": True})
    demo.notes.append(("1003", "Kavya gave a missed call"))
    await demo.call_done("1003", "missed_call_callback")


async def story_1004(demo: Demo) -> None:
    """A vendor who never answers: the admin on duty is reached."""
    await asyncio.sleep(45 / demo.scale)
    await new_order(demo, ORDERS[3])
    await demo.escalation_ended("vendor_order_1004")


STORIES: tuple[Callable[[Demo], Awaitable[None]], ...] = (
    story_1001,
    story_1002,
    story_1003,
    story_1004,
)


async def run_stories(demo: Demo) -> list[str]:
    """Run every order's story side by side; returns the problems (empty when all went by)."""
    await script_phones(demo)
    results = await asyncio.gather(*(story(demo) for story in STORIES), return_exceptions=True)
    problems: list[str] = []
    for story, result in zip(STORIES, results, strict=True):
        if isinstance(result, ScenarioError | httpx.HTTPError):
            problems.append(f"{story.__name__}: {result}")
        elif isinstance(result, BaseException):
            raise result
    return problems
