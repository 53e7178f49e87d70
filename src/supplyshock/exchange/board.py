"""The anonymous board: need and offer per part and per part family in a crisis, with
disclosure control across cells and across readings (docs/anonymity.md).

Two separate tables are protected, one for needs and one for offers: the board publishes no
figure that combines them, so each (kind, family) is a *component* audited on its own.

Readings are **epochs**. A reading publishes a new epoch only when the pool's contributions
changed since the last one and at least ``Policy.epoch_seconds`` have passed; otherwise it
shows the last epoch again, which adds no equation for anyone. A new epoch is decided in two
steps:

1. the per-reading rules of :mod:`supplyshock.exchange.disclosure` (k members, (n, k %)
   dominance, complementary suppression), on totals rounded to ``Policy.rounding_base``;
2. the auditor (:mod:`supplyshock.exchange.auditor`) on every figure published so far in the
   crisis plus the candidate, with each coalition of k - 1 members knowing its own listings.
   While it finds a member's quantity pinned to within p %, the figure holding that cell is
   coarsened (rounded to ``coarse_factor`` times the base), then suppressed (rule
   ``auditor``), and the audit runs again. A component whose contributions did not change
   since the last epoch repeats that epoch's figures: same rows, same variables, no new
   equation, so no audit is needed.

Epochs are stored (``board_epochs``) with the contributions behind them, because amendments
overwrite listings; they are deleted with the crisis's listings at retention. The trend
(``change``) is the difference of two *published* figures, the current one and the one
published ``TREND_DAYS`` earlier, so it tells nothing the two readings did not.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from supplyshock.exchange import auditor, rules
from supplyshock.exchange.disclosure import Policy, band, members, protect_family, rounded
from supplyshock.exchange.errors import NotFound
from supplyshock.exchange.schemas import Principal
from supplyshock.store.models import BoardEpoch, Crisis, Listing, utcnow

log = logging.getLogger(__name__)

TREND_DAYS = 7
UNCLASSIFIED = "(unclassified)"
TOTAL = ""  # the figure id of a family total; a part's figure id is its part key
KINDS = ("need", "offer")
BoardBy = Literal["part", "family"]
# kind -> family -> part key -> member -> units
Contrib = dict[str, dict[str, dict[str, dict[str, int]]]]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class BoardCell(_Out):
    """One published or suppressed total. A suppressed cell gives the rule and why, no number.

    A published ``total`` is rounded to ``precision`` units: the true total lies within
    ``total - precision/2`` and ``total + precision/2``.
    """

    status: Literal["published", "suppressed"]
    total: int | None = None
    precision: int | None = None
    members: int | None = None
    change: int | None = None  # against the figure published TREND_DAYS earlier
    rule: Literal["min_members", "dominance", "complementary", "auditor"] | None = None
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
    rounding_base: int
    protection: float
    epoch_seconds: int


class BoardPublic(_Out):
    crisis_id: str
    by: BoardBy
    as_of: datetime  # when the epoch shown was published
    epoch: int
    policy: BoardPolicy
    rows: list[BoardRow]


def _family(listing: Listing) -> str:
    fam = (listing.part_family or "").strip().casefold()
    return fam or UNCLASSIFIED


def _contributions(session: Session, crisis_id: str, now: datetime) -> Contrib:
    """Open quantity per member in each cell, now."""
    out: Contrib = {kind: {} for kind in KINDS}
    rows = session.scalars(
        select(Listing).where(Listing.crisis_id == crisis_id, Listing.status == "open")
    )
    for x in rows:
        if x.created_at > now or x.expires_at <= now or x.quantity_open <= 0:
            continue
        cell = (
            out[x.kind]
            .setdefault(_family(x), {})
            .setdefault(rules.part_key(x.part_number, x.maker), {})
        )
        cell[x.member_id] = cell.get(x.member_id, 0) + x.quantity_open
    return out


def _fingerprint(contrib: Contrib) -> str:
    return hashlib.sha256(json.dumps(contrib, sort_keys=True).encode()).hexdigest()


def _latest(session: Session, crisis_id: str) -> BoardEpoch | None:
    return session.scalars(
        select(BoardEpoch)
        .where(BoardEpoch.crisis_id == crisis_id)
        .order_by(BoardEpoch.seq.desc())
        .limit(1)
    ).first()


def _published(total: int, base: int, count: int) -> dict[str, Any]:
    return {
        "status": "published",
        "total": rounded(total, base),
        "precision": base,
        "members": count,
    }


def _suppressed(rule: str, reason: str) -> dict[str, Any]:
    return {"status": "suppressed", "rule": rule, "reason": reason}


def _figures(epoch: int, cells: dict[str, dict[str, Any]], keys: set[str]) -> list[auditor.Figure]:
    """The auditor's rows for one component's published cells of one epoch."""
    out = []
    for fid, cell in cells.items():
        if cell["status"] != "published":
            continue
        lo, hi = band(cell["total"], cell["precision"])
        out.append(
            auditor.Figure(epoch, frozenset(keys if fid == TOTAL else {fid}), float(lo), float(hi))
        )
    return out


def _decide(
    parts: dict[str, dict[str, int]],
    history: list[tuple[dict[str, dict[str, int]], dict[str, dict[str, Any]]]],
    policy: Policy,
) -> dict[str, dict[str, Any]]:
    """The figures of one component for a new epoch, given its history (contributions and
    published cells per earlier epoch): per-reading rules, then the auditor."""
    keys = set(parts)
    decided = protect_family(parts, policy)
    merged: dict[str, int] = {}
    for cell in parts.values():
        for m, q in cell.items():
            merged[m] = merged.get(m, 0) + q
    contrib = {TOTAL: merged, **parts}
    level = dict.fromkeys(contrib, 0)
    rule = {TOTAL: decided.total, **decided.parts}

    def cells() -> dict[str, dict[str, Any]]:
        out = {}
        for fid, cell in contrib.items():
            if not rule[fid].published:
                out[fid] = _suppressed(str(rule[fid].rule), rule[fid].detail)
            elif level[fid] >= 2:
                out[fid] = _suppressed(
                    "auditor",
                    "hidden: with what was published before, a coalition could pin down a "
                    "member's quantity",
                )
            else:
                base = policy.rounding_base * policy.coarse_factor ** level[fid]
                out[fid] = _published(sum(cell.values()), base, members(cell))
        return out

    epochs = [h for h, _ in history] + [parts]
    old = [f for e, (_, pub) in enumerate(history) for f in _figures(e, pub, keys)]
    for _ in range(2 * len(contrib) + 1):
        candidate = cells()
        result = auditor.audit(
            epochs,
            old + _figures(len(history), candidate, keys),
            coalition_size=policy.min_members - 1,
            protection=policy.protection,
            max_lps=policy.max_lps,
            first_only=True,
        )
        if result.safe:
            return candidate
        open_ = [f for f, c in candidate.items() if c["status"] == "published" and contrib[f]]
        if not result.complete or not open_:
            break
        exposed = result.exposures[0].cell
        # Coarsen the figures holding the exposed part (its own, then its family total) one
        # level at a time, least coarsened first; if neither is open, the smallest other one.
        own = [f for f in (exposed, TOTAL) if f in open_]
        if own:
            level[min(own, key=lambda f: level[f])] += 1
        else:
            level[min(open_, key=lambda f: (sum(contrib[f].values()), f))] += 1
    # Out of budget, or pinned by earlier epochs alone: publish nothing new here.
    if not result.complete or result.exposures:
        log.warning("board auditor: component left suppressed (%s LPs)", result.lps)
    for fid in contrib:
        if contrib[fid]:
            level[fid] = 2
    return cells()


def _publish(
    session: Session, crisis_id: str, contrib: Contrib, fp: str, now: datetime, policy: Policy
) -> BoardEpoch:
    history = list(
        session.scalars(
            select(BoardEpoch).where(BoardEpoch.crisis_id == crisis_id).order_by(BoardEpoch.seq)
        )
    )
    families: dict[str, set[str]] = {}
    for c in [*(h.contributions for h in history), contrib]:
        for kind in KINDS:
            for fam, parts in c.get(kind, {}).items():
                families.setdefault(fam, set()).update(parts)
    published: dict[str, dict[str, Any]] = {kind: {} for kind in KINDS}
    for kind in KINDS:
        for fam, keys in families.items():
            parts = {k: contrib[kind].get(fam, {}).get(k, {}) for k in sorted(keys)}
            past = [
                (
                    h.contributions.get(kind, {}).get(fam, {}),
                    _flat(h.published.get(kind, {}).get(fam)),
                )
                for h in history
            ]
            same = past and past[-1][0] == {k: v for k, v in parts.items() if v}
            if same and set(past[-1][1]) == {TOTAL, *keys}:
                # Unchanged since the last epoch: the same figures add no equation.
                cells = past[-1][1]
            else:
                cells = _decide(parts, past, policy)
            published[kind][fam] = {
                "total": cells[TOTAL],
                "parts": {k: cells[k] for k in sorted(keys)},
            }
    row = BoardEpoch(
        crisis_id=crisis_id,
        seq=history[-1].seq + 1 if history else 1,
        at=now,
        fingerprint=fp,
        contributions=contrib,
        published=published,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        # Another reading published this epoch first: show that one.
        latest = _latest(session, crisis_id)
        assert latest is not None
        return latest
    return row


def _flat(fam: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """A stored family's cells keyed by figure id (TOTAL for the total)."""
    if not fam:
        return {}
    return {TOTAL: fam["total"], **fam["parts"]}


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
    if session.get(Crisis, crisis_id) is None:
        raise NotFound(f"no crisis {crisis_id!r}")
    epoch = _latest(session, crisis_id)
    # Within an epoch the last snapshot is shown whatever changed, so the pool is read only
    # once an epoch has passed: on crisis day most readings cost one indexed row, not a scan
    # of every open listing (the bench measured that scan at a third of the server's CPU).
    if epoch is None or now - epoch.at >= timedelta(seconds=policy.epoch_seconds):
        contrib = _contributions(session, crisis_id, now)
        fp = _fingerprint(contrib)
        if epoch is None or epoch.fingerprint != fp:
            epoch = _publish(session, crisis_id, contrib, fp, now, policy)
    then = session.scalars(
        select(BoardEpoch)
        .where(
            BoardEpoch.crisis_id == crisis_id,
            BoardEpoch.at <= epoch.at - timedelta(days=TREND_DAYS),
        )
        .order_by(BoardEpoch.seq.desc())
        .limit(1)
    ).first()
    return _render(crisis_id, by, epoch, then, policy)


