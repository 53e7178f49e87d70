"""The append-only, hash-chained audit log: appending, verifying, and erasing expired payloads.

Each entry's hash is ``sha256(prev_hash + canonical_json(entry))`` where the entry is its
``seq, at, actor, action, entity, payload_hash`` and ``payload_hash`` is the SHA-256 of the
payload's canonical JSON; the first entry's ``prev_hash`` is 64 zeros. An edited row no longer
matches its hashes; a deleted row leaves a gap in ``seq`` and a ``prev_hash`` that matches
nothing. Deleting the newest entries (truncation) or rewriting the whole chain is only visible
against a head hash kept elsewhere: pass it as ``expected_head``.

Payloads may be erased (set to NULL) when their retention period ends, because the chain covers
only their hash; each erasure must be listed by a later ``audit.payloads_erased`` entry, so an
erasure without one is reported as tampering.

Lock order: the chain has one head, so appenders are serialised (on PostgreSQL by a transaction
advisory lock). That lock is always the last one a transaction takes: :func:`append` only queues
the entry on the session, and the queue is chained and written just before the transaction
commits, after every other change has been flushed (and its row locks taken). A transaction
that holds the audit lock therefore never waits for a row, and no cycle of waits can form
through it. Reading the audit log in the same transaction writes the queue first, so a reader
sees its own appends.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ClauseElement, Executable, TextClause, event, select, text, update
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction
from sqlalchemy.sql.util import find_tables

from supplyshock.exchange.schemas import Principal
from supplyshock.store.models import AuditEntry, utcnow

GENESIS = "0" * 64
ERASE_ACTION = "audit.payloads_erased"

# Any constant will do: it names the one PostgreSQL advisory lock that serialises appenders.
AUDIT_LOCK_KEY = 0x5355_5050_4C59  # "SUPPLY"
# Session.info key of the entries appended in the current transaction and not yet written.
_PENDING = "supplyshock.audit.pending"


def _default(obj: object) -> str:
    if isinstance(obj, datetime):
        return format_instant(obj)
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, Decimal):
        return str(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def canonical_json(obj: Any) -> str:
    """Sorted keys, no spaces, UTF-8 kept: the same data always gives the same text."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default
    )


def format_instant(at: datetime) -> str:
    """UTC with microseconds: both backends keep microseconds, so the text survives storage."""
    if at.tzinfo is None:
        raise ValueError("audit timestamps must be timezone-aware")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def payload_digest(payload: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


def entry_hash(
    prev_hash: str,
    *,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    entity: str,
    payload_hash: str,
) -> str:
    body = {
        "seq": seq,
        "at": format_instant(at),
        "actor": actor,
        "action": action,
        "entity": entity,
        "payload_hash": payload_hash,
    }
    return hashlib.sha256((prev_hash + canonical_json(body)).encode("utf-8")).hexdigest()


def append(
    *,
    session: Session,
    actor: Principal | str,
    action: str,
    entity: str,
    payload: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> AuditEntry:
    """Add one entry to the chain inside the caller's transaction (it commits with the change).

    The entry is queued and chained at commit (see the module's note on lock order): its ``seq``,
    ``prev_hash`` and ``hash`` are None until then, or until the audit log is read in the same
    transaction. Inside a savepoint it is written at once, so that rolling back the savepoint
    also removes it.
    """
    # Store exactly what was hashed: a payload that round-trips through JSON unchanged.
    clean: dict[str, Any] = json.loads(canonical_json(payload or {}))
    at = now or utcnow()
    if at.tzinfo is None:
        raise ValueError("audit timestamps must be timezone-aware")
    entry = AuditEntry(
        at=at,
        actor=actor.actor if isinstance(actor, Principal) else actor,
        action=action,
        entity=entity,
        payload=clean,
        payload_hash=payload_digest(clean),
    )
    session.info.setdefault(_PENDING, []).append(entry)
    if session.in_nested_transaction():
        write_pending(session)
    return entry


def write_pending(session: Session) -> None:
    """Chain and write the entries queued in this transaction; a no-op when there are none."""
    entries: list[AuditEntry] | None = session.info.pop(_PENDING, None)
    if not entries:
        return
    # Every row change first, so that its row locks are taken before the audit lock.
    session.flush()
    if session.get_bind().dialect.name == "postgresql":
        # Without it two transactions could both read the same head; the primary key on seq
        # would then refuse the second, but waiting is friendlier than failing. SQLite needs
        # nothing: BEGIN IMMEDIATE already serialises writers (store/db.py).
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY})
    head = session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    seq, prev = (0, GENESIS) if head is None else (head.seq, head.hash)
    for entry in entries:
        seq += 1
        entry.seq = seq
        entry.prev_hash = prev
        entry.hash = prev = entry_hash(
            prev,
            seq=seq,
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            entity=entry.entity,
            payload_hash=entry.payload_hash,
        )
    session.add_all(entries)
    session.flush()


