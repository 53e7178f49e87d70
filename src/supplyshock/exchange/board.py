"""The anonymous board: need and offer per part and per part family in a crisis, with
disclosure control (see :mod:`supplyshock.exchange.disclosure` and docs/anonymity.md).

Two separate tables are protected, one for needs and one for offers: the board publishes no
figure that combines them (no balance, no grand total), so hiding a need cell never depends on
an offer cell. A row is one part *within one family*: a part that members file under two
families makes two rows, so each part cell sits in exactly one family equation.

Trend: the change of a cell's total against ``TREND_DAYS`` earlier. There is no quantity
history, so the earlier state is reconstructed from the listings' timestamps: a listing counts
at instant t if it was created at or before t, not closed (withdrawn, expired, closed) by t and
not past its expiry at t, with the open quantity it has *now* (or had when it closed). Amendments
and promises made between t and now are therefore attributed to t as well. The earlier table
gets the same disclosure control, and a change is published only where the cell is published
in both tables (a published total and its published change would otherwise give the earlier
total away).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from supplyshock.exchange import rules
from supplyshock.exchange.disclosure import (
    Contributions,
    Decision,
    FamilyDecision,
    Policy,
    cell_total,
    members,
    merge,
    protect_family,
)
from supplyshock.exchange.errors import NotFound
from supplyshock.exchange.schemas import ListingKind, Principal
from supplyshock.store.models import Crisis, Listing, utcnow

TREND_DAYS = 7
UNCLASSIFIED = "(unclassified)"
BoardBy = Literal["part", "family"]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class BoardCell(_Out):
    """One published or suppressed total. A suppressed cell gives the rule and why, no number."""

    status: Literal["published", "suppressed"]
    total: int | None = None
    members: int | None = None
    change: int | None = None  # against TREND_DAYS earlier; None where it would disclose
    rule: Literal["min_members", "dominance", "complementary"] | None = None
    reason: str | None = None


class BoardRow(_Out):
    family: str
    part_number: str | None = None  # upper-cased, as matching compares parts
    maker: str | None = None  # case-folded
    need: BoardCell
    offer: BoardCell


class BoardPolicy(_Out):
    min_members: int
    dominance_n: int
    dominance_share: float
    trend_days: int


class BoardPublic(_Out):
    crisis_id: str
    by: BoardBy
    as_of: datetime
    policy: BoardPolicy
    rows: list[BoardRow]


# (family, part key) -> member -> quantity, for one listing kind
_Table = dict[str, dict[str, dict[str, float]]]


def _family(listing: Listing) -> str:
    fam = (listing.part_family or "").strip().casefold()
    return fam or UNCLASSIFIED


def _counts_at(listing: Listing, at: datetime) -> bool:
    """Whether the listing was in the pool at ``at`` (see the module's trend approximation)."""
    if listing.created_at > at or listing.expires_at <= at or listing.quantity_open <= 0:
        return False
    if listing.closed_at is not None:
        return listing.closed_at > at
    return listing.status == "open"


def _tables(rows: list[Listing], at: datetime) -> dict[str, _Table]:
    tables: dict[str, _Table] = {"need": {}, "offer": {}}
    for listing in rows:
        if not _counts_at(listing, at):
            continue
        fam = tables[listing.kind].setdefault(_family(listing), {})
        cell = fam.setdefault(rules.part_key(listing.part_number, listing.maker), {})
        cell[listing.member_id] = cell.get(listing.member_id, 0.0) + listing.quantity_open
    return tables


def _protect(table: _Table, keys: dict[str, set[str]], policy: Policy) -> dict[str, FamilyDecision]:
    """Decide every family of one table, over the same part keys as the other tables."""
    return {
        fam: protect_family({k: table.get(fam, {}).get(k, {}) for k in sorted(parts)}, policy)
        for fam, parts in keys.items()
    }


def _cell(
    now_cell: Contributions, then_cell: Contributions, now: Decision, then: Decision
) -> BoardCell:
    if not now.published:
        return BoardCell(status="suppressed", rule=now.rule, reason=now.detail)
    total = round(cell_total(now_cell))
    change = total - round(cell_total(then_cell)) if then.published else None
    return BoardCell(status="published", total=total, members=members(now_cell), change=change)


def get_board(
    *,
    session: Session,
    actor: Principal,
    crisis_id: str,
    by: BoardBy = "part",
    policy: Policy | None = None,
    now: datetime | None = None,
) -> BoardPublic:
    """The board of one crisis, for any authenticated caller (it holds only safe aggregates).

    ``actor`` is accepted for symmetry with the other services: every role sees the same board,
    the operator included, so that the figures one member sees never depend on who they are.
    """
    del actor
    policy = policy or Policy()
    now = now or utcnow()
    then = now - timedelta(days=TREND_DAYS)
    if session.get(Crisis, crisis_id) is None:
        raise NotFound(f"no crisis {crisis_id!r}")
    # Everything that was in the pool at `then` or is now: open, or closed after `then`.
    rows = list(
        session.scalars(
            select(Listing).where(
                Listing.crisis_id == crisis_id,
                Listing.created_at <= now,
                or_(Listing.status == "open", Listing.closed_at > then),
            )
        )
    )
    current, earlier = _tables(rows, now), _tables(rows, then)
    keys: dict[str, set[str]] = defaultdict(set)
    for tables in (current, earlier):
        for table in tables.values():
            for fam, parts in table.items():
                keys[fam].update(parts)
    kinds: tuple[ListingKind, ...] = ("need", "offer")
    now_dec = {kind: _protect(current[kind], keys, policy) for kind in kinds}
    then_dec = {kind: _protect(earlier[kind], keys, policy) for kind in kinds}

    out: list[BoardRow] = []
    for fam in sorted(keys):
        if by == "family":
            cells = {}
            for kind in kinds:
                now_total = merge(list(current[kind].get(fam, {}).values()))
                then_total = merge(list(earlier[kind].get(fam, {}).values()))
                cells[kind] = _cell(
                    now_total, then_total, now_dec[kind][fam].total, then_dec[kind][fam].total
                )
            out.append(BoardRow(family=fam, need=cells["need"], offer=cells["offer"]))
            continue
        for key in sorted(keys[fam]):
            maker, _, part_number = key.partition("|")
            cells = {
                kind: _cell(
                    current[kind].get(fam, {}).get(key, {}),
                    earlier[kind].get(fam, {}).get(key, {}),
                    now_dec[kind][fam].parts[key],
                    then_dec[kind][fam].parts[key],
                )
                for kind in kinds
            }
            out.append(
                BoardRow(
                    family=fam,
                    part_number=part_number,
                    maker=maker,
                    need=cells["need"],
                    offer=cells["offer"],
                )
            )
    return BoardPublic(
        crisis_id=crisis_id,
        by=by,
        as_of=now,
        policy=BoardPolicy(
            min_members=policy.min_members,
            dominance_n=policy.dominance_n,
            dominance_share=policy.dominance_share,
            trend_days=TREND_DAYS,
        ),
        rows=out,
    )
