"""Matches after they are proposed: accept, decline, fulfil and expiry.

States (see docs/matching.md; the state machine is :class:`supplyshock.domain.exchange.Match`)::

    proposed --need accepts--> interested --offer accepts--> revealed --offer confirms--> fulfilled
        \\________________________\\_______________________________\\--> declined (either side)
        \\________________________\\--> expired (time, or a listing left the pool)

The need's holder signals interest first and the offer's holder decides, as the competition-law
safeguards require (interest is forwarded to the holder). Declined and expired matches give
their quantity back to both listings' open quantity. What each party sees, and reading
matches, is :mod:`supplyshock.exchange.match_views` (re-exported here).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, aliased

from supplyshock.domain.exchange import (
    MATCH_TTL,
    ExchangeRuleError,
    Listing,
    Match,
    MatchState,
    Side,
    StaleVersion,
    check_version,
)
from supplyshock.exchange import audit, notices, policy
from supplyshock.exchange.errors import Conflict, RuleViolation
from supplyshock.exchange.match_views import (
    CounterpartView,
    MatchPublic,
    get_match,
    list_match_ids,
    list_matches,
    load_as_party,
    party_view,
    view,
    views,
)
from supplyshock.exchange.pseudonyms import resolve_key
from supplyshock.exchange.schemas import Principal
from supplyshock.store import models
from supplyshock.store.models import utcnow
from supplyshock.store.repository import ConcurrentWrite, ExchangeRepository, repository

__all__ = [
    "MATCH_TTL",
    "CounterpartView",
    "MatchPublic",
    "MatchState",
    "Side",
    "accept_match",
    "decline_match",
    "expire_matches",
    "fulfil_match",
    "get_match",
    "list_match_ids",
    "list_matches",
    "view",
    "views",
]


def _rule(e: ExchangeRuleError) -> RuleViolation:
    return RuleViolation(e.message, code=e.code)


def _check(match: Match, version: int | None) -> None:
    try:
        check_version("match", match.id, match.version or 0, version)
    except StaleVersion as e:
        raise Conflict(str(e)) from e


def _lock_listings(session: Session, match: Match) -> tuple[Listing, Listing]:
    """Both listings, row-locked in id order (the order matching locks them in: no deadlock)."""
    both = repository(session).lock_listings([match.offer_id, match.need_id])
    return both[match.offer_id], both[match.need_id]


def accept_match(
    *,
    session: Session,
    actor: Principal,
    match_id: str,
    version: int | None = None,
    now: datetime | None = None,
    pseudonym_key: str | None = None,
) -> MatchPublic:
    """The need's holder signals interest; then the offer's holder accepts, which reveals."""
    now = now or utcnow()
    match, offer, need, side = load_as_party(session, actor, match_id, lock=True)
    _check(match, version)
    try:
        action = match.accept(side, now, offer, need)
    except ExchangeRuleError as e:
        raise _rule(e) from e
    answer = _record(
        session, actor, (match,), match, action, {"state": match.state}, now, pseudonym_key
    )
    # The other party hears of an acceptance; both hear of the reveal (same transaction).
    other = need.member_id if side == "offer" else offer.member_id
    revealed = match.state == "revealed"
    notices.notify(
        session,
        "revealed" if revealed else "accepted",
        match,
        members=[offer.member_id, need.member_id] if revealed else [other],
        now=now,
        pseudonym_key=pseudonym_key,
    )
    return answer


def decline_match(
    *,
    session: Session,
    actor: Principal,
    match_id: str,
    version: int | None = None,
    now: datetime | None = None,
    pseudonym_key: str | None = None,
) -> MatchPublic:
    """Either side says no (also after the reveal, if the deal fell through); stock returns."""
    now = now or utcnow()
    match, _, _, side = load_as_party(session, actor, match_id, lock=True)
    _check(match, version)
    if match.state not in ("proposed", "interested", "revealed"):
        raise RuleViolation(f"match is {match.state}: nothing to decline", code="not_active")
    offer, need = _lock_listings(session, match)
    try:
        match.decline(side, now, offer, need)
    except ExchangeRuleError as e:
        raise _rule(e) from e
    return _record(
        session,
        actor,
        (offer, need, match),
        match,
        "match.declined",
        {"by": side, "quantity_returned": match.quantity},
        now,
        pseudonym_key,
    )


def fulfil_match(
    *,
    session: Session,
    actor: Principal,
    match_id: str,
    version: int | None = None,
    now: datetime | None = None,
    pseudonym_key: str | None = None,
) -> MatchPublic:
    """The offer's holder confirms the deal was done: the match closes, the stock stays gone."""
    now = now or utcnow()
    match, _, _, side = load_as_party(session, actor, match_id, lock=True)
    _check(match, version)
    policy.may_fulfil(side)
    try:
        match.fulfil(now)
    except ExchangeRuleError as e:
        raise _rule(e) from e
    return _record(
        session,
        actor,
        (match,),
        match,
        "match.fulfilled",
        {"quantity": match.quantity},
        now,
        pseudonym_key,
    )


