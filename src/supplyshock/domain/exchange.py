"""The exchange's listings and matches as pure objects: their states and their quantity accounting.

No database and no permissions here (``exchange/policy.py`` says who may do what, the
repository in ``store/repository.py`` maps these objects to rows). What this module guarantees:

- **a unit is never promised twice**: ``Listing.promise`` refuses more than the open quantity,
  and a match promises the same units on its offer and its need at once;
- **amending cannot go below what is promised**: ``Listing.amend_quantity``;
- **the state machines** of DESIGN.md::

      listing: open -> withdrawn | expired | closed
      match:   proposed -> interested -> revealed -> fulfilled
                   \\-> declined (either side, also after the reveal) | expired (not revealed)

  Declined and expired matches give their quantity back to both listings.

A refused step raises :class:`ExchangeRuleError` with a stable ``code`` that the services turn
into the API's error codes unchanged (``not_open``, ``quantity_promised``, ...).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal

Kind = Literal["offer", "need"]
ListingStatus = Literal["open", "withdrawn", "expired", "closed"]
MatchState = Literal["proposed", "interested", "revealed", "fulfilled", "declined", "expired"]
Side = Literal["offer", "need"]

ACTIVE_STATES: tuple[MatchState, ...] = ("proposed", "interested", "revealed")
UNREVEALED_STATES: tuple[MatchState, ...] = ("proposed", "interested")

# How long the parties have to agree, counted from the end of the day the match was proposed:
# between 7 and 8 days. The platform sets it; it is never copied from a listing, whose private
# expiry would otherwise show through (issue 12).
MATCH_TTL = timedelta(days=7)


class ExchangeRuleError(Exception):
    """A step the exchange's rules refuse; ``code`` is stable (the API shows it)."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class StaleVersion(Exception):
    """The caller read an older version of the object than the one stored."""


def new_id() -> str:
    """Random identifiers: sequential ones would tell members how busy the exchange is."""
    return uuid.uuid4().hex


def start_of_day(at: datetime) -> datetime:
    """Midnight UTC of the day ``at`` falls on: the grain of every time shown about others."""
    return datetime.combine(at.astimezone(UTC).date(), time(0), UTC)


def match_expiry(proposed_at: datetime) -> datetime:
    """When a match proposed at ``proposed_at`` expires: day-aligned, the same for everyone.

    Every match proposed on one day expires at the same instant, so the expiry tells a member
    nothing it could compare with another member's view (it is a function of the day alone).
    """
    return start_of_day(proposed_at) + timedelta(days=1) + MATCH_TTL


def check_version(kind: str, entity_id: str, current: int, expected: int | None) -> None:
    if expected is not None and expected != current:
        raise StaleVersion(
            f"{kind} {entity_id} is at version {current}, not {expected}: read it again and retry"
        )


@dataclass(eq=False)
class Listing:
    """An offer or a need. ``quantity_open`` is what is not promised to an active match."""

    id: str
    kind: Kind
    crisis_id: str
    member_id: str
    part_number: str
    maker: str
    part_family: str | None
    alternates: list[dict[str, str]]
    quantity: int
    quantity_open: int
    date_code: str | None
    max_lots: int | None
    authorised_channel: bool
    original_packaging: bool
    traceability: bool
    region: str
    window_start: date
    window_end: date
    expires_at: datetime
    status: ListingStatus
    days_of_supply: float | None
    margin_per_unit: float | None
    price_per_unit: Decimal | None
    currency: str | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    version: int | None = None  # None until first stored

    def __post_init__(self) -> None:
        if self.quantity <= 0:
            raise ExchangeRuleError("quantity must be positive", code="invalid")
        if not 0 <= self.quantity_open <= self.quantity:
            raise ExchangeRuleError("open quantity out of range", code="invalid")

    @property
    def promised(self) -> int:
        """Units promised to active matches."""
        return self.quantity - self.quantity_open

    def usable(self, now: datetime) -> bool:
        """Open, not expired, with stock or need left to match."""
        return self.status == "open" and self.quantity_open > 0 and self.expires_at > now

    def require_open(self) -> None:
        if self.status != "open":
            raise ExchangeRuleError(f"listing is {self.status}, not open", code="not_open")

    def amend_quantity(self, quantity: int) -> None:
        """Change the total; the open quantity moves by the same amount, promises stay."""
        self.require_open()
        if quantity <= 0:
            raise ExchangeRuleError("quantity must be positive", code="invalid")
        if quantity < self.promised:
            raise ExchangeRuleError(
                f"{self.promised} units are already promised; quantity cannot go below that",
                code="quantity_promised",
            )
        self.quantity_open = quantity - self.promised
        self.quantity = quantity

    def promise(self, units: int) -> None:
        """Take ``units`` out of the open quantity; never more than is open."""
        if units <= 0:
            raise ExchangeRuleError("a promise is of a positive quantity", code="invalid")
        if units > self.quantity_open:
            raise ExchangeRuleError(
                f"listing {self.id} has {self.quantity_open} units open, not {units}",
                code="over_promise",
            )
        self.quantity_open -= units

    def release(self, units: int) -> None:
        """Give ``units`` back to the open quantity (a match was declined or expired).

        Capped at the total: an amend may have lowered it to exactly what was promised.
        """
        self.quantity_open = min(self.quantity, self.quantity_open + units)

    def _leave(self, status: ListingStatus, now: datetime) -> None:
        self.require_open()
        self.status = status
        self.closed_at = now
        self.updated_at = now

    def withdraw(self, now: datetime) -> None:
        self._leave("withdrawn", now)

    def expire(self, now: datetime) -> None:
        self._leave("expired", now)

    def close(self, now: datetime) -> None:
        self._leave("closed", now)


