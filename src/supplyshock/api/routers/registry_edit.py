"""``/registry/drafts`` and ``/registry/changes``: editors' drafts, approvals, and the change feed.

Editors (token role ``editor``) record drafts; a draft is published only when a second,
different editor approves it. Every body is validated by the registry's own domain models, so
bad input gets a 422 located at its field, and nothing is written. The feed lists published
changes as JSON or Atom to any authenticated caller. See docs/registry.md.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated
from xml.etree import ElementTree as ET

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from supplyshock.api.deps import PrincipalDep, SessionDep
from supplyshock.domain.controls import (
    CarveOut,
    Measure,
    MeasureEvent,
    Observation,
    PolicyAct,
    Source,
)
from supplyshock.services import registry_drafts as drafts_service
from supplyshock.services import registry_store as store
from supplyshock.services.registry_store import ChangePublic

router = APIRouter(prefix="/registry", tags=["registry editing"])

Id = Annotated[str, Path(min_length=1, max_length=200)]
ATOM = "http://www.w3.org/2005/Atom"


@router.post("/drafts/sources", status_code=201, response_model=ChangePublic)
def draft_source(data: Source, who: PrincipalDep, session: SessionDep) -> ChangePublic:
    return drafts_service.create_draft(session=session, actor=who, entity="source", body=data)


@router.post("/drafts/acts", status_code=201, response_model=ChangePublic)
def draft_act(data: PolicyAct, who: PrincipalDep, session: SessionDep) -> ChangePublic:
    return drafts_service.create_draft(session=session, actor=who, entity="act", body=data)


@router.post("/drafts/measures", status_code=201, response_model=ChangePublic)
def draft_measure(data: Measure, who: PrincipalDep, session: SessionDep) -> ChangePublic:
    return drafts_service.create_draft(session=session, actor=who, entity="measure", body=data)


@router.post("/drafts/observations", status_code=201, response_model=ChangePublic)
def draft_observation(data: Observation, who: PrincipalDep, session: SessionDep) -> ChangePublic:
    return drafts_service.create_draft(session=session, actor=who, entity="observation", body=data)


@router.post(
    "/drafts/measures/{measure_id}/carve-outs", status_code=201, response_model=ChangePublic
)
def draft_carve_out(
    measure_id: Id, data: CarveOut, who: PrincipalDep, session: SessionDep
) -> ChangePublic:
    return drafts_service.create_draft(
        session=session, actor=who, entity="carve_out", body=data, measure_id=measure_id
    )


@router.post("/drafts/measures/{measure_id}/events", status_code=201, response_model=ChangePublic)
def draft_event(
    measure_id: Id, data: MeasureEvent, who: PrincipalDep, session: SessionDep
) -> ChangePublic:
    return drafts_service.create_draft(
        session=session, actor=who, entity="event", body=data, measure_id=measure_id
    )


@router.post(
    "/drafts/measures/{measure_id}/carve-outs/{carve_out_id}/events",
    status_code=201,
    response_model=ChangePublic,
)
def draft_carve_out_event(
    measure_id: Id, carve_out_id: Id, data: MeasureEvent, who: PrincipalDep, session: SessionDep
) -> ChangePublic:
    return drafts_service.create_draft(
        session=session,
        actor=who,
        entity="event",
        body=data,
        measure_id=measure_id,
        carve_out_id=carve_out_id,
    )


@router.get("/drafts", response_model=list[ChangePublic], summary="Drafts awaiting a decision")
def drafts(who: PrincipalDep, session: SessionDep) -> list[ChangePublic]:
    return drafts_service.list_drafts(session=session, actor=who)


@router.post("/drafts/{seq}/approve", response_model=ChangePublic)
def approve(
    seq: Annotated[int, Path(ge=1)], who: PrincipalDep, session: SessionDep
) -> ChangePublic:
    return drafts_service.approve_draft(session=session, actor=who, draft_seq=seq)


class Rejection(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: Annotated[str, Field(min_length=1, max_length=2000)]


@router.post("/drafts/{seq}/reject", response_model=ChangePublic)
def reject(
    seq: Annotated[int, Path(ge=1)], data: Rejection, who: PrincipalDep, session: SessionDep
) -> ChangePublic:
    return drafts_service.reject_draft(
        session=session, actor=who, draft_seq=seq, reason=data.reason
    )


class ChangesPage(BaseModel):
    items: list[ChangePublic]
    next: int | None = Field(description="Pass as `after` for the next page; null on the last.")


@router.get("/changes", response_model=ChangesPage, summary="Published registry changes")
def changes(
    _who: PrincipalDep,
    session: SessionDep,
    since: Annotated[dt.datetime | None, Query(description="Recorded at or after (ISO).")] = None,
    after: Annotated[int, Query(ge=0, description="The `next` of the previous page.")] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ChangesPage:
    items = store.list_changes(session=session, since=since, after=after, limit=limit + 1)
    more = len(items) > limit
    items = items[:limit]
    return ChangesPage(items=items, next=items[-1].seq if more and items else None)


@router.get(
    "/changes.atom",
    response_class=Response,
    responses={200: {"content": {"application/atom+xml": {}}}},
    summary="Published registry changes as an Atom feed (newest first)",
)
def changes_atom(
    _who: PrincipalDep,
    session: SessionDep,
    since: Annotated[dt.datetime | None, Query(description="Recorded at or after (ISO).")] = None,
) -> Response:
    items = store.list_changes(session=session, since=since, limit=100_000)[-100:][::-1]
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    ET.SubElement(feed, f"{{{ATOM}}}title").text = "supplyshock registry changes"
    ET.SubElement(feed, f"{{{ATOM}}}id").text = "urn:supplyshock:registry:changes"
    updated = items[0].recorded_at if items else dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = updated.isoformat()
    for ch in items:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        ET.SubElement(entry, f"{{{ATOM}}}id").text = f"urn:supplyshock:registry:change:{ch.seq}"
        where = f" of {ch.parent}" if ch.parent else ""
        title = f"{ch.entity.replace('_', '-')} {ch.key}{where} published"
        ET.SubElement(entry, f"{{{ATOM}}}title").text = title
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = ch.recorded_at.isoformat()
        author = ET.SubElement(entry, f"{{{ATOM}}}author")
        ET.SubElement(author, f"{{{ATOM}}}name").text = ch.editor
        summary = ch.body.get("summary") or ch.body.get("title") or ch.key
        ET.SubElement(entry, f"{{{ATOM}}}summary").text = str(summary)
        content = ET.SubElement(entry, f"{{{ATOM}}}content", type="text")
        content.text = json.dumps(ch.body, sort_keys=True, default=str)
    body = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return Response(body, media_type="application/atom+xml")
