"""Exchange events as member notifications: a match proposed, accepted, revealed or expiring.

They are rows of the same ``notifications`` table as registry changes (docs/registry.md), so a
member sees them in ``GET /notifications`` and every webhook it registered with a watch gets
them, signed and retried by :func:`supplyshock.services.registry_watch.deliver_due` (this
layer sits below services: it only writes the rows, the sender picks up the pending ones).

Each notice is written in the session of the state change, so it commits or rolls back with it.
Its payload is built from the member's own match view
(:func:`supplyshock.exchange.match_views.party_view`): before the reveal the counterpart is a
pseudonym, part number and maker only; never a member id, name, contact or listing id. Every
time in it is a day, and the row's ``created_at`` is the day too (docs/anonymity.md, section 4).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from supplyshock.domain.exchange import MATCH_TTL, Listing, Match, start_of_day
from supplyshock.exchange.match_views import party_view
from supplyshock.exchange.pseudonyms import resolve_key
from supplyshock.store import models
from supplyshock.store.models import Notification, RegistryWatch
from supplyshock.store.repository import repository

Event = Literal["proposed", "accepted", "revealed", "expiring"]
KIND = "exchange_match"
# Registry notifications carry the change's sequence number (from 1); exchange events have none.
NO_CHANGE = 0
# "About to expire": within this long of the match's (shown, day-aligned) expiry.
EXPIRING_WITHIN = timedelta(hours=24)


def _payload(
    session: Session,
    event: Event,
    match: Match,
    offer: Listing,
    need: Listing,
    member_id: str,
    key: str,
) -> dict[str, Any]:
    seen = party_view(repository(session), match, offer, need, member_id, key)
    counterpart: dict[str, Any] = {
        "pseudonym": seen.counterpart.pseudonym,
        "part_number": seen.counterpart.part_number,
        "maker": seen.counterpart.maker,
    }
    if match.revealed:
        # After the reveal the member's own view names the counterpart (as GET /matches does).
        counterpart = seen.counterpart.model_dump(mode="json")
    return {
        "kind": KIND,
        "event": event,
        "match_id": seen.id,
        "crisis_id": seen.crisis_id,
        "state": seen.state,
        "side": seen.side,
        "my_listing_id": seen.my_listing_id,
        "quantity": seen.quantity,
        "counterpart": counterpart,
        "expires_on": seen.expires_at.date().isoformat(),
    }


def _targets(session: Session, member_id: str) -> list[RegistryWatch]:
    """Where a member's notice goes: once per webhook it registered, else its oldest watch.

    A notification row belongs to a watch (the webhook's secret is the watch's); a member with
    several webhooks gets the event at each, a member without one still sees it in the UI.
    A member with no watch at all has asked for no notifications and gets none.
    """
    q = select(RegistryWatch).where(RegistryWatch.member_id == member_id)
    watches = list(session.scalars(q.order_by(RegistryWatch.created_at, RegistryWatch.id)))
    hooked = [w for w in watches if w.webhook_url]
    return hooked or watches[:1]


def notify(
    session: Session,
    event: Event,
    match: Match,
    *,
    members: list[str],
    now: datetime,
    pseudonym_key: str | None = None,
) -> int:
    """Write the ``event`` notice of ``match`` for each of ``members`` (its parties); rows made.

    Webhook deliveries are queued (``pending``, due ``now``); nothing is sent here.
    """
    key = resolve_key(pseudonym_key)
    both = repository(session).listings([match.offer_id, match.need_id])
    offer, need = both[match.offer_id], both[match.need_id]
    made = 0
    for member_id in members:
        payload = _payload(session, event, match, offer, need, member_id, key)
        for watch in _targets(session, member_id):
            session.add(
                Notification(
                    member_id=member_id,
                    watch_id=watch.id,
                    change_seq=NO_CHANGE,
                    payload=payload,
                    # Shown to the member: a day, like every time in its match views.
                    created_at=start_of_day(now),
                    webhook_state="pending" if watch.webhook_url else "none",
                    next_attempt_at=now if watch.webhook_url else None,
                )
            )
            made += 1
    session.flush()
    return made


def parties(session: Session, match: Match) -> tuple[str, str]:
    """(offer holder, need holder) member ids."""
    both = repository(session).listings([match.offer_id, match.need_id])
    return both[match.offer_id].member_id, both[match.need_id].member_id


def warn_expiring(session: Session, *, now: datetime, pseudonym_key: str | None = None) -> int:
    """One ``expiring`` notice per unrevealed match whose expiry is within 24 h; rows made.

    Uses the match's shown expiry only: warning earlier because a counterpart's listing expires
    first would reveal that listing's expiry. Idempotent: a match already warned is skipped
    (the match row is locked first, so two sweeps at once do not both warn).
    """
    due = session.scalars(
        select(models.Match.id)
        .where(
            models.Match.state.in_(("proposed", "interested")),
            models.Match.expires_at > now,
            models.Match.expires_at <= now + EXPIRING_WITHIN,
        )
        .order_by(models.Match.id)
    ).all()
    repo = repository(session)
    made = 0
    for match_id in due:
        match = repo.get_match(match_id, lock=True)
        assert match is not None
        if _warned(session, match, now):
            continue
        made += notify(
            session,
            "expiring",
            match,
            members=list(parties(session, match)),
            now=now,
            pseudonym_key=pseudonym_key,
        )
    return made


def _warned(session: Session, match: Match, now: datetime) -> bool:
    # Payloads are JSON (no portable index on SQLite and PostgreSQL): read the parties' exchange
    # notices of the match's lifetime and look. A match lives 8 days at most (MATCH_TTL + 1).
    since = start_of_day(now) - MATCH_TTL - timedelta(days=2)
    rows = session.scalars(
        select(Notification.payload).where(
            Notification.member_id.in_(parties(session, match)),
            Notification.change_seq == NO_CHANGE,
            Notification.created_at >= since,
        )
    )
    return any(p.get("match_id") == match.id and p.get("event") == "expiring" for p in rows)
