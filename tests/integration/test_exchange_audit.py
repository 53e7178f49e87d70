"""The audit log: every state change is chained, and edits or deletions are detected."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from supplyshock.exchange.audit import GENESIS, append, entry_hash, verify_audit
from supplyshock.exchange.crises import close_crisis, purge_expired
from supplyshock.exchange.listings import update_listing, withdraw_listing
from supplyshock.exchange.members import issue_token, revoke_token
from supplyshock.exchange.schemas import (
    CrisisPublic,
    ListingPublic,
    ListingUpdate,
    Principal,
    TokenIssue,
)
from supplyshock.store.models import AuditEntry

NOW = datetime(2025, 11, 3, 9, 0, tzinfo=UTC)  # the conftest's "now"


@pytest.fixture
def history(
    session: Session,
    make_member: Callable[..., Principal],
    make_crisis: Callable[..., CrisisPublic],
    make_listing: Callable[..., ListingPublic],
) -> None:
    """A small but complete history: every kind of state change this slice knows."""
    operator = Principal.local_operator()
    member = make_member()  # 1 member.created
    token = issue_token(
        session=session, actor=operator, data=TokenIssue(member_id=member.member_id)
    )
    crisis = make_crisis()  # 3
    listing = make_listing(member, crisis.id)  # 4
    update_listing(
        session=session,
        actor=member,
        listing_id=listing.id,
        data=ListingUpdate(quantity=3),
        now=NOW,
    )
    withdraw_listing(session=session, actor=member, listing_id=listing.id, now=NOW)  # 6
    revoke_token(session=session, actor=operator, token=token.info.id, now=NOW)  # 7
    close_crisis(session=session, actor=operator, crisis_id=crisis.id, now=NOW)  # 8


def test_every_state_change_is_appended_to_one_chain(session: Session, history: None) -> None:
    entries = session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
    assert [e.action for e in entries] == [
        "member.created",
        "token.issued",
        "crisis.opened",
        "listing.created",
        "listing.updated",
        "listing.withdrawn",
        "token.revoked",
        "crisis.closed",
    ]
    assert [e.seq for e in entries] == list(range(1, 9))
    assert entries[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(entries, entries[1:], strict=False))
    report = verify_audit(session=session)
    assert report.ok and report.entries == 8 and report.head_hash == entries[-1].hash


def test_audit_never_holds_a_token_or_a_contact(
    session: Session, make_member: Callable[..., Principal]
) -> None:
    member = make_member()
    issued = issue_token(
        session=session,
        actor=Principal.local_operator(),
        data=TokenIssue(member_id=member.member_id),
    )
    dump = " ".join(str(v) for r in session.execute(text("SELECT * FROM audit_log")) for v in r)
    assert issued.token not in dump
    assert "buyer@example.com" not in dump  # the factory's contact: personal data, erasable


def test_an_empty_log_verifies(session: Session) -> None:
    report = verify_audit(session=session)
    assert report.ok and report.entries == 0 and report.head_hash is None


def test_an_edited_row_is_detected(session: Session, history: None) -> None:
    session.execute(
        text("UPDATE audit_log SET payload = :p WHERE seq = 5"), {"p": '{"changes":{"quantity":1}}'}
    )
    report = verify_audit(session=session)
    assert not report.ok
    assert report.first_broken_seq == 5
    assert "edited" in (report.reason or "")


def test_an_edited_actor_is_detected(session: Session, history: None) -> None:
    session.execute(text("UPDATE audit_log SET actor = 'operator:cli' WHERE seq = 4"))
    assert verify_audit(session=session).first_broken_seq == 4


def test_a_deleted_row_is_detected(session: Session, history: None) -> None:
    session.execute(text("DELETE FROM audit_log WHERE seq = 3"))
    report = verify_audit(session=session)
    assert report.first_broken_seq == 3
    assert "missing" in (report.reason or "")


def test_a_deleted_first_row_is_detected(session: Session, history: None) -> None:
    session.execute(text("DELETE FROM audit_log WHERE seq = 1"))
    assert verify_audit(session=session).first_broken_seq == 1


def test_a_row_edited_and_rehashed_breaks_the_next_link(session: Session, history: None) -> None:
    """A forger who recomputes the edited row's own hash still breaks the chain after it."""
    row = session.get_one(AuditEntry, 4)
    forged_actor = "member:someone-else"
    forged = entry_hash(
        row.prev_hash,
        seq=4,
        at=row.at,
        actor=forged_actor,
        action=row.action,
        entity=row.entity,
        payload_hash=row.payload_hash,
    )
    session.execute(
        text("UPDATE audit_log SET actor = :a, hash = :h WHERE seq = 4"),
        {"a": forged_actor, "h": forged},
    )
    report = verify_audit(session=session)
    assert report.first_broken_seq == 5
    assert "prev_hash" in (report.reason or "")


def test_removing_the_newest_entries_is_detected_against_a_kept_head(
    session: Session, history: None
) -> None:
    head = verify_audit(session=session).head_hash
    assert head is not None
    session.execute(text("DELETE FROM audit_log WHERE seq = 8"))
    assert verify_audit(session=session).ok  # the chain alone cannot tell...
    report = verify_audit(session=session, expected_head=head)  # ...a kept head can
    assert not report.ok and report.first_broken_seq == 8


def test_appends_continue_the_chain_after_a_verified_head(session: Session) -> None:
    first = append(session=session, actor="system:test", action="test.one", entity="x:1")
    second = append(
        session=session,
        actor="system:test",
        action="test.two",
        entity="x:2",
        payload={"when": date(2025, 1, 2), "n": 1.5, "text": "Grüße"},
    )
    # Queued until commit (the audit lock is taken last); reading the log writes the queue.
    assert first.seq is None
    assert verify_audit(session=session).ok
    assert (first.seq, second.seq, second.prev_hash) == (1, 2, first.hash)
    assert second.payload == {"when": "2025-01-02", "n": 1.5, "text": "Grüße"}


def test_an_erased_payload_without_an_erasure_record_is_detected(
    session: Session, history: None
) -> None:
    session.execute(text("UPDATE audit_log SET payload = NULL WHERE seq = 4"))
    report = verify_audit(session=session)
    assert report.first_broken_seq == 4
    assert "without an erasure record" in (report.reason or "")


def test_erasing_payloads_after_retention_keeps_the_chain_valid_but_not_forgeable(
    session: Session, history: None
) -> None:
    report = purge_expired(session=session, now=NOW + timedelta(days=365))
    assert report.audit_payloads_erased == 3  # listing created, updated, withdrawn
    assert verify_audit(session=session).ok
    erased = text("SELECT count(*) FROM audit_log WHERE payload IS NULL")  # SQL NULL, not 'null'
    assert session.scalar(erased) == 3
    erase_seq = session.scalar(
        select(AuditEntry.seq).where(AuditEntry.action == "audit.payloads_erased")
    )
    # Claiming one more erased entry means editing the erasure record, which shows.
    session.execute(
        text("UPDATE audit_log SET payload = :p WHERE seq = :s"),
        {"p": '{"reason":"x","seqs":[1,4,5,6]}', "s": erase_seq},
    )
    assert verify_audit(session=session).first_broken_seq == erase_seq
