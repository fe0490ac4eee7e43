"""Routes: ``/config`` (document, sections, features, audit, credentials), ``/exotel/auth/check``.

Reads need any valid key (``read-only`` or better); changes need ``admin``. Every change is a
JSON Merge Patch of the stored value and is audited with the key's name as the actor. The
document ``GET /config`` returns can be sent back to ``PUT /config`` unchanged.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool
from pydantic.alias_generators import to_camel

from exocomms.auth.deps import PrincipalDep, require_scope
from exocomms.auth.model import Scope
from exocomms.config import credentials, service
from exocomms.web.deps import RuntimeDep

router = APIRouter(prefix="/config", tags=["config"])
exotel_router = APIRouter(prefix="/exotel", tags=["config"])
reader = [Depends(require_scope(Scope.READ_ONLY))]
admin = [Depends(require_scope(Scope.ADMIN))]
JsonObject = Annotated[dict[str, Any], Body(description="A JSON Merge Patch (RFC 7396)")]


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class FeatureIn(_Model):
    """Turn a feature on or off."""

    enabled: StrictBool


class CredentialIn(_Model):
    """A credential's new value (write-only: never returned)."""

    value: str = Field(min_length=1, max_length=credentials.MAX_LENGTH)


class CredentialOut(_Model):
    """A credential as shown: whether it is set, and a masked hint."""

    name: str
    description: str
    configured: bool
    hint: str | None
    key_id: str | None
    needs_rotation: bool
    readable: bool
    updated_at: datetime | None
    updated_by: str | None


class CredentialList(_Model):
    """Every known credential."""

    items: list[CredentialOut]


class AuditOut(_Model):
    """One change: who, when, which section, before and after (credentials redacted)."""

    id: int
    at: datetime
    actor: str
    section: str
    before: Any
    after: Any


class AuditPage(_Model):
    """Changes, newest first; pass ``nextBefore`` as ``before`` for older ones."""

    items: list[AuditOut]
    next_before: int | None


class AuthCheckOut(_Model):
    """Whether Exotel accepts our credentials (the token is never echoed)."""

    valid: bool | None
    account_sid: str
    checked_at: datetime
    detail: str
    source: str


@router.get("", dependencies=reader)
async def get_config(runtime: RuntimeDep) -> dict[str, Any]:
    """The whole run-time configuration."""
    return (await service.current(runtime)).to_dict()


@router.put("", dependencies=admin)
async def put_config(
    patch: JsonObject, runtime: RuntimeDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Merge-patch any sections; 422 with each bad field's path, and nothing stored, if invalid."""
    return (await service.update(runtime, patch, principal.actor)).to_dict()


def _section_routes(section: str) -> None:
    async def get_section(runtime: RuntimeDep) -> dict[str, Any]:
        return (await service.current(runtime)).section(section)

    async def put_section(
        patch: JsonObject, runtime: RuntimeDep, principal: PrincipalDep
    ) -> dict[str, Any]:
        config = await service.update_section(runtime, section, patch, principal.actor)
        return config.section(section)

    get_section.__doc__ = f"The ``{section}`` section."
    put_section.__doc__ = f"Merge-patch the ``{section}`` section (admin)."
    router.add_api_route(
        f"/{section}", get_section, methods=["GET"], dependencies=reader, name=f"get_{section}"
    )
    router.add_api_route(
        f"/{section}", put_section, methods=["PUT"], dependencies=admin, name=f"put_{section}"
    )


for _section in ("timing", "retry", "general"):
    _section_routes(_section)


@router.get("/features", dependencies=reader)
async def get_features(runtime: RuntimeDep) -> dict[str, bool]:
    """Every feature flag."""
    return (await service.current(runtime)).features.to_dict()


@router.put("/features/{feature}", dependencies=admin)
async def put_feature(
    feature: Annotated[str, Path(max_length=64)],
    body: FeatureIn,
    runtime: RuntimeDep,
    principal: PrincipalDep,
) -> dict[str, bool]:
    """Turn one feature on or off; unknown feature → 404 listing the features."""
    config = await service.set_feature(runtime, feature, body.enabled, principal.actor)
    return config.features.to_dict()


@router.get("/audit", response_model=AuditPage, dependencies=reader)
async def get_audit(
    runtime: RuntimeDep,
    section: Annotated[str | None, Query(max_length=64)] = None,
    before: Annotated[int | None, Query(gt=0)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> AuditPage:
    """Who changed what and when, newest first (filter by ``section``)."""
    rows = await service.audit_log(runtime, section=section, before_id=before, limit=limit)
    items = [AuditOut(**vars(row)) for row in rows]
    next_before = rows[-1].id if len(rows) == limit else None
    return AuditPage(items=items, next_before=next_before)


@router.get("/credentials", response_model=CredentialList, dependencies=reader)
async def list_credentials(runtime: RuntimeDep) -> CredentialList:
    """Every credential name with ``configured`` and a masked hint — never a value."""
    infos = await credentials.list_credentials(runtime)
    return CredentialList(items=[CredentialOut(**vars(info)) for info in infos])


@router.put("/credentials/{name}", response_model=CredentialOut, dependencies=admin)
async def put_credential(
    name: Annotated[str, Path(max_length=64)],
    body: CredentialIn,
    runtime: RuntimeDep,
    principal: PrincipalDep,
) -> CredentialOut:
    """Store a credential encrypted (replacing any); answers with its masked hint."""
    info = await credentials.put_credential(runtime, name, body.value, principal.actor)
    return CredentialOut(**vars(info))


@router.delete("/credentials/{name}", status_code=204, dependencies=admin)
async def delete_credential(
    name: Annotated[str, Path(max_length=64)], runtime: RuntimeDep, principal: PrincipalDep
) -> Response:
    """Forget a stored credential (the settings' value, if any, applies again)."""
    await credentials.delete_credential(runtime, name, principal.actor)
    return Response(status_code=204)


@exotel_router.get("/auth/check", response_model=AuthCheckOut, dependencies=reader)
async def exotel_auth_check(runtime: RuntimeDep) -> AuthCheckOut:
    """Ask Exotel whether the configured credentials work (``valid`` null: could not ask)."""
    return AuthCheckOut(**vars(await credentials.check_exotel(runtime)))


def routers() -> list[APIRouter]:
    """This slice's routers (config, Exotel check, API keys, call-script templates)."""
    from exocomms.auth import api as auth_api  # here: one import line in web/routes.py
    from exocomms.templates import api as templates_api

    return [router, exotel_router, auth_api.router, templates_api.router]
