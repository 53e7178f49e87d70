"""Statistical disclosure control for the anonymous board: which aggregates may be published.

Pure code (no database), so the rules can be checked by hand. The board publishes, per part
family, a family total and the totals of its parts; the family total is the sum of the parts.
A *cell* is one such total together with who contributed how much to it.

Primary suppression (per cell):

- **minimum members** — fewer than ``k`` distinct members contribute (default k = 3);
- **dominance** — the ``n`` largest contributors hold more than ``share`` of the total (the
  (n, k %) rule of statistical offices; defaults n = 1, 80 %).

Secondary (complementary) suppression, per family: the published cells must not let anyone
compute a hidden one. With one equation ``total = Σ parts`` the only quantity a reader can
derive beyond the published cells is the *remainder* ``total − Σ published parts`` (if the
total is published) or the total itself (if every part is). So:

- if the total is published and some parts are hidden, the remainder is the sum of the hidden
  parts; it must cover at least two cells **and itself pass the primary rules** (checked on the
  merged contributions). Otherwise the smallest published non-empty part is hidden as well, and
  so on; if nothing is left to hide, the total is hidden;
- if the total is hidden and every part is published, the smallest non-empty part is hidden.

Hence every quantity derivable from a published family — a published cell or the remainder —
is a sum over at least ``k`` members none of whom (nor any ``n`` of whom) dominate it. Checking
the remainder, not only "two cells hidden", matters: a complementary cell that an attacker owns
entirely would otherwise hand them the victim's cell by subtraction (docs/anonymity.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Contributions = Mapping[str, float]  # member id -> quantity that member contributes to a cell
Rule = Literal["min_members", "dominance", "complementary", "auditor"]


@dataclass(frozen=True)
class Policy:
    """Parameters of the rules: ``min_members`` is k, ``dominance_n`` and ``dominance_share``
    the (n, k %) dominance rule. The rest drive the board's auditor across readings
    (:mod:`supplyshock.exchange.auditor`): totals are published rounded to ``rounding_base``
    units (then to ``coarse_factor`` times that before a figure is suppressed), every value
    needs ``protection`` (p) on both sides against coalitions of k - 1 members, a new reading
    is published at most every ``epoch_seconds``, and one audit solves at most ``max_lps``."""

    min_members: int = 3
    dominance_n: int = 1
    dominance_share: float = 0.80
    rounding_base: int = 100
    coarse_factor: int = 10
    protection: float = 0.10
    epoch_seconds: int = 0
    max_lps: int = 2000

    def __post_init__(self) -> None:
        if self.min_members < 1:
            raise ValueError("min_members must be at least 1")
        if self.dominance_n < 1:
            raise ValueError("dominance_n must be at least 1")
        if not 0 < self.dominance_share <= 1:
            raise ValueError("dominance_share must be in (0, 1]")
        if self.rounding_base < 1 or self.coarse_factor < 1:
            raise ValueError("rounding_base and coarse_factor must be at least 1")
        if not 0 < self.protection < 1:
            raise ValueError("protection must be in (0, 1)")
        if self.epoch_seconds < 0 or self.max_lps < 2:
            raise ValueError("epoch_seconds must be >= 0 and max_lps >= 2")


@dataclass(frozen=True)
class Decision:
    """Whether a cell is published; if not, which rule hid it and a sentence saying why."""

    published: bool
    rule: Rule | None = None
    detail: str = ""


PUBLISHED = Decision(published=True)


def cell_total(cell: Contributions) -> float:
    return float(sum(cell.values()))


def members(cell: Contributions) -> int:
    """Distinct members with a positive contribution."""
    return sum(1 for v in cell.values() if v > 0)


def primary(cell: Contributions, policy: Policy) -> Decision:
    """The primary rules for one cell. An empty cell (nobody contributes) is published as 0:
    it says something about all members together and nothing about any one of them."""
    count = members(cell)
    if count == 0:
        return PUBLISHED
    if count < policy.min_members:
        return Decision(
            False,
            "min_members",
            f"fewer than {policy.min_members} members contribute",
        )
    total = cell_total(cell)
    top = sorted((v for v in cell.values() if v > 0), reverse=True)[: policy.dominance_n]
    if sum(top) > policy.dominance_share * total:
        who = (
            "one member holds"
            if policy.dominance_n == 1
            else (f"{policy.dominance_n} members hold")
        )
        return Decision(
            False,
            "dominance",
            f"{who} more than {policy.dominance_share:.0%} of the total",
        )
    return PUBLISHED


def merge(cells: list[Contributions]) -> dict[str, float]:
    """Contributions to the sum of several cells."""
    merged: dict[str, float] = {}
    for cell in cells:
        for member, value in cell.items():
            merged[member] = merged.get(member, 0.0) + value
    return merged


@dataclass(frozen=True)
class FamilyDecision:
    total: Decision
    parts: dict[str, Decision]


def protect_family(parts: Mapping[str, Contributions], policy: Policy) -> FamilyDecision:
    """Decide a family's total and its parts; the total's contributions are the parts' merged.

    Complementary cells are taken smallest first (least information lost), ties by key so the
    outcome is deterministic.
    """
    total_cell = merge(list(parts.values()))
    total = primary(total_cell, policy)
    decided = {key: primary(cell, policy) for key, cell in parts.items()}

    def candidates() -> list[str]:
        # An empty part is known to be 0 whatever is hidden, so hiding it protects nothing.
        open_ = [k for k, d in decided.items() if d.published and members(parts[k]) > 0]
        return sorted(open_, key=lambda k: (cell_total(parts[k]), k))

    while True:
        hidden = [k for k, d in decided.items() if not d.published]
        if total.published:
            if not hidden:
                break
            remainder = merge([parts[k] for k in hidden])
            if len(hidden) >= 2 and primary(remainder, policy).published:
                break
            pool = candidates()
            if not pool:
                # Everything that could be hidden is; the total is all that remains to hide.
                total = Decision(
                    False, "complementary", "hidden so that no hidden part can be derived from it"
                )
                break
            decided[pool[0]] = Decision(
                False,
                "complementary",
                "hidden so that a suppressed cell of its family cannot be derived from the total",
            )
        else:
            if hidden:
                break  # total and at least one part unknown: the equation has two unknowns
            pool = candidates()
            if not pool:
                break  # all parts empty, so the total is 0 and is not sensitive
            decided[pool[0]] = Decision(
                False,
                "complementary",
                "hidden so that the suppressed family total cannot be derived from its parts",
            )
    return FamilyDecision(total=total, parts=decided)


def rounded(total: float, base: int) -> int:
    """``total`` rounded half up to a multiple of ``base``."""
    return int(base * math.floor(total / base + 0.5))


def band(published: int, base: int) -> tuple[int, int]:
    """Every integer total that :func:`rounded` maps to ``published``: ``[lo, hi]``.

    From ``R = B * floor(t / B + 1/2)``: ``R - B/2 <= t < R + B/2``, so for integers
    ``lo = ceil(R - B/2)`` (at least 0) and ``hi = ceil(R + B/2) - 1``.
    """
    lo = max(0, math.ceil(published - base / 2))
    return lo, math.ceil(published + base / 2) - 1
