"""Editors' drafts of registry changes, and their approval by a second editor.

A draft is a row of ``registry_changes``; approving or rejecting it appends a row naming it
(services/registry_store.py has the model). A draft must fit the published registry: the body
is checked by the registry's own models, then the registry with the draft applied is checked
for references. Every step is written to the audit log with its editor. See docs/registry.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from supplyshock.domain import controls as c
from supplyshock.exchange import audit
from supplyshock.exchange.errors import Conflict, Forbidden, NotFound, RuleViolation
from supplyshock.exchange.schemas import Principal
from supplyshock.services.registry_store import (
    ENTITY_MODELS,
    SECTIONS,
    ChangePublic,
    Entity,
    _children_list,
    _published,
    _put,
    assemble,
    published_registry,
)
from supplyshock.store.models import RegistryChange, utcnow


class DraftInvalid(RuleViolation):
    """A draft the registry refuses; ``details`` locate each problem (``body.sources.0``)."""

    code = "invalid_draft"

    def __init__(self, details: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(f"{d['field']}: {d['message']}" for d in details))
        self.details = details


def require_editor(actor: Principal) -> None:
    if actor.role != "editor":
        raise Forbidden("only editors may record registry changes")


def _parent(entity: str, measure_id: str | None, carve_out_id: str | None) -> str:
    if entity == "carve_out":
        return measure_id or ""
    if entity == "event":
        return f"{measure_id}/{carve_out_id}" if carve_out_id else measure_id or ""
    return ""


def _check(session: Session, entity: str, parent: str, body: dict[str, Any]) -> None:
    """Raise :class:`DraftInvalid` unless the registry with this change applied validates.

    Only problems inside the change are reported (the published registry is valid), each
    located in the request: ``body.<path>``, or ``measure_id``/``carve_out_id``.
    """
    data = assemble(_published(session, None))
    problems: list[dict[str, Any]] = []
    if entity in SECTIONS:
        section = SECTIONS[entity]
        where: tuple[Any, ...] = (section, _put(data[section], str(body.get("id")), body))
    else:
        mid, _, cid = parent.partition("/")
        mi = next((i for i, m in enumerate(data["measures"]) if m.get("id") == mid), None)
        if mi is None:
            raise DraftInvalid([_problem(("measure_id",), f"unknown measure {mid!r}", "ref")])
        base: tuple[Any, ...] = ("measures", mi)
        target = _children_list({mid: data["measures"][mi]}, entity, parent)
        if target is None:
            raise DraftInvalid([_problem(("carve_out_id",), f"unknown carve-out {cid!r}", "ref")])
        if cid:
            ci = [co.get("id") for co in data["measures"][mi]["carve_outs"]].index(cid)
            base = (*base, "carve_outs", ci)
        where = (*base, "carve_outs" if entity == "carve_out" else "events")
        where = (*where, _put(target, str(body.get("id")), body))
    try:
        reg = c.Registry.model_validate(data)
    except ValidationError as e:
        for err in e.errors():
            loc = tuple(err["loc"])
            rest = loc[len(where) :] if loc[: len(where)] == where else ()
            problems.append(_problem(("body", *rest), str(err["msg"]), str(err["type"])))
        raise DraftInvalid(problems) from None
    for p in reg.problems():
        if tuple(p.path[: len(where)]) == where:
            problems.append(_problem(("body", *p.path[len(where) :]), p.message, p.code or "ref"))
    if problems:
        raise DraftInvalid(problems)


def _problem(loc: Sequence[Any], message: str, kind: str) -> dict[str, Any]:
    parts = [str(x) for x in loc]
    return {"field": ".".join(parts), "loc": parts, "message": message, "type": kind}


def create_draft(
    *,
    session: Session,
    actor: Principal,
    entity: Entity,
    body: BaseModel | dict[str, Any],
    measure_id: str | None = None,
    carve_out_id: str | None = None,
    now: datetime | None = None,
    check: bool = True,
) -> ChangePublic:
    """Record an editor's draft (a new entity or a new version of one); nothing is published.

    ``check=False`` only for an import whose directory validated as a whole: its parts may
    cite each other before any is published (approval checks each again).
    """
    require_editor(actor)
    model = ENTITY_MODELS[entity]
    item = body if isinstance(body, model) else model.model_validate(body)
    doc = item.model_dump(mode="json", exclude_defaults=True)
    parent = _parent(entity, measure_id, carve_out_id)
    if entity in ("carve_out", "event") and not measure_id:
        raise DraftInvalid([_problem(("measure_id",), "a measure id is required", "missing")])
    if check:
        _check(session, entity, parent, doc)
    now = now or utcnow()
    row = RegistryChange(
        entity=entity,
        key=str(doc["id"]),
        parent=parent,
        body=doc,
        status="draft",
        origin="editor",
        editor=actor.actor,
        recorded_at=now,
    )
    session.add(row)
    session.flush()
    _audit(session, actor, "registry.drafted", row, now, body=doc)
    return ChangePublic.model_validate(row)


def _audit(
    session: Session,
    actor: Principal,
    action: str,
    row: RegistryChange,
    now: datetime,
    **extra: Any,
) -> None:
    audit.append(
        session=session,
        actor=actor,
        action=action,
        entity=f"registry:{row.entity}:{row.key}",
        payload={"seq": row.seq, "parent": row.parent, "editor": row.editor, **extra},
        now=now,
    )


def _pending(session: Session, draft_seq: int) -> RegistryChange:
    row = session.get(RegistryChange, draft_seq)
    if row is None or row.status != "draft":
        raise NotFound(f"no draft {draft_seq}")
    decided = session.scalar(select(RegistryChange).where(RegistryChange.draft_seq == draft_seq))
    if decided is not None:
        raise Conflict(f"draft {draft_seq} was already {decided.status} (change {decided.seq})")
    return row


def _decide(
    session: Session,
    draft: RegistryChange,
    actor: Principal,
    status: str,
    now: datetime,
    reason: str | None,
) -> RegistryChange:
    row = RegistryChange(
        entity=draft.entity,
        key=draft.key,
        parent=draft.parent,
        body=draft.body,
        status=status,
        origin="editor",
        editor=draft.editor,
        approved_by=actor.actor,
        draft_seq=draft.seq,
        reason=reason,
        recorded_at=now,
    )
    session.add(row)
    session.flush()
    return row


def approve_draft(
    *, session: Session, actor: Principal, draft_seq: int, now: datetime | None = None
) -> ChangePublic:
    """Publish a draft: only an editor other than its author may, and only if it still fits."""
    require_editor(actor)
    draft = _pending(session, draft_seq)
    if draft.editor == actor.actor:
        raise Forbidden("a draft is published only when a second, different editor approves it")
    _check(session, draft.entity, draft.parent, draft.body)
    now = now or utcnow()
    row = _decide(session, draft, actor, "published", now, None)
    _audit(session, actor, "registry.approved", row, now, draft=draft.seq)
    from supplyshock.services.registry_watch import notify_published

    notify_published(
        session=session, change=row, registry=published_registry(session=session), now=now
    )
    return ChangePublic.model_validate(row)


def reject_draft(
    *, session: Session, actor: Principal, draft_seq: int, reason: str, now: datetime | None = None
) -> ChangePublic:
    """Close a draft unpublished, with the reason; any editor (its author too) may."""
    require_editor(actor)
    draft = _pending(session, draft_seq)
    now = now or utcnow()
    row = _decide(session, draft, actor, "rejected", now, reason)
    _audit(session, actor, "registry.rejected", row, now, draft=draft.seq, reason=reason)
    return ChangePublic.model_validate(row)


def list_drafts(*, session: Session, actor: Principal) -> list[ChangePublic]:
    """Drafts not yet approved or rejected, oldest first (editors and the operator)."""
    if actor.role not in ("editor", "operator"):
        raise Forbidden("only editors and the operator see drafts")
    decided = select(RegistryChange.draft_seq).where(RegistryChange.draft_seq.is_not(None))
    q = (
        select(RegistryChange)
        .where(RegistryChange.status == "draft", RegistryChange.seq.not_in(decided))
        .order_by(RegistryChange.seq)
    )
    return [ChangePublic.model_validate(r) for r in session.scalars(q)]
