"""The board auditor on small linear systems whose bounds are derived by hand.

Notation: a cell maps member -> units; a figure states lo <= sum of its cells <= hi in one
epoch. p = 10 %: a value v is protected when the coalition's bounds reach (1.1 v) above and
(0.9 v) below.
"""

from __future__ import annotations

import pytest

from supplyshock.exchange.auditor import Figure, audit
from supplyshock.exchange.disclosure import band, rounded


def fig(epoch: int, cells: set[str], lo: float, hi: float | None = None) -> Figure:
    return Figure(epoch, frozenset(cells), lo, lo if hi is None else hi)


def test_two_colluders_subtract_an_exact_total_and_get_the_third_member() -> None:
    # 1000 + 300 + 50 = 1350; X and Y know 350, so V = 1000 exactly.
    epochs = [{"a": {"V": 1000, "X": 300, "Y": 50}}]
    result = audit(epochs, [fig(0, {"a"}, 1350)], coalition_size=2)
    by_member = {e.member: (e.low, e.high, e.coalition) for e in result.exposures}
    assert by_member["V"] == (pytest.approx(1000), pytest.approx(1000), ("X", "Y"))
    assert not result.safe


def test_four_members_leave_every_coalition_of_two_an_unknown_partner() -> None:
    # Any coalition of two leaves two unknowns u + w = r >= 0 with only u, w >= 0: u ranges over
    # [0, r]. The tightest case is V = 400 with X = 300, Y = 200 known: V in [0, 500], and
    # 500 >= 1.1 * 400 = 440: protected. Every other (victim, coalition) has more room.
    epochs = [{"a": {"V": 400, "X": 300, "Y": 200, "Z": 100}}]
    result = audit(epochs, [fig(0, {"a"}, 1000)], coalition_size=2)
    # The two unknowns are *twins* (in exactly the same rows): moving units between them changes
    # no figure, so no LP is needed to see it.
    assert result.safe and result.lps == 0
    # The same cell with the largest at 460: 300 + 200 known leave 460 + 40, and 460 can only
    # reach 500 < 1.1 * 460 = 506: exposed (the twin holds less than 10 % of it).
    epochs = [{"a": {"V": 460, "X": 300, "Y": 200, "Z": 40}}]
    (e,) = audit(epochs, [fig(0, {"a"}, 1000)], coalition_size=2, first_only=True).exposures
    assert (e.member, e.low, e.high) == ("V", pytest.approx(0), pytest.approx(500))


def test_a_hidden_part_is_derived_from_its_family_total_and_a_published_part() -> None:
    # Part a: V 1000, W 100; part b: X 500, Y 500. Family total 2100 and b = 1000 published,
    # a hidden: a = 2100 - 1000 = 1100, and W (a coalition of one) gets V = 1000.
    epochs = [{"a": {"V": 1000, "W": 100}, "b": {"X": 500, "Y": 500}}]
    total = fig(0, {"a", "b"}, 2100)
    exposed = audit(epochs, [total, fig(0, {"b"}, 1000)], coalition_size=1)
    assert ("V", "a") in {(e.member, e.cell) for e in exposed.exposures}
    # With b hidden too, W only knows V + X + Y = 2000: V in [0, 2000]. Nothing is pinned.
    assert audit(epochs, [total], coalition_size=1).safe


def test_differencing_two_readings_pins_a_newcomer_when_nobody_else_changed() -> None:
    # Epoch 0: X 300, Y 300, Z 400 = 1000. Epoch 1: V arrives with 1000 -> 2000. Y and Z did not
    # change, so each is one variable over both epochs: X (coalition of one) reads
    # Y + Z = 700 and Y + Z + V = 1700, hence V = 1000.
    before = {"a": {"X": 300, "Y": 300, "Z": 400}}
    after = {"a": {"X": 300, "Y": 300, "Z": 400, "V": 1000}}
    figures = [fig(0, {"a"}, 1000), fig(1, {"a"}, 2000)]
    result = audit([before, after], figures, coalition_size=1)
    [v] = [e for e in result.exposures if e.member == "V"]
    assert (v.first_epoch, v.low, v.high) == (1, pytest.approx(1000), pytest.approx(1000))


