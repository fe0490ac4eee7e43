"""``GET /templates`` and ``GET /templates/{purpose}?language=hi|en``: call scripts."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from exocomms.auth.deps import require_scope
from exocomms.auth.model import Scope
from exocomms.config.service import current
from exocomms.errors import NotFound
from exocomms.templates.scripts import LANGUAGES, PURPOSES, SCRIPTS
from exocomms.web.deps import RuntimeDep

router = APIRouter(
    prefix="/templates", tags=["templates"], dependencies=[Depends(require_scope(Scope.READ_ONLY))]
)


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class TemplateSummary(_Model):
    """One purpose and what it offers."""

    purpose: str
    max_duration: int
    priority: int
    languages: list[str]


class TemplateList(_Model):
    """Every purpose with a call script."""

    items: list[TemplateSummary]


class TemplateOut(_Model):
    """A call script in one language; ``{name}`` placeholders are listed in ``variables``."""

    purpose: str
    language: str
    greeting: str
    script: str
    closing: str
    max_duration: int
    priority: int
    variables: list[str]


@router.get("", response_model=TemplateList)
async def list_templates() -> TemplateList:
    """The nine purposes with their time limit, priority and languages."""
    return TemplateList(
        items=[
            TemplateSummary(
                purpose=s.purpose,
                max_duration=s.max_duration,
                priority=s.priority,
                languages=list(s.texts),
            )
            for s in SCRIPTS.values()
        ]
    )


@router.get("/{purpose}", response_model=TemplateOut)
async def get_template(
    purpose: Annotated[str, Path(max_length=64)],
    runtime: RuntimeDep,
    language: Annotated[Literal["hi", "en"] | None, Query()] = None,
) -> TemplateOut:
    """The script of ``purpose``; without ``language``, the configured default language
    (Hindi where it is one we have no script in)."""
    found = SCRIPTS.get(purpose)
    if found is None:
        raise NotFound(f"no call script for {purpose!r}", details={"purposes": list(PURPOSES)})
    if language is None:
        default = (await current(runtime)).general.default_language
        language = "en" if default == "en" else "hi"
    assert language in LANGUAGES
    text = found.texts[language]
    return TemplateOut(
        purpose=purpose,
        language=language,
        greeting=text.greeting,
        script=text.script,
        closing=text.closing,
        max_duration=found.max_duration,
        priority=found.priority,
        variables=text.variables(),
    )