def expire_matches(*, session: Session, now: datetime | None = None) -> list[str]:
    """Time passing: unrevealed matches past their expiry, or whose listing left the pool.

    A listing that expires before its match takes the match with it, although the match's own
    (shown) expiry is later. Returns the expired matches' ids; their quantities go back to the
    pool. Revealed matches do not expire: the parties negotiate outside the platform and
    decline if it falls through.
    """
    now = now or utcnow()
    offer, need = aliased(models.Listing), aliased(models.Listing)
    due = session.scalars(
        select(models.Match.id)
        .join(offer, offer.id == models.Match.offer_id)
        .join(need, need.id == models.Match.need_id)
        .where(
            models.Match.state.in_(("proposed", "interested")),
            or_(
                models.Match.expires_at <= now,
                offer.expires_at <= now,
                need.expires_at <= now,
                offer.status != "open",
                need.status != "open",
            ),
        )
        .order_by(models.Match.id)
    ).all()
    repo = repository(session)
    expired: list[str] = []
    for match_id in due:
        match = repo.get_match(match_id, lock=True)
        assert match is not None  # matches are deleted only with their crisis's listings
        offer_obj, need_obj = _lock_listings(session, match)
        if not match.due_to_expire(now, offer_obj, need_obj):  # settled meanwhile
            continue
        match.expire(now, offer_obj, need_obj)
        _save(repo, offer_obj, need_obj, match)
        audit.append(
            session=session,
            actor="system:sweep",
            action="match.expired",
            entity=f"match:{match.id}",
            payload={"quantity_returned": match.quantity, "version": match.version},
            now=now,
        )
        expired.append(match.id)
    # Matches still alive but expiring within 24 h: one notice each, once.
    notices.warn_expiring(session, now=now)
    return expired


def _save(repo: ExchangeRepository, *objects: Listing | Match) -> None:
    try:
        repo.save(*objects)
    except ConcurrentWrite as e:
        match_id = next(o.id for o in objects if isinstance(o, Match))
        raise Conflict(f"match {match_id} was changed concurrently: read it again") from e


def _record(
    session: Session,
    actor: Principal,
    changed: tuple[Listing | Match, ...],
    match: Match,
    action: str,
    payload: dict[str, Any],
    now: datetime,
    pseudonym_key: str | None,
) -> MatchPublic:
    """Write a match's new state, append it to the audit chain, and answer the actor's view."""
    repo = repository(session)
    _save(repo, *changed)
    audit.append(
        session=session,
        actor=actor,
        action=action,
        entity=f"match:{match.id}",
        payload={**payload, "version": match.version},
        now=now,
    )
    both = repo.listings([match.offer_id, match.need_id])
    return party_view(
        repo,
        match,
        both[match.offer_id],
        both[match.need_id],
        policy.member_of(actor),
        resolve_key(pseudonym_key),
    )
