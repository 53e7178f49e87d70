"""Crises: the operator opens the exchange for a scope and a limited time, and closes it again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from supplyshock.exchange import audit, catalogue, rules
from supplyshock.exchange.errors import Conflict, NotFound
from supplyshock.exchange.matches import expire_matches
from supplyshock.exchange.members import require_operator
from supplyshock.exchange.notices import KIND as notices_kind
from supplyshock.exchange.schemas import CrisisCreate, CrisisPublic, Principal
from supplyshock.store.models import (
    BoardEpoch,
    Crisis,
    Listing,
    ListingPart,
    Match,
    Member,
    Notification,
    utcnow,
)

# What a member's contact becomes once the retention period of its last crisis has ended.
ERASED_CONTACT = "(erased after the retention period)"


def open_crisis(
    *, session: Session, actor: Principal, data: CrisisCreate, now: datetime | None = None
) -> CrisisPublic:
    require_operator(actor)
    if session.scalar(select(Crisis.id).where(Crisis.name == data.name)) is not None:
        raise Conflict(f"a crisis named {data.name!r} exists already")
    now = now or utcnow()
    crisis = Crisis(
        name=data.name,
        scope=data.scope,
        makers=list(data.makers),
        part_families=list(data.part_families),
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        allow_prices=data.allow_prices,
        retention_days=data.retention_days,
        status="open",
        created_at=now,
    )
    catalogue.check_scope(crisis, data.catalogue, "catalogue")
    session.add(crisis)
    session.flush()
    catalogue.insert_entries(session, crisis, data.catalogue, now)
    audit.append(
        session=session,
        actor=actor,
        action="crisis.opened",
        entity=f"crisis:{crisis.id}",
        payload=data.model_dump(mode="json"),
        now=now,
    )
    return CrisisPublic.model_validate(crisis)


def get_crisis(*, session: Session, crisis_id: str) -> CrisisPublic:
    """Crises are public to every member: they say what the exchange is open for."""
    return CrisisPublic.model_validate(_load(session, crisis_id))


def list_crises(*, session: Session) -> list[CrisisPublic]:
    rows = session.scalars(select(Crisis).order_by(Crisis.starts_on, Crisis.name))
    return [CrisisPublic.model_validate(c) for c in rows]


def _load(session: Session, crisis_id: str) -> Crisis:
    crisis = session.get(Crisis, crisis_id)
    if crisis is None:
        raise NotFound(f"no crisis {crisis_id!r}")
    return crisis


def _close(session: Session, actor: Principal | str, crisis: Crisis, now: datetime) -> int:
    """Close the crisis and every listing still open in it; returns how many listings closed."""
    crisis.status = "closed"
    crisis.closed_at = now
    listings = session.scalars(
        select(Listing).where(Listing.crisis_id == crisis.id, Listing.status == "open")
    ).all()
    for listing in listings:
        listing.status = "closed"
        listing.closed_at = now
    session.flush()
    audit.append(
        session=session,
        actor=actor,
        action="crisis.closed",
        entity=f"crisis:{crisis.id}",
        payload={"listings_closed": sorted(x.id for x in listings)},
        now=now,
    )
    return len(listings)


def close_crisis(
    *, session: Session, actor: Principal, crisis_id: str, now: datetime | None = None
) -> CrisisPublic:
    """End a crisis now; its open listings close with it. Closing twice changes nothing."""
    require_operator(actor)
    # Row lock: listing writes share-lock the crisis, so none slips in while it closes.
    crisis = session.get(Crisis, crisis_id, with_for_update=True)
    if crisis is None:
        raise NotFound(f"no crisis {crisis_id!r}")
    if crisis.status == "open":
        _close(session, actor, crisis, now or utcnow())
    return CrisisPublic.model_validate(crisis)


@dataclass(frozen=True)
class SweepReport:
    crises_closed: list[str]
    listings_expired: list[str]
    matches_expired: list[str]


def sweep(*, session: Session, now: datetime | None = None) -> SweepReport:
    """Time passing: close crises past their end date, expire listings and matches.

    Matches expire when unrevealed past their expiry or when one of their listings left the
    pool (closed with its crisis, expired, withdrawn); their quantity returns to the listings.
    Meant to run periodically (and before matching); the audit names the actor ``system:sweep``.
    """
    now = now or utcnow()
    actor = "system:sweep"
    ended: list[str] = []
    due = select(Crisis).where(Crisis.status == "open").with_for_update()
    for crisis in session.scalars(due).all():
        if now >= rules.end_of_crisis(crisis.ends_on):
            _close(session, actor, crisis, now)
            ended.append(crisis.id)
    expired = session.scalars(
        select(Listing).where(Listing.status == "open", Listing.expires_at <= now)
    ).all()
    for listing in expired:
        listing.status = "expired"
        listing.closed_at = now
        session.flush()
        audit.append(
            session=session,
            actor=actor,
            action="listing.expired",
            entity=f"listing:{listing.id}",
            payload={"version": listing.version},
            now=now,
        )
    matches_expired = expire_matches(session=session, now=now)
    return SweepReport(
        crises_closed=ended,
        listings_expired=sorted(x.id for x in expired),
        matches_expired=matches_expired,
    )


@dataclass(frozen=True)
class PurgeReport:
    crises_purged: list[str]
    listings_deleted: int
    audit_payloads_erased: int
    contacts_erased: int = 0


def purge_expired(*, session: Session, now: datetime | None = None) -> PurgeReport:
    """Delete the stock data of crises whose retention period has ended.

    A crisis closed at T with ``retention_days`` R is purged from T + R days on: its listings
    and their matches are deleted and the audit payloads about them erased (see
    :mod:`supplyshock.exchange.audit`). Then the contact (personal data) of every member that
    held listings in it and now holds none in any crisis is erased; the organisation's name and
    country stay, so the operator still knows who took part. The crisis itself and the audit
    entries (who did what, when) remain.
    """
    now = now or utcnow()
    actor = "system:retention"
    purged: list[str] = []
    deleted = erased = 0
    holders: set[str] = set()
    closed = session.scalars(
        select(Crisis).where(Crisis.status == "closed", Crisis.purged_at.is_(None))
    ).all()
    for crisis in closed:
        if crisis.closed_at is None or now < crisis.closed_at + timedelta(
            days=crisis.retention_days
        ):
            continue
        ids = session.scalars(select(Listing.id).where(Listing.crisis_id == crisis.id)).all()
        holders |= set(
            session.scalars(select(Listing.member_id).where(Listing.crisis_id == crisis.id))
        )
        # Collected before the listings go: their matches are deleted with them (cascade).
        match_ids = session.scalars(select(Match.id).where(Match.crisis_id == crisis.id)).all()
        erased += len(
            audit.erase_payloads(
                session=session,
                actor=actor,
                entities=[f"listing:{i}" for i in ids] + [f"match:{i}" for i in match_ids],
                reason=f"retention period of crisis {crisis.id} ended",
                now=now,
            )
        )
        session.execute(delete(Match).where(Match.crisis_id == crisis.id))
        # Exchange notices name the crisis's matches and, once revealed, a counterpart's
        # contact: they go with the matches (payloads are JSON, so filtered here, not in SQL).
        notices = [
            n.id
            for n in session.scalars(select(Notification).where(Notification.change_seq == 0))
            if n.payload.get("kind") == notices_kind and n.payload.get("crisis_id") == crisis.id
        ]
        for start in range(0, len(notices), 500):
            session.execute(
                delete(Notification).where(Notification.id.in_(notices[start : start + 500]))
            )
        # The board's history holds per-member quantities: it goes with the listings.
        session.execute(delete(BoardEpoch).where(BoardEpoch.crisis_id == crisis.id))
        session.execute(delete(ListingPart).where(ListingPart.crisis_id == crisis.id))
        session.execute(
            delete(Listing)
            .where(Listing.crisis_id == crisis.id)
            .execution_options(synchronize_session="fetch")
        )
        crisis.purged_at = now
        session.flush()
        audit.append(
            session=session,
            actor=actor,
            action="crisis.purged",
            entity=f"crisis:{crisis.id}",
            payload={"listings_deleted": len(ids), "matches_deleted": len(match_ids)},
            now=now,
        )
        purged.append(crisis.id)
        deleted += len(ids)
    contacts = _erase_contacts(session, holders, actor, now)
    return PurgeReport(
        crises_purged=purged,
        listings_deleted=deleted,
        audit_payloads_erased=erased,
        contacts_erased=contacts,
    )


def _erase_contacts(session: Session, member_ids: set[str], actor: str, now: datetime) -> int:
    """Erase the contact of each member that holds no listing any more; returns how many.

    A member still active in another crisis keeps its contact until that crisis is purged too.
    """
    still_active = set(
        session.scalars(select(Listing.member_id).where(Listing.member_id.in_(member_ids)))
    )
    erased = 0
    for member_id in sorted(member_ids - still_active):
        member = session.get_one(Member, member_id)
        if member.contact == ERASED_CONTACT:
            continue
        member.contact = ERASED_CONTACT
        session.flush()
        # The log never held the contact; it records that it was erased, and why.
        audit.append(
            session=session,
            actor=actor,
            action="member.contact_erased",
            entity=f"member:{member_id}",
            payload={"reason": "retention period of its last crisis ended"},
            now=now,
        )
        erased += 1
    return erased
