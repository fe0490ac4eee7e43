"""The CRM port: what lead calls need from a CRM, and how the runtime gets one.

``EXOCOMMS_CRM_PROVIDER=zoho`` selects the Zoho CRM adapter (:mod:`exocomms.leads.zoho`);
``none`` (the default) uses :class:`NullCrm`, which stores nothing and says so. Tests put
their own port on ``runtime.crm``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from exocomms.errors import NotSupported
from exocomms.leads.model import NewLead

if TYPE_CHECKING:
    from exocomms.runtime import Runtime


@runtime_checkable
class CrmPort(Protocol):
    """A CRM that holds leads and notes."""

    name: str

    async def upsert_lead(self, lead: NewLead) -> str:
        """Create or update the lead (matched by phone); returns the CRM's record id.

        Raises:
            ProviderAuthError: our credentials were refused.
            RateLimited: slow down (``retry_after`` seconds).
            InvalidRequest: the CRM rejected the record.
            ProviderUnavailable: 5xx, timeout, connection error.
        """
        ...

    async def add_note(self, crm_id: str, title: str, body: str) -> None:
        """Attach a note to the lead ``crm_id`` (same errors as :meth:`upsert_lead`)."""
        ...


class NullCrm:
    """No CRM configured: leads are kept here only."""

    name = "none"

    async def upsert_lead(self, lead: NewLead) -> str:
        """Always :class:`~exocomms.errors.NotSupported`."""
        raise NotSupported("no CRM is configured (EXOCOMMS_CRM_PROVIDER)")

    async def add_note(self, crm_id: str, title: str, body: str) -> None:
        """Always :class:`~exocomms.errors.NotSupported`."""
        raise NotSupported("no CRM is configured (EXOCOMMS_CRM_PROVIDER)")


def build_crm(runtime: Runtime) -> CrmPort:
    """The CRM the settings ask for, on the runtime's shared HTTP client."""
    if runtime.settings.crm_provider == "zoho":
        from exocomms.leads.zoho import ZohoCrm, credentials_loader

        settings = runtime.settings
        return ZohoCrm(
            runtime.http,
            accounts_url=settings.zoho_accounts_url,
            api_url=settings.zoho_api_url,
            credentials=credentials_loader(runtime),
            clock=runtime.clock,
            timeout=settings.zoho_timeout_seconds,
        )
    return NullCrm()


def crm_for(runtime: Runtime) -> CrmPort:
    """``runtime.crm``, built from the settings on first use (kept: it caches the token)."""
    crm = runtime.crm
    if not isinstance(crm, CrmPort):
        crm = runtime.crm = build_crm(runtime)
    return crm