def test_changes_by_two_other_members_between_the_readings_mask_the_newcomer() -> None:
    # As above, but Y moves 300 -> 350 and Z 400 -> 500 at epoch 1 (total 2150). One changer
    # alone would not do: Z, knowing both its values, reads X + Y = 600 and X + Y + V = 1650.
    # With two changers each coalition of one keeps a new unknown beside V: X reads
    # Y0 + Z0 = 700 and Y1 + Z1 + V = 1850; Z reads X + Y0 = 600 and X + Y1 + V = 1650; Y
    # likewise. V then ranges over [0, 1650] at least: protected.
    before = {"a": {"X": 300, "Y": 300, "Z": 400}}
    after = {"a": {"X": 300, "Y": 350, "Z": 500, "V": 1000}}
    figures = [fig(0, {"a"}, 1000), fig(1, {"a"}, 2150)]
    result = audit([before, after], figures, coalition_size=1)
    assert "V" not in {e.member for e in result.exposures}


def test_rounded_totals_protect_when_the_band_is_wide_enough() -> None:
    # V 1000, X 400, Y 400; X and Y know 800.
    epochs = [{"a": {"V": 1000, "X": 400, "Y": 400}}]
    # To 100 units: 1800 means [1750, 1849], V in [950, 1049]: within 5 %, exposed.
    fine = audit(epochs, [fig(0, {"a"}, 1750, 1849)], coalition_size=2, first_only=True)
    (e,) = fine.exposures
    assert (e.member, e.low, e.high) == ("V", pytest.approx(950), pytest.approx(1049))
    # To 1000 units: 2000 means [1500, 2499], V in [700, 1699]: protected. X (400) with V and
    # Y known lies in [100, 1099]: 1099 >= 440 and 100 <= 360, protected too.
    assert audit(epochs, [fig(0, {"a"}, 1500, 2499)], coalition_size=2).safe


def test_a_lower_bound_alone_is_an_exposure() -> None:
    # Readings: V + 800 in [1500, 2499] and V + 1500 in [2500, 3499] (X moved 400 -> 1100, Y
    # stayed 400): V in [1000, 1699]. The upper side has room, the lower side none: 1000 > 900.
    epochs = [{"a": {"V": 1000, "X": 400, "Y": 400}}, {"a": {"V": 1000, "X": 1100, "Y": 400}}]
    figures = [fig(0, {"a"}, 1500, 2499), fig(1, {"a"}, 2500, 3499)]
    result = audit(epochs, figures, coalition_size=2)
    [v] = [e for e in result.exposures if e.member == "V"]
    assert (v.low, v.high) == (pytest.approx(1000), pytest.approx(1699))


def test_large_components_fall_back_to_the_top_contributors_as_coalitions() -> None:
    # max_coalitions=1 < C(3, 2) = 3: the coalitions are the 2-subsets of the cell's top 3,
    # which include {X, Y}, the one that pins V.
    epochs = [{"a": {"V": 1000, "X": 300, "Y": 50}}]
    result = audit(epochs, [fig(0, {"a"}, 1350)], coalition_size=2, max_coalitions=1)
    assert "V" in {e.member for e in result.exposures}


def test_out_of_budget_is_not_safe() -> None:
    # The masked newcomer again: V has no twin (it exists in epoch 1 only), so LPs are needed.
    before = {"a": {"X": 300, "Y": 300, "Z": 400}}
    after = {"a": {"X": 300, "Y": 350, "Z": 500, "V": 1000}}
    figures = [fig(0, {"a"}, 1000), fig(1, {"a"}, 2150)]
    result = audit([before, after], figures, coalition_size=1, max_lps=3)
    assert not result.complete and not result.safe


def test_rounding_half_up_and_its_band() -> None:
    assert (rounded(1849, 100), rounded(1850, 100), rounded(49, 100)) == (1800, 1900, 0)
    assert band(1800, 100) == (1750, 1849)
    assert band(0, 100) == (0, 49)
    assert band(7, 1) == (7, 7)  # base 1 is exact
    # Base 3: 3 covers t / 3 + 1/2 in [1, 2), i.e. t in [1.5, 4.5): 2, 3, 4.
    assert band(3, 3) == (2, 4)
    assert all(rounded(t, 3) == 3 for t in range(2, 5))
