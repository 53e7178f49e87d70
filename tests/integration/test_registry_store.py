"""The registry in the database: seeding, bitemporal reads, the two-editor rule, export/import."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from supplyshock.data import builtin_registry
from supplyshock.domain.controls import Item
from supplyshock.exchange.errors import Conflict, Forbidden
from supplyshock.exchange.schemas import Principal
from supplyshock.formats.registry import load_registry
from supplyshock.services import registry_drafts as drafts
from supplyshock.services import registry_store as store
from supplyshock.services.registry import check_shipment
from supplyshock.services.registry_io import export_registry, import_registry
from supplyshock.store.db import UnitOfWork, make_session_factory
from supplyshock.store.models import AuditEntry, Notification, RegistryChange
from tests.integration.test_exchange_concurrency import _wait_until_blocked_on_a_lock

OPERATOR = Principal.local_operator()
ALICE = Principal(role="editor", token_id="alice")
BOB = Principal(role="editor", token_id="bob")
RECORDED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

# Shipments from the closing note: (item, origin, destination, sector).
SHIPMENTS = [
    (Item(hs_code="850511", elements={"Nd": None, "Dy": 0.05}), "CN", "DE", None),
    (Item(hs_code="811292", elements={"Ga": None}), "CN", "US", None),
    (Item(maker="Nexperia", made_in="CN", hs_code="854129"), "CN", "DE", "automotive"),
    (Item(hs_code="870323"), "DE", "US", None),
]


def _answers(reg: object, on: date, as_of: date | None) -> list[object]:
    out = []
    for item, origin, dest, sector in SHIPMENTS:
        a = check_shipment(
            reg,  # type: ignore[arg-type]
            on=on,
            item=item,
            origin=origin,
            destination=dest,
            sector=sector,
            as_of=as_of,
        )
        out.append((a.effects, a.not_in_force))
    return out


def test_synced_registry_answers_as_the_builtin_files(session: Session) -> None:
    assert store.sync_registry(session=session, actor=OPERATOR) > 0
    # A second sync finds nothing changed and appends nothing.
    assert store.sync_registry(session=session, actor=OPERATOR) == 0
    db = store.published_registry(session=session)
    assert db == builtin_registry()
    for on, as_of in ((date(2026, 12, 1), None), (date(2026, 12, 1), date(2025, 6, 1))):
        assert _answers(db, on, as_of) == _answers(builtin_registry(), on, as_of)


def _new_source(session: Session, author: Principal, key: str) -> int:
    body = {"id": key, "publisher": "Gazette", "title": "T", "published": "2026-11-30"}
    return drafts.create_draft(
        session=session, actor=author, entity="source", body=body, now=RECORDED
    ).seq


def test_only_a_second_editor_publishes_and_as_of_ignores_later_records(session: Session) -> None:
    store.sync_registry(session=session, actor=OPERATOR)
    seq = _new_source(session, ALICE, "new-src")
    with pytest.raises(Forbidden):
        drafts.approve_draft(session=session, actor=ALICE, draft_seq=seq)
    with pytest.raises(Forbidden):
        drafts.approve_draft(session=session, actor=OPERATOR, draft_seq=seq)
    assert "new-src" not in [s.id for s in store.published_registry(session=session).sources]
    drafts.approve_draft(session=session, actor=BOB, draft_seq=seq, now=RECORDED)
    assert "new-src" in [s.id for s in store.published_registry(session=session).sources]
    # Recorded on 2026-12-01: known from that day, never before it.
    before = store.published_registry(session=session, as_of=date(2026, 11, 30))
    on_day = store.published_registry(session=session, as_of=date(2026, 12, 1))
    assert "new-src" not in [s.id for s in before.sources]
    assert "new-src" in [s.id for s in on_day.sources]


def test_a_draft_citing_an_unknown_source_is_refused_at_its_field(session: Session) -> None:
    store.sync_registry(session=session, actor=OPERATOR)
    rows = session.scalar(select(func.count(RegistryChange.seq)))
    m = builtin_registry().measures[0]
    event = {"id": "x-ev", "kind": "relaxed", "effective": "2026-12-01", "summary": "s",
             "sources": ["no-such-source"]}  # fmt: skip
    with pytest.raises(drafts.DraftInvalid) as e:
        drafts.create_draft(
            session=session, actor=ALICE, entity="event", body=event, measure_id=m.id
        )
    assert [d["field"] for d in e.value.details] == ["body.sources.0"]
    assert session.scalar(select(func.count(RegistryChange.seq))) == rows


def test_export_validates_and_imports_back(session: Session, tmp_path: Path) -> None:
    store.sync_registry(session=session, actor=OPERATOR)
    export_registry(store.published_registry(session=session), tmp_path)
    assert load_registry(tmp_path) == load_registry(tmp_path)  # validates as a whole
    assert {s.id for s in load_registry(tmp_path).sources} == {
        s.id for s in builtin_registry().sources
    }
    # Unchanged: nothing to draft.
    assert import_registry(session=session, actor=ALICE, directory=tmp_path) == []
    # One measure retitled: one draft, which Bob then publishes.
    doc = yaml.safe_load((tmp_path / "measures.yaml").read_text())
    doc["measures"][0]["title"] = "Retitled"
    (tmp_path / "measures.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    made = import_registry(session=session, actor=ALICE, directory=tmp_path)
    assert isinstance(made, list) and [d.key for d in made] == [doc["measures"][0]["id"]]
    drafts.approve_draft(session=session, actor=BOB, draft_seq=made[0].seq)
    reg = store.published_registry(session=session)
    assert reg.measure(doc["measures"][0]["id"]).title == "Retitled"


def test_two_editors_approving_one_draft_at_once_publish_it_once(engine: Engine) -> None:
    """Bob and Carol approve Alice's draft at the same moment on PostgreSQL: the decision's
    unique ``draft_seq`` makes Carol's insert wait for Bob's transaction and then fail, so the
    draft is published once, by Bob. (SQLite serialises whole transactions: no race there.)"""
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite serialises whole transactions: the race cannot happen there")
    carol = Principal(role="editor", token_id="carol")
    factory = make_session_factory(engine)
    try:
        with UnitOfWork(factory) as uow:
            seq = _new_source(uow.session, ALICE, "race-src")
            uow.commit()

        def approve(who: Principal) -> None:
            with UnitOfWork(factory) as uow:
                drafts.approve_draft(session=uow.session, actor=who, draft_seq=seq, now=RECORDED)
                uow.commit()

        with ThreadPoolExecutor(1) as pool, UnitOfWork(factory) as first:
            drafts.approve_draft(session=first.session, actor=BOB, draft_seq=seq, now=RECORDED)
            pending = pool.submit(approve, carol)
            _wait_until_blocked_on_a_lock(engine, 1)
            first.commit()
            with pytest.raises((IntegrityError, Conflict)):
                pending.result(timeout=30)
        with factory() as s:
            decided = s.scalars(select(RegistryChange).where(RegistryChange.draft_seq == seq)).all()
            assert [(d.status, d.approved_by) for d in decided] == [("published", BOB.actor)]
    finally:
        with engine.begin() as conn:
            for model in (Notification, RegistryChange, AuditEntry):
                conn.execute(delete(model))
