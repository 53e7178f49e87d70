"""The registry at run time: append-only versions in the database, drafts, approvals, the feed.

Every change is a row of ``registry_changes`` (store/models.py); nothing is updated or deleted.
The registry a query uses is assembled from the published rows: the last version of each
source, act, measure and observation, then the editors' carve-outs and events laid onto their
measures. Rows seeded from the built-in files keep the files' own known dates; an editor's row
is known from the moment it was published (``recorded_at``), so an ``as_of`` query never sees
an editor's change recorded after that day. See docs/registry.md.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from supplyshock.domain import controls as c
from supplyshock.exchange import audit
from supplyshock.exchange.errors import Forbidden
from supplyshock.exchange.schemas import Principal
from supplyshock.store.models import RegistryChange, utcnow

Entity = Literal["source", "act", "measure", "carve_out", "event", "observation"]
ENTITY_MODELS: dict[str, type[BaseModel]] = {
    "source": c.Source,
    "act": c.PolicyAct,
    "measure": c.Measure,
    "carve_out": c.CarveOut,
    "event": c.MeasureEvent,
    "observation": c.Observation,
}
SECTIONS: dict[Entity, str] = {
    "source": "sources",
    "act": "acts",
    "measure": "measures",
    "observation": "observations",
}
SYNC_EDITOR = "builtin:sync"


class ChangePublic(BaseModel):
    """One row of the registry's history, as editors and the feed see it."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    seq: int
    entity: Entity
    key: str
    parent: str
    status: Literal["draft", "published", "rejected"]
    origin: Literal["builtin", "editor"]
    editor: str
    approved_by: str | None
    draft_seq: int | None
    reason: str | None
    recorded_at: datetime
    body: dict[str, Any]


# -- assembling the registry -------------------------------------------------------------


def _published(session: Session, as_of: date | None) -> list[RegistryChange]:
    q = select(RegistryChange).where(RegistryChange.status == "published")
    if as_of is not None:
        # An editor's change is known from the day it was recorded; seeded rows keep the
        # built-in files' own known dates (the replay filters their events by ``known``).
        end = datetime.combine(as_of + timedelta(days=1), time(0), UTC)
        q = q.where((RegistryChange.origin == "builtin") | (RegistryChange.recorded_at < end))
    return list(session.scalars(q.order_by(RegistryChange.seq)))


def assemble(rows: Iterable[RegistryChange]) -> dict[str, list[dict[str, Any]]]:
    """Registry data (the files' format) from published rows in ``seq`` order."""
    docs: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in SECTIONS}
    children: dict[tuple[str, str, str], dict[str, Any]] = {}
    for r in rows:
        if r.entity in docs:
            docs[r.entity][r.key] = r.body
        else:
            children[(r.entity, r.parent, r.key)] = r.body
    measures = {k: copy.deepcopy(v) for k, v in docs["measure"].items()}
    # Carve-outs first, so that an event may belong to an editor's new carve-out.
    for (entity, parent, key), body in sorted(
        children.items(), key=lambda i: i[0][0] != "carve_out"
    ):
        target = _children_list(measures, entity, parent)
        if target is not None:
            _put(target, key, copy.deepcopy(body))
    return {
        "sources": list(docs["source"].values()),
        "acts": list(docs["act"].values()),
        "measures": list(measures.values()),
        "observations": list(docs["observation"].values()),
    }


def _children_list(
    measures: dict[str, dict[str, Any]], entity: str, parent: str
) -> list[dict[str, Any]] | None:
    mid, _, cid = parent.partition("/")
    m = measures.get(mid)
    if m is None:
        return None
    if entity == "carve_out":
        return m.setdefault("carve_outs", [])  # type: ignore[no-any-return]
    if not cid:
        return m.setdefault("events", [])  # type: ignore[no-any-return]
    for co in m.get("carve_outs", []):
        if co.get("id") == cid:
            return co.setdefault("events", [])  # type: ignore[no-any-return]
    return None