@dataclass(eq=False)
class Match:
    """A pairing of an offer and a need with the quantity promised from both."""

    id: str
    crisis_id: str
    offer_id: str
    need_id: str
    quantity: int
    state: MatchState
    basis: dict[str, Any]
    expires_at: datetime
    created_at: datetime
    updated_at: datetime
    need_accepted_at: datetime | None = None
    offer_accepted_at: datetime | None = None
    closed_at: datetime | None = None
    declined_by: Side | None = None
    version: int | None = None

    @classmethod
    def propose(
        cls, offer: Listing, need: Listing, quantity: int, basis: dict[str, Any], now: datetime
    ) -> Match:
        """Promise ``quantity`` units of the offer to the need (both must have them open)."""
        if offer.kind != "offer" or need.kind != "need":
            raise ExchangeRuleError("a match pairs an offer with a need", code="invalid")
        if offer.crisis_id != need.crisis_id:
            raise ExchangeRuleError("a match stays within one crisis", code="invalid")
        if offer.member_id == need.member_id:
            raise ExchangeRuleError("a member is not matched with itself", code="invalid")
        if not (offer.usable(now) and need.usable(now)):
            raise ExchangeRuleError("both listings must be open", code="listing_not_open")
        if quantity > need.quantity_open:
            raise ExchangeRuleError("more than the need asks for", code="over_promise")
        offer.promise(quantity)
        need.promise(quantity)
        return cls(
            id=new_id(),
            crisis_id=offer.crisis_id,
            offer_id=offer.id,
            need_id=need.id,
            quantity=quantity,
            state="proposed",
            basis=basis,
            expires_at=match_expiry(now),
            created_at=now,
            updated_at=now,
        )

    def side_of(self, member_id: str, offer: Listing, need: Listing) -> Side | None:
        """Which side ``member_id`` holds, or None for a stranger."""
        if member_id == offer.member_id:
            return "offer"
        if member_id == need.member_id:
            return "need"
        return None

    @property
    def revealed(self) -> bool:
        return self.state in ("revealed", "fulfilled")

    def lapses_at(self, offer: Listing, need: Listing) -> datetime:
        """When the match stops being acceptable: its own expiry, or a listing's, if earlier.

        Kept server-side: the expiry shown to members is ``expires_at`` alone.
        """
        return min(self.expires_at, offer.expires_at, need.expires_at)

    def due_to_expire(self, now: datetime, offer: Listing, need: Listing) -> bool:
        """Unrevealed and past its time, or one of its listings left the pool."""
        return self.state in UNREVEALED_STATES and (
            now >= self.lapses_at(offer, need) or offer.status != "open" or need.status != "open"
        )

    def accept(self, side: Side, now: datetime, offer: Listing, need: Listing) -> str:
        """The need's holder signals interest; then the offer's holder accepts (the reveal).

        Returns the audit action (``match.interest`` or ``match.revealed``).
        """
        if self.state not in UNREVEALED_STATES:
            raise ExchangeRuleError(
                f"match is {self.state}: nothing to accept", code="not_acceptable"
            )
        if now >= self.lapses_at(offer, need):
            raise ExchangeRuleError("match has expired", code="match_expired")
        if offer.status != "open" or need.status != "open":
            raise ExchangeRuleError(
                "a listing of this match left the pool", code="listing_not_open"
            )
        self.updated_at = now
        if side == "need":
            if self.state == "interested":
                raise ExchangeRuleError("interest was already signalled", code="already_accepted")
            self.state = "interested"
            self.need_accepted_at = now
            return "match.interest"
        if self.state == "proposed":
            # The holder decides on interest forwarded to it; it does not approach buyers.
            raise ExchangeRuleError(
                "the need's holder has not signalled interest yet", code="no_interest_yet"
            )
        self.state = "revealed"
        self.offer_accepted_at = now
        return "match.revealed"

    def decline(self, side: Side, now: datetime, offer: Listing, need: Listing) -> None:
        """Either side says no (also after the reveal); the quantity returns to both listings."""
        if self.state not in ACTIVE_STATES:
            raise ExchangeRuleError(f"match is {self.state}: nothing to decline", code="not_active")
        self._give_back(offer, need)
        self.state = "declined"
        self.declined_by = side
        self.closed_at = self.updated_at = now

    def fulfil(self, now: datetime) -> None:
        """The deal was done: the match closes and the stock stays gone."""
        if self.state != "revealed":
            raise ExchangeRuleError(f"match is {self.state}, not revealed", code="not_revealed")
        self.state = "fulfilled"
        self.closed_at = self.updated_at = now

    def expire(self, now: datetime, offer: Listing, need: Listing) -> None:
        if self.state not in UNREVEALED_STATES:
            raise ExchangeRuleError(f"match is {self.state}: it does not expire", code="not_active")
        self._give_back(offer, need)
        self.state = "expired"
        self.closed_at = self.updated_at = now

    def _give_back(self, offer: Listing, need: Listing) -> None:
        if (offer.id, need.id) != (self.offer_id, self.need_id):
            raise ExchangeRuleError("these are not this match's listings", code="invalid")
        offer.release(self.quantity)
        need.release(self.quantity)