def _reads_audit_log(statement: Executable) -> bool:
    if isinstance(statement, TextClause):
        return AuditEntry.__tablename__ in statement.text.lower()
    if not isinstance(statement, ClauseElement):
        return False
    return AuditEntry.__table__ in find_tables(
        statement, include_crud=True, include_joins=True, include_selects=True
    )


@event.listens_for(Session, "do_orm_execute")
def _write_before_reading(state: ORMExecuteState) -> None:
    # A transaction that reads the log (verification, erasure, tests) sees its own appends.
    if state.session.info.get(_PENDING) and _reads_audit_log(state.statement):
        write_pending(state.session)


@event.listens_for(Session, "before_commit")
def _write_before_commit(session: Session) -> None:
    write_pending(session)


@event.listens_for(Session, "after_transaction_end")
def _forget_on_end(session: Session, transaction: SessionTransaction) -> None:
    # A rolled-back (or closed) transaction's queue must not leak into the next one.
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


@dataclass(frozen=True)
class AuditReport:
    """The outcome of a verification: ``first_broken_seq`` is None when the chain is intact."""

    entries: int
    head_seq: int | None
    head_hash: str | None
    first_broken_seq: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.first_broken_seq is None


def erase_payloads(
    *,
    session: Session,
    actor: Principal | str,
    entities: list[str],
    reason: str,
    now: datetime | None = None,
) -> list[int]:
    """Erase the payloads of every entry about ``entities``; record which, in the chain.

    Returns the erased entries' seqs. The entries themselves (who, what, when) stay.
    """
    if not entities:
        return []
    seqs: list[int] = []
    # Chunked IN lists: a crisis can hold more listings than a backend takes bind parameters.
    for start in range(0, len(entities), 500):
        chunk = entities[start : start + 500]
        seqs += session.scalars(
            select(AuditEntry.seq).where(
                AuditEntry.entity.in_(chunk), AuditEntry.payload.is_not(None)
            )
        ).all()
    seqs.sort()
    for start in range(0, len(seqs), 500):
        session.execute(
            update(AuditEntry)
            .where(AuditEntry.seq.in_(seqs[start : start + 500]))
            .values(payload=None)
            .execution_options(synchronize_session=False)
        )
    if seqs:
        append(
            session=session,
            actor=actor,
            action=ERASE_ACTION,
            entity="audit",
            payload={"reason": reason, "seqs": seqs},
            now=now,
        )
    return seqs


def verify_audit(*, session: Session, expected_head: str | None = None) -> AuditReport:
    """Walk the chain from the first entry and report the first one that does not fit."""
    expected_seq = 1
    prev = GENESIS
    count = 0
    erased_unaccounted: set[int] = set()
    # Plain rows, not ORM objects: objects already in the session could hide what is stored.
    rows = session.execute(
        select(
            AuditEntry.seq,
            AuditEntry.at,
            AuditEntry.actor,
            AuditEntry.action,
            AuditEntry.entity,
            AuditEntry.payload,
            AuditEntry.payload_hash,
            AuditEntry.prev_hash,
            AuditEntry.hash,
        )
        .order_by(AuditEntry.seq)
        .execution_options(yield_per=1000)
    )
    for row in rows:
        count += 1
        at_seq, broken = row.seq, _check_row(row, expected_seq, prev)
        if broken is not None and row.seq != expected_seq:
            at_seq = expected_seq
        if broken is None and row.payload is None:
            erased_unaccounted.add(row.seq)
        if broken is None and row.action == ERASE_ACTION and row.payload is not None:
            listed = set(row.payload.get("seqs", []))
            if any(not isinstance(x, int) or x >= row.seq for x in listed):
                broken = "an erasure record names entries that did not exist before it"
            erased_unaccounted -= listed
        if broken is not None:
            rows.close()
            return AuditReport(count, None, None, first_broken_seq=at_seq, reason=broken)
        prev = row.hash
        expected_seq += 1
    if erased_unaccounted:
        return AuditReport(
            count,
            None,
            None,
            first_broken_seq=min(erased_unaccounted),
            reason="payload removed without an erasure record",
        )
    head_seq = expected_seq - 1 if count else None
    head_hash = prev if count else None
    if expected_head is not None and expected_head != head_hash:
        return AuditReport(
            count,
            head_seq,
            head_hash,
            first_broken_seq=expected_seq,
            reason="the newest entry is not the expected head (entries removed from the end?)",
        )
    return AuditReport(count, head_seq, head_hash)


def _check_row(row: Any, expected_seq: int, prev: str) -> str | None:
    """Why this row breaks the chain, or None."""
    if row.seq != expected_seq:
        return f"entry {expected_seq} is missing (deleted?); next entry is {row.seq}"
    if row.prev_hash != prev:
        return "prev_hash does not match the previous entry's hash"
    recomputed = entry_hash(
        prev,
        seq=row.seq,
        at=row.at,
        actor=row.actor,
        action=row.action,
        entity=row.entity,
        payload_hash=row.payload_hash,
    )
    if row.hash != recomputed:
        return "content does not match its hash (edited?)"
    if row.payload is not None and payload_digest(row.payload) != row.payload_hash:
        return "payload does not match its hash (edited?)"
    return None
