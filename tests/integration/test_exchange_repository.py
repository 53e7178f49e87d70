"""The repository reads each listing row once per unit of work and locks in id order."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from supplyshock.exchange.matching import create_and_match, update_and_match
from supplyshock.exchange.schemas import ListingUpdate, Principal
from supplyshock.store.repository import repository
from tests.integration.conftest import listing_data

NOW = datetime(2025, 11, 3, 9, 0, tzinfo=UTC)  # the conftest's "now"


@contextmanager
def listing_reads(session: Session) -> Iterator[list[tuple[str, str]]]:
    """Every SELECT that reads listing rows, as (statement, parameters)."""
    seen: list[tuple[str, str]] = []
    bind = session.connection()

    def record(_c: Any, _cur: Any, statement: str, parameters: Any, *_: Any) -> None:
        flat = " ".join(statement.split())
        if flat.startswith("SELECT") and "FROM listings" in flat:
            seen.append((flat, str(parameters)))

    event.listen(bind, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(bind, "before_cursor_execute", record)


def test_creating_and_matching_reads_each_counterpart_once_and_the_new_listing_never(
    session: Session,
    make_member: Callable[..., Principal],
    make_crisis: Callable[..., Any],
) -> None:
    crisis = make_crisis()
    needs = [
        create_and_match(
            session=session,
            actor=make_member(),
            data=listing_data(crisis.id, kind="need", quantity=10, date_code=None),
            now=NOW,
        )
        for _ in range(3)
    ]
    session.commit()  # a new unit of work: nothing is cached or locked any more
    holder = make_member()
    with listing_reads(session) as reads:
        offer = create_and_match(
            session=session, actor=holder, data=listing_data(crisis.id, quantity=100), now=NOW
        )
    assert offer.quantity_open == 100 - 3 * 10  # the three needs were served
    # The new offer, inserted by this transaction (and so locked by it), is never read back.
    assert not any(offer.id in params for _, params in reads)
    # Each need: found by an id-only query, then read once, by the locking read.
    for need in needs:
        full_reads = [
            s for s, p in reads if need.id in p and not s.startswith("SELECT listings.id FROM")
        ]
        assert len(full_reads) == 1, full_reads


def test_an_amended_listing_is_not_read_again_by_matching(
    session: Session,
    make_member: Callable[..., Principal],
    make_crisis: Callable[..., Any],
) -> None:
    crisis = make_crisis()
    buyer = make_member()
    need = create_and_match(
        session=session,
        actor=buyer,
        data=listing_data(crisis.id, kind="need", quantity=10, date_code=None),
        now=NOW,
    )
    create_and_match(
        session=session, actor=make_member(), data=listing_data(crisis.id, quantity=5), now=NOW
    )
    # Another part, which the need does not accept yet.
    other = create_and_match(
        session=session,
        actor=make_member(),
        data=listing_data(crisis.id, part_number="PMEG3010", alternates=[], quantity=50),
        now=NOW,
    )
    session.commit()
    alternates = [
        {"part_number": "BC847BW", "maker": "Nexperia"},
        {"part_number": "PMEG3010", "maker": "Nexperia"},
    ]
    with listing_reads(session) as reads:
        after = update_and_match(
            session=session,
            actor=buyer,
            listing_id=need.id,
            data=ListingUpdate.model_validate({"quantity": 20, "alternates": alternates}),
            now=NOW,
        )
    # 20 asked, 5 promised before: 15 open, now all served by the other part's offer.
    assert after.quantity_open == 0
    # Read once to amend it; its UPDATE holds the row lock, so matching does not lock it
    # again: the locking read takes the other offer only.
    assert len([s for s, p in reads if need.id in p]) == 1
    assert len([s for s, p in reads if other.id in p]) == 1


def test_the_repository_forgets_rows_and_locks_when_the_transaction_ends(
    session: Session,
    make_member: Callable[..., Principal],
    make_crisis: Callable[..., Any],
) -> None:
    crisis = make_crisis()
    listing = create_and_match(
        session=session, actor=make_member(), data=listing_data(crisis.id), now=NOW
    )
    repo = repository(session)
    assert repo.get_listing(listing.id) is not None
    assert repository(session) is repo  # one per session
    assert listing.id in repo._locked  # the insert holds the row lock
    session.rollback()
    assert repo._locked == set() and repo._listings == {}
    # The rolled-back insert is gone, not served from a stale map.
    assert repo.get_listing(listing.id) is None
