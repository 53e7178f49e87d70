"""Listings and matches between their rows and their domain objects, once per unit of work.

One :class:`ExchangeRepository` per session (:func:`repository`): it keeps an identity map from
id to (row, domain object), so a service chain such as "create a listing, then match it"
hands the same object along instead of reading the row again, and it remembers which listing
rows this transaction already holds locked. Locking is always in id order and skips rows held
already (a row this transaction inserted or updated is locked by that write), so every
transaction takes its row locks in one global order and a candidate row is read exactly once,
by the locking read itself.

Domain objects are copied from their row on every access (in memory, no query), so a row that
other code changed in the same session is never shadowed by a stale object; they are written
back only by :meth:`ExchangeRepository.save`, for the objects a service changed. The map and
the lock set are dropped whenever the session's transaction ends: locks go with it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy import event, select
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.orm.exc import StaleDataError

from supplyshock.domain.exchange import Listing, Match
from supplyshock.store import models

_KEY = "supplyshock.exchange_repository"
_LISTING_FIELDS = tuple(f.name for f in dataclasses.fields(Listing))
_MATCH_FIELDS = tuple(f.name for f in dataclasses.fields(Match))

D = TypeVar("D", Listing, Match)


class ConcurrentWrite(Exception):
    """A versioned row changed between our read and our write (optimistic locking)."""


def _to_domain(cls: type[D], row: Any, fields: tuple[str, ...], into: D | None) -> D:
    values = {name: getattr(row, name) for name in fields}
    if into is None:
        return cls(**values)
    for name, value in values.items():
        setattr(into, name, value)
    return into


def _to_row(obj: Listing | Match, row: Any, fields: tuple[str, ...]) -> None:
    for name in fields:
        if name in ("id", "version"):
            continue  # the key never changes; the version is the ORM's to bump
        value = getattr(obj, name)
        # Assign only real changes: an assignment marks the attribute dirty for the ORM even
        # when equal, and JSON columns would then be rewritten for nothing.
        if getattr(row, name) != value:
            setattr(row, name, value)


class ExchangeRepository:
    """Rows ↔ domain objects for one session; obtain it with :func:`repository`."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._listings: dict[str, tuple[models.Listing, Listing]] = {}
        self._matches: dict[str, tuple[models.Match, Match]] = {}
        self._locked: set[str] = set()

    def forget(self) -> None:
        self._listings.clear()
        self._matches.clear()
        self._locked.clear()

    # --- listings ----------------------------------------------------------------------------

    def _listing(self, row: models.Listing) -> Listing:
        cached = self._listings.get(row.id)
        domain = _to_domain(Listing, row, _LISTING_FIELDS, cached[1] if cached else None)
        self._listings[row.id] = (row, domain)
        return domain

    def get_listing(self, listing_id: str) -> Listing | None:
        """The listing (from the session's identity map when read before), or None."""
        cached = self._listings.get(listing_id)
        row = cached[0] if cached else self.session.get(models.Listing, listing_id)
        return None if row is None else self._listing(row)

    def listings(self, ids: Iterable[str]) -> dict[str, Listing]:
        """Several listings by id, unlocked, in one query for those not read yet."""
        wanted = set(ids)
        missing = sorted(wanted - self._listings.keys())
        for start in range(0, len(missing), 500):
            chunk = missing[start : start + 500]
            for row in self.session.scalars(
                select(models.Listing).where(models.Listing.id.in_(chunk))
            ):
                self._listing(row)
        return {i: self._listing(self._listings[i][0]) for i in wanted if i in self._listings}

    def lock_listings(self, ids: Iterable[str]) -> dict[str, Listing]:
        """Row-lock the listings ``ids`` in id order; those held already are not read again.

        Every transaction locks listings in ascending id order, so two of them wait for each
        other rather than deadlock; what the lock read returns nobody can change until commit.
        """
        wanted = sorted(set(ids))
        to_lock = [i for i in wanted if i not in self._locked]
        if to_lock:
            for row in self.session.scalars(
                select(models.Listing)
                .where(models.Listing.id.in_(to_lock))
                .order_by(models.Listing.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            ):
                self._listing(row)
                self._locked.add(row.id)
        return {i: self._listing(self._listings[i][0]) for i in wanted if i in self._locked}

    def add_listing(self, listing: Listing) -> None:
        """Insert a new listing; the inserted row is locked by the insert itself."""
        row = models.Listing(**{n: getattr(listing, n) for n in _LISTING_FIELDS if n != "version"})
        self.session.add(row)
        self._listings[listing.id] = (row, listing)
        self.flush()
        self._locked.add(listing.id)

    def listing_row(self, listing: Listing) -> models.Listing:
        """The row behind a listing this repository handed out (for services writing indexes)."""
        return self._listings[listing.id][0]

    # --- matches -----------------------------------------------------------------------------

    def _match(self, row: models.Match) -> Match:
        cached = self._matches.get(row.id)
        domain = _to_domain(Match, row, _MATCH_FIELDS, cached[1] if cached else None)
        self._matches[row.id] = (row, domain)
        return domain

    def get_match(self, match_id: str, *, lock: bool = False) -> Match | None:
        """The match; ``lock`` row-locks it and reads it fresh (two parties acting at once)."""
        if lock:
            row = self.session.scalars(
                select(models.Match)
                .where(models.Match.id == match_id)
                .with_for_update()
                .execution_options(populate_existing=True)
            ).one_or_none()
        else:
            cached = self._matches.get(match_id)
            row = cached[0] if cached else self.session.get(models.Match, match_id)
        return None if row is None else self._match(row)

    def matches(self, ids: Iterable[str]) -> dict[str, Match]:
        wanted = set(ids)
        missing = sorted(wanted - self._matches.keys())
        for start in range(0, len(missing), 500):
            chunk = missing[start : start + 500]
            for row in self.session.scalars(select(models.Match).where(models.Match.id.in_(chunk))):
                self._match(row)
        return {i: self._match(self._matches[i][0]) for i in wanted if i in self._matches}

    def add_match(self, match: Match) -> None:
        row = models.Match(**{n: getattr(match, n) for n in _MATCH_FIELDS if n != "version"})
        self.session.add(row)
        self._matches[match.id] = (row, match)

    # --- writing -----------------------------------------------------------------------------

    def save(self, *objects: Listing | Match) -> None:
        """Write changed domain objects to their rows and flush (versions checked and bumped)."""
        for obj in objects:
            if isinstance(obj, Listing):
                _to_row(obj, self._listings[obj.id][0], _LISTING_FIELDS)
            else:
                _to_row(obj, self._matches[obj.id][0], _MATCH_FIELDS)
        self.flush()
        for obj in objects:
            if isinstance(obj, Listing):
                # An update locks the row until commit, like a locking read.
                self._locked.add(obj.id)

    def flush(self) -> None:
        """Flush, then copy the versions the ORM assigned back to the domain objects."""
        try:
            self.session.flush()
        except StaleDataError as e:
            # The session must now be rolled back; the unit of work does that.
            raise ConcurrentWrite(str(e)) from e
        for row, domain in self._listings.values():
            domain.version = row.version
        for mrow, mdomain in self._matches.values():
            mdomain.version = mrow.version


def repository(session: Session) -> ExchangeRepository:
    """The session's repository (one per session, emptied whenever its transaction ends)."""
    repo = session.info.get(_KEY)
    if repo is None:
        repo = session.info[_KEY] = ExchangeRepository(session)
    return repo


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    # Locks end with the transaction, and rows inserted in a rolled-back one are gone: start
    # afresh (SQLAlchemy's own identity map still spares the queries for rows it keeps). A
    # flush's internal subtransaction is neither: it must not empty the map.
    if transaction.parent is not None and not transaction.nested:
        return
    repo = session.info.get(_KEY)
    if repo is not None:
        repo.forget()
