"""API key routes: create (admin; the key is returned once), list, revoke, and ``/auth/me``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from exocomms.auth import repo, service
from exocomms.auth.deps import PrincipalDep, require_scope
from exocomms.auth.model import Scope
from exocomms.web.deps import RuntimeDep

router = APIRouter(prefix="/auth", tags=["auth"])
admin = [Depends(require_scope(Scope.ADMIN))]


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class KeyIn(_Model):
    """A key to create."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    name: str = Field(min_length=1, max_length=100, pattern=r"\S")
    scopes: list[Scope] = Field(min_length=1, max_length=3)


class KeyOut(_Model):
    """A key as listed (no secret)."""

    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    created_by: str
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, row: repo.KeyRow) -> KeyOut:
        """From a stored row."""
        return cls(
            id=row.id,
            name=row.name,
            prefix=f"exo_{row.prefix}",
            scopes=row.scopes,
            created_at=row.created_at,
            created_by=row.created_by,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
        )


class CreatedKeyOut(KeyOut):
    """A new key, with the key itself: store it now, it is never shown again."""

    key: str


class KeyList(_Model):
    """Keys, oldest first."""

    items: list[KeyOut]


class MeOut(_Model):
    """Who the presented key belongs to."""

    name: str
    key_id: int | None
    scopes: list[str]


@router.post("/keys", status_code=201, response_model=CreatedKeyOut, dependencies=admin)
async def create_key(body: KeyIn, runtime: RuntimeDep, principal: PrincipalDep) -> CreatedKeyOut:
    """Create a key with scopes; the response carries the key once."""
    row, key = await service.create_key(runtime, body.name, body.scopes, principal.actor)
    return CreatedKeyOut(**KeyOut.of(row).model_dump(), key=key)


@router.get("/keys", response_model=KeyList, dependencies=admin)
async def list_keys(
    runtime: RuntimeDep,
    include_revoked: Annotated[bool, Query(alias="includeRevoked")] = True,
) -> KeyList:
    """Every key without its secret."""
    rows = await service.list_keys(runtime, include_revoked=include_revoked)
    return KeyList(items=[KeyOut.of(row) for row in rows])


@router.delete("/keys/{key_id}", status_code=204, dependencies=admin)
async def revoke_key(
    key_id: Annotated[int, Path(ge=1)], runtime: RuntimeDep, principal: PrincipalDep
) -> Response:
    """Revoke a key (effective on its next request)."""
    await service.revoke_key(runtime, key_id, principal.actor)
    return Response(status_code=204)


@router.get("/me", response_model=MeOut, dependencies=[Depends(require_scope(Scope.READ_ONLY))])
async def me(principal: PrincipalDep) -> MeOut:
    """The name and scopes of the presented key (any valid key may ask)."""
    return MeOut(name=principal.name, key_id=principal.key_id, scopes=sorted(principal.scopes))
