"""The IVR catalogue: one module per IVR, data only. Every definition is validated on import,
so a missing translation or a dangling menu fails at start-up, not on a live call.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from exocomms.errors import NotFound
from exocomms.ivr.flows import (
    address_change,
    customer_delay,
    customer_status,
    inbound_customer,
    inbound_message,
    inbound_rider,
    inbound_vendor,
    ordering,
    rider_assignment,
    rider_delivery_alert,
    vendor_order,
    vendor_reminder,
)
from exocomms.ivr.model import Ivr

IVRS: Mapping[str, Ivr] = MappingProxyType(
    {
        ivr.name: ivr
        for ivr in (
            vendor_order.IVR,
            vendor_reminder.IVR,
            rider_assignment.IVR,
            rider_delivery_alert.IVR,
            address_change.IVR,
            customer_status.IVR,
            customer_delay.IVR,
            inbound_vendor.IVR,
            inbound_rider.IVR,
            inbound_customer.IVR,
            inbound_message.IVR,
            ordering.IVR,
        )
    }
)

for _ivr in IVRS.values():
    _ivr.validate()


def get(name: str) -> Ivr:
    """The IVR called ``name``.

    Raises:
        NotFound: no such IVR.
    """
    try:
        return IVRS[name]
    except KeyError:
        raise NotFound(f"unknown IVR {name!r}", details={"known": sorted(IVRS)}) from None


def names() -> list[str]:
    """All IVR names, sorted."""
    return sorted(IVRS)
