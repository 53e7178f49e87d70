"""``/crises``: the operator opens and closes crises and extends their part catalogues; every
authenticated caller can read them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status
from pydantic import BaseModel, ConfigDict, Field

from supplyshock.api.deps import PrincipalDep, SessionDep
from supplyshock.api.pagination import Page, PageDep, paginate
from supplyshock.exchange import catalogue, crises
from supplyshock.exchange.schemas import (
    MAX_CATALOGUE,
    CatalogueEntryIn,
    CatalogueEntryPublic,
    CrisisCreate,
    CrisisPublic,
)

router = APIRouter(prefix="/crises", tags=["crises"])

CrisisId = Annotated[str, Path(min_length=1, max_length=32)]


@router.post(
    "",
    response_model=CrisisPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Open a crisis (operator)",
)
def open_crisis(data: CrisisCreate, session: SessionDep, who: PrincipalDep) -> CrisisPublic:
    return crises.open_crisis(session=session, actor=who, data=data)


@router.get("", response_model=Page[CrisisPublic], summary="List crises, by start date")
def list_crises(session: SessionDep, _who: PrincipalDep, page: PageDep) -> Page[CrisisPublic]:
    return paginate(crises.list_crises(session=session), page, lambda c: c.id)


@router.get("/{crisis_id}", response_model=CrisisPublic, summary="One crisis")
def get_crisis(session: SessionDep, _who: PrincipalDep, crisis_id: CrisisId) -> CrisisPublic:
    return crises.get_crisis(session=session, crisis_id=crisis_id)


@router.post(
    "/{crisis_id}/close",
    response_model=CrisisPublic,
    summary="Close a crisis and its open listings now (operator)",
)
def close_crisis(session: SessionDep, who: PrincipalDep, crisis_id: CrisisId) -> CrisisPublic:
    return crises.close_crisis(session=session, actor=who, crisis_id=crisis_id)


class CatalogueExtension(BaseModel):
    """Parts to add to a crisis's catalogue; parts already there (same family) are skipped."""

    model_config = ConfigDict(extra="forbid")
    entries: Annotated[list[CatalogueEntryIn], Field(min_length=1, max_length=MAX_CATALOGUE)]


@router.get(
    "/{crisis_id}/catalogue",
    response_model=Page[CatalogueEntryPublic],
    summary="The parts listings in this crisis may name, with their families",
)
def list_catalogue(
    session: SessionDep, _who: PrincipalDep, crisis_id: CrisisId, page: PageDep
) -> Page[CatalogueEntryPublic]:
    entries = catalogue.list_catalogue(session=session, crisis_id=crisis_id)
    return paginate(entries, page, lambda e: f"{e.part_family}|{e.maker}|{e.part_number}")


@router.post(
    "/{crisis_id}/catalogue",
    response_model=list[CatalogueEntryPublic],
    summary="Add parts to a crisis's catalogue (operator); answers the entries that were new",
)
def extend_catalogue(
    data: CatalogueExtension, session: SessionDep, who: PrincipalDep, crisis_id: CrisisId
) -> list[CatalogueEntryPublic]:
    return catalogue.extend_catalogue(
        session=session, actor=who, crisis_id=crisis_id, entries=data.entries
    )