def _cell(now_cell: dict[str, Any] | None, then_cell: dict[str, Any] | None) -> BoardCell:
    if now_cell is None:  # a family that appeared after a later-added kind: nothing held
        return BoardCell(status="published", total=0, members=0)
    cell = BoardCell.model_validate(now_cell)
    if cell.status == "published" and then_cell and then_cell["status"] == "published":
        cell = cell.model_copy(update={"change": now_cell["total"] - then_cell["total"]})
    return cell


def _render(
    crisis_id: str, by: BoardBy, epoch: BoardEpoch, then: BoardEpoch | None, policy: Policy
) -> BoardPublic:
    pub = epoch.published
    earlier = then.published if then is not None else {}
    families = sorted({fam for kind in KINDS for fam in pub.get(kind, {})})
    rows: list[BoardRow] = []
    for fam in families:
        now_f = {kind: _flat(pub.get(kind, {}).get(fam)) for kind in KINDS}
        then_f = {kind: _flat(earlier.get(kind, {}).get(fam)) for kind in KINDS}
        ids = [TOTAL] if by == "family" else sorted({k for f in now_f.values() for k in f} - {""})
        for fid in ids:
            cells = {kind: _cell(now_f[kind].get(fid), then_f[kind].get(fid)) for kind in KINDS}
            maker, _, part_number = fid.partition("|")
            rows.append(
                BoardRow(
                    family=fam,
                    part_number=part_number or None,
                    maker=maker or None,
                    need=cells["need"],
                    offer=cells["offer"],
                )
            )
    return BoardPublic(
        crisis_id=crisis_id,
        by=by,
        as_of=epoch.at,
        epoch=epoch.seq,
        policy=BoardPolicy(
            min_members=policy.min_members,
            dominance_n=policy.dominance_n,
            dominance_share=policy.dominance_share,
            trend_days=TREND_DAYS,
            rounding_base=policy.rounding_base,
            protection=policy.protection,
            epoch_seconds=policy.epoch_seconds,
        ),
        rows=rows,
    )
