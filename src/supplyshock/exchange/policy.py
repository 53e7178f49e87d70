"""Who may do what on the exchange: the one place the services ask.

- the **operator** administers members, tokens and crises and sees the allocation view;
- a **member** holds listings; another member's listing is *not found*, never *forbidden*, so
  that its existence does not leak;
- the **parties** to a match (the holders of its offer and its need) see and act on it; to
  anybody else it is not found. Only the offer's holder confirms fulfilment.
"""

from __future__ import annotations

from supplyshock.domain.exchange import Listing, Match, Side
from supplyshock.exchange.errors import Forbidden, NotFound
from supplyshock.exchange.schemas import Principal


def require_operator(actor: Principal) -> None:
    if actor.role != "operator":
        raise Forbidden("only the operator may do this")


def member_of(actor: Principal, *, to: str = "hold listings") -> str:
    """The calling member's id; the operator and anybody else are refused (403).

    ``to`` completes the message "only members ...".
    """
    if actor.role != "member" or actor.member_id is None:
        raise Forbidden(f"only members {to}")
    return actor.member_id


def own_listing(actor: Principal, listing: Listing | None, listing_id: str) -> Listing:
    """The caller's own listing; a missing one and another member's are both not found."""
    member_id = member_of(actor)
    if listing is None or listing.member_id != member_id:
        raise NotFound(f"no listing {listing_id!r}")
    return listing


def listing_for_matching(actor: Principal, listing: Listing | None, listing_id: str) -> Listing:
    """A listing its holder, or the operator, may run matching for."""
    if actor.role == "member":
        return own_listing(actor, listing, listing_id)
    if actor.role != "operator":
        raise Forbidden("only members and the operator run matching")
    if listing is None:
        raise NotFound(f"no listing {listing_id!r}")
    return listing


def party_side(
    actor: Principal,
    match: Match | None,
    offer: Listing | None,
    need: Listing | None,
    match_id: str,
) -> Side:
    """The caller's side of the match; strangers (and missing matches) get not found."""
    member_id = member_of(actor, to="party to a match may see or act on it")
    side = None
    if match is not None and offer is not None and need is not None:
        side = match.side_of(member_id, offer, need)
    if side is None:
        raise NotFound(f"no match {match_id!r}")
    return side


def may_fulfil(side: Side) -> None:
    if side != "offer":
        raise Forbidden("only the offer's holder confirms fulfilment")
