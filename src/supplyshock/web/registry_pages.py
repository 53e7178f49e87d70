"""The registry editor's page: drafts awaiting a second editor, and forms for a source or event.

The forms call the same services as ``/api/v1/registry/drafts``; an error is shown at its
field (the service's ``body.sources.0`` is the form's ``sources``) and nothing is written.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.responses import Response

from supplyshock.exchange.errors import ExchangeError
from supplyshock.exchange.schemas import Principal
from supplyshock.http.transactions import database_slot
from supplyshock.services import registry_drafts as drafts_service
from supplyshock.services import registry_store as store
from supplyshock.web.common import (
    FormDep,
    field_errors,
    principal_from_cookie,
    render,
    unit_of_work,
)

router = APIRouter(
    prefix="/registry/edit",
    include_in_schema=False,
    dependencies=[Depends(database_slot, scope="function")],
)
Seq = Annotated[int, Path(ge=1)]
EVENT_KINDS = (
    "in_force amended expanded relaxed tightened suspended resumed extended lifted expired "
    "announced"
).split()
SOURCE_FIELDS = ("id", "publisher", "title", "published", "url")
EVENT_FIELDS = ("id", "kind", "effective", "known", "until", "summary", "note")


def _page(
    request: Request,
    session: Session,
    who: Principal,
    *,
    errors: dict[str, dict[str, str]] | None = None,
    forms: dict[str, dict[str, str]] | None = None,
    notice: str | None = None,
    refused: bool = False,
    status_code: int = 200,
) -> Response:
    reg = store.published_registry(session=session)
    return render(
        request,
        "registry_edit.html",
        status_code=status_code,
        who=who,
        drafts=drafts_service.list_drafts(session=session, actor=who),
        measure_options=[(m.id, f"{m.id}: {m.title}") for m in reg.measures],
        kind_options=[(k, k) for k in EVENT_KINDS],
        errors=errors or {"source": {}, "event": {}},
        forms=forms or {"source": {}, "event": {}},
        notice=notice,
        refused=refused,
    )


def _signed_in(request: Request, session: Session) -> Principal | None:
    return principal_from_cookie(request, session, role="editor")


def _to_signin() -> Response:
    return RedirectResponse("/exchange/signin", status_code=303)


@router.get("")
def editor_page(
    request: Request,
    drafted: Annotated[int | None, Query(ge=1)] = None,
    published: Annotated[int | None, Query(ge=1)] = None,
    rejected: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    with unit_of_work(request) as uow:
        who = _signed_in(request, uow.session)
        if who is None:
            return _to_signin()
        notice = None
        if drafted:
            notice = f"Draft {drafted} recorded. It is published once a second editor approves it."
        elif published:
            # The change just published (the redirect names its seq), to say what it was.
            done = store.list_changes(session=uow.session, after=published - 1, limit=1)
            if done and done[0].seq == published:
                notice = f"Change {published} published: {_what(done[0])}. Checks use it now."
        elif rejected:
            notice = f"Draft closed unpublished (change {rejected})."
        return _page(request, uow.session, who, notice=notice)


def _what(change: store.ChangePublic) -> str:
    return f"{change.entity} {change.key}" + (f" of {change.parent}" if change.parent else "")


def _located(exc: Exception, fields: tuple[str, ...]) -> dict[str, str]:
    """Errors by form field, from the body's validation or the registry's reference checks."""
    if isinstance(exc, ValidationError):
        out = field_errors(exc)
        # A check across fields ("'until' must be after 'effective'") belongs at the first
        # field it names, where the editor will fix it, not above the form.
        msg = out.get("__all__", "")
        named = next((f for f in fields if f"'{f}'" in msg), None)
        if named and named not in out:
            out[named] = out.pop("__all__")
        return {k: _plain(v) for k, v in out.items()}
    out = {}
    for d in getattr(exc, "details", ()):
        loc = d["loc"][1:] if d["loc"][:1] == ["body"] else d["loc"]
        out.setdefault(loc[0] if loc else "__all__", d["message"])
    return out or {"__all__": getattr(exc, "message", str(exc))}


def _plain(message: str) -> str:
    """Pydantic's wording, where an editor would not know what to type, in the form's terms."""
    if message.startswith("Input should be a valid date"):
        return "not a date: write YYYY-MM-DD, e.g. 2026-11-30"
    if message.startswith("List should have at least 1 item"):
        return "name at least one source id"
    return message


def _draft(request: Request, form: dict[str, str], kind: str) -> Response:
    fields = SOURCE_FIELDS if kind == "source" else EVENT_FIELDS
    body: dict[str, Any] = {k: form[k].strip() for k in fields if form.get(k, "").strip()}
    if kind == "source":
        body["official"] = form.get("official") == "on"
    else:
        body["sources"] = [s.strip() for s in form.get("sources", "").split(",") if s.strip()]
    with unit_of_work(request) as uow:
        who = _signed_in(request, uow.session)
        if who is None:
            return _to_signin()
        try:
            d = drafts_service.create_draft(
                session=uow.session,
                actor=who,
                entity="source" if kind == "source" else "event",
                body=body,
                measure_id=form.get("measure_id") if kind == "event" else None,
            )
        except (ValidationError, ExchangeError) as exc:
            uow.rollback()
            errors: dict[str, dict[str, str]] = {"source": {}, "event": {}}
            errors[kind] = _located(exc, fields)
            forms = {"source": {}, "event": {}, kind: form}
            return _page(request, uow.session, who, errors=errors, forms=forms, status_code=422)
        uow.commit()
    return RedirectResponse(f"/registry/edit?drafted={d.seq}", status_code=303)


@router.post("/sources")
def draft_source(request: Request, form: FormDep) -> Response:
    return _draft(request, form, "source")


@router.post("/events")
def draft_event(request: Request, form: FormDep) -> Response:
    return _draft(request, form, "event")


@router.post("/{seq}/{decision}")
def decide(request: Request, seq: Seq, decision: str, form: FormDep) -> Response:
    with unit_of_work(request) as uow:
        who = _signed_in(request, uow.session)
        if who is None:
            return _to_signin()
        try:
            if decision == "approve":
                done = drafts_service.approve_draft(session=uow.session, actor=who, draft_seq=seq)
            elif decision == "reject":
                reason = form.get("reason", "").strip() or "rejected"
                done = drafts_service.reject_draft(
                    session=uow.session, actor=who, draft_seq=seq, reason=reason
                )
            else:
                return Response(status_code=404)
        except ExchangeError as exc:
            uow.rollback()
            notice = f"Draft {seq} was not {decision}d: {exc.message}."
            return _page(request, uow.session, who, notice=notice, refused=True, status_code=409)
        uow.commit()
    return RedirectResponse(f"/registry/edit?{done.status}={done.seq}", status_code=303)