def _put(items: list[dict[str, Any]], key: str, body: dict[str, Any]) -> int:
    """Replace the item with id ``key`` (a new version) or append it; its index."""
    for i, it in enumerate(items):
        if it.get("id") == key:
            items[i] = body
            return i
    items.append(body)
    return len(items) - 1


_CACHE: OrderedDict[tuple[str, int, tuple[str, ...], date | None], c.Registry] = OrderedDict()


def published_registry(*, session: Session, as_of: date | None = None) -> c.Registry:
    """The published registry as known on ``as_of``; the built-in files while the table is empty.

    Assembling and validating takes tens of milliseconds, so the result is cached by the
    table's row count and last row (append-only: any change moves them).
    """
    count = session.scalar(select(func.count(RegistryChange.seq)))
    if not count:
        from supplyshock.data import builtin_registry

        return builtin_registry()
    last = session.execute(
        select(
            RegistryChange.seq,
            RegistryChange.recorded_at,
            RegistryChange.entity,
            RegistryChange.key,
        )
        .order_by(RegistryChange.seq.desc())
        .limit(1)
    ).one()
    # The last row's identity too, not only its number: SQLite reuses the numbers of rows
    # that were rolled back.
    key = (str(session.get_bind().engine.url), int(count), tuple(map(str, last)), as_of)
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    reg = c.Registry.model_validate(assemble(_published(session, as_of)))
    _CACHE[key] = reg
    while len(_CACHE) > 32:
        _CACHE.popitem(last=False)
    return reg


# -- seeding from the built-in files ---------------------------------------------------------


def _documents(reg: c.Registry) -> list[tuple[str, str, dict[str, Any]]]:
    out: list[tuple[str, str, dict[str, Any]]] = []
    for entity, section in SECTIONS.items():
        for item in getattr(reg, section):
            out.append((entity, item.id, item.model_dump(mode="json", exclude_defaults=True)))
    return out


def sync_registry(
    *,
    session: Session,
    actor: Principal,
    registry: c.Registry | None = None,
    origin: Literal["builtin", "editor"] = "builtin",
    now: datetime | None = None,
) -> int:
    """Publish every entity of ``registry`` (default: the built-in files) that differs from its
    last published version; the number of rows appended. Running it twice appends nothing."""
    if actor.role != "operator":
        raise Forbidden("only the operator syncs the registry")
    if registry is None:
        from supplyshock.data import builtin_registry

        registry = builtin_registry()
    if session.get_bind().dialect.name == "postgresql":
        # Workers starting together must not both seed: one at a time, the others find it done.
        session.execute(text("SELECT pg_advisory_xact_lock(7702001)"))
    latest = {(r.entity, r.key): r.body for r in _published(session, None) if not r.parent}
    now = now or utcnow()
    added = 0
    for entity, key, body in _documents(registry):
        if latest.get((entity, key)) == body:
            continue
        session.add(
            RegistryChange(
                entity=entity,
                key=key,
                parent="",
                body=body,
                status="published",
                origin=origin,
                editor=SYNC_EDITOR if origin == "builtin" else actor.actor,
                approved_by=actor.actor,
                recorded_at=now,
            )
        )
        added += 1
    if added:
        session.flush()
        audit.append(
            session=session,
            actor=actor,
            action="registry.synced",
            entity="registry",
            payload={"rows": added, "origin": origin},
            now=now,
        )
    return added


def seed_if_empty(*, session: Session) -> int:
    """Seed the built-in registry into an empty table (server start-up); rows added."""
    if session.scalar(select(func.count(RegistryChange.seq))):
        return 0
    return sync_registry(session=session, actor=Principal.local_operator())


def list_changes(
    *, session: Session, since: datetime | None = None, limit: int = 200, after: int = 0
) -> list[ChangePublic]:
    """Published changes recorded at or after ``since``, in ``seq`` order, after ``after``."""
    q = select(RegistryChange).where(
        RegistryChange.status == "published", RegistryChange.seq > after
    )
    if since is not None:
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        q = q.where(RegistryChange.recorded_at >= since)
    q = q.order_by(RegistryChange.seq).limit(limit)
    return [ChangePublic.model_validate(r) for r in session.scalars(q)]
