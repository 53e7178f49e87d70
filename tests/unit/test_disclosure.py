"""Disclosure control: primary rules (k members, (n, k %) dominance) and complementary suppression.

Every number is derived by hand in the comments. "Not derivable" is shown the strong way: a
second table that differs in the hidden cell yields exactly the same published figures, so no
reader of the published figures can tell the two apart.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from supplyshock.exchange.disclosure import (
    Contributions,
    Decision,
    FamilyDecision,
    Policy,
    cell_total,
    primary,
    protect_family,
)

POLICY = Policy()  # k = 3 members, n = 1, 80 %


def published_view(
    parts: Mapping[str, Contributions], decision: FamilyDecision
) -> dict[str, float | str]:
    """What a reader sees: each published total, and 'suppressed' for the rest."""
    view: dict[str, float | str] = {}
    total = sum(cell_total(c) for c in parts.values())
    view["TOTAL"] = total if decision.total.published else "suppressed"
    for key, cell in parts.items():
        view[key] = cell_total(cell) if decision.parts[key].published else "suppressed"
    return view


def test_three_members_50_30_20_are_published() -> None:
    # 3 members >= k = 3; the largest holds 50 / 100 = 50 % <= 80 %.
    assert primary({"a": 50, "b": 30, "c": 20}, POLICY) == Decision(published=True)


def test_one_member_holding_85_percent_is_suppressed_by_dominance() -> None:
    # 3 members, but the largest holds 85 / 100 = 85 % > 80 %.
    decision = primary({"a": 85, "b": 10, "c": 5}, POLICY)
    assert (decision.published, decision.rule) == (False, "dominance")
    assert "80%" in decision.detail


def test_exactly_80_percent_is_not_dominant() -> None:
    # The rule is "more than" 80 %: 80 / 100 passes.
    assert primary({"a": 80, "b": 10, "c": 10}, POLICY).published


def test_two_members_are_suppressed_by_the_minimum_count() -> None:
    # 2 members < k = 3, however evenly they split.
    decision = primary({"a": 50, "b": 50}, POLICY)
    assert (decision.published, decision.rule) == (False, "min_members")


def test_one_member_with_several_listings_counts_once() -> None:
    # Contributions are per member: a cell with one member is below k whatever its size.
    assert primary({"a": 300}, POLICY).rule == "min_members"


def test_members_contributing_zero_do_not_count() -> None:
    # "c" contributes nothing, so only 2 members count.
    assert primary({"a": 40, "b": 60, "c": 0}, POLICY).rule == "min_members"


def test_two_largest_are_checked_when_n_is_2() -> None:
    # n = 2: the two largest hold 45 + 40 = 85 % > 80 %.
    policy = Policy(min_members=3, dominance_n=2, dominance_share=0.80)
    assert primary({"a": 45, "b": 40, "c": 15}, policy).rule == "dominance"
    # 40 + 30 = 70 % <= 80 %.
    assert primary({"a": 40, "b": 30, "c": 20, "d": 10}, policy).published


def test_empty_cell_is_published_as_zero() -> None:
    assert primary({}, POLICY).published


@pytest.mark.parametrize(
    "kwargs",
    [{"min_members": 0}, {"dominance_n": 0}, {"dominance_share": 0}, {"dominance_share": 1.2}],
)
def test_policy_refuses_meaningless_parameters(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Policy(**kwargs)  # type: ignore[arg-type]


# A family with one primary suppression:
#   A: victim alone, 100            -> min_members (1 member)
#   B: b1, b2, b3 with 10 each = 30 -> published on its own (3 members, 33 %)
#   C: c1, c2, c3 with 40 each = 120-> published on its own
#   total 250, 7 members, largest 100 / 250 = 40 % -> published
FAMILY: dict[str, Contributions] = {
    "A": {"victim": 100},
    "B": {"b1": 10, "b2": 10, "b3": 10},
    "C": {"c1": 40, "c2": 40, "c3": 40},
}


def test_one_primary_suppression_gets_the_smallest_complement() -> None:
    decision = protect_family(FAMILY, POLICY)
    assert decision.total.published
    assert decision.parts["A"].rule == "min_members"
    # B (30) is the smallest published part. Remainder A + B = 130 with 4 members, the largest
    # 100 / 130 = 76.9 % <= 80 %: passes, so no third cell is needed.
    assert decision.parts["B"].rule == "complementary"
    assert decision.parts["C"].published
    assert published_view(FAMILY, decision) == {
        "TOTAL": 250,
        "A": "suppressed",
        "B": "suppressed",
        "C": 120,
    }


def test_hidden_cell_cannot_be_recomputed_from_the_published_family() -> None:
    decision = protect_family(FAMILY, POLICY)
    view = published_view(FAMILY, decision)
    # Subtracting gives only A + B = 250 - 120 = 130, never A alone:
    known = [k for k in FAMILY if view[k] != "suppressed"]
    assert view["TOTAL"] != "suppressed"
    assert float(view["TOTAL"]) - sum(float(view[k]) for k in known) == 130
    assert [k for k in FAMILY if view[k] == "suppressed"] == ["A", "B"]
    # A second world with A = 103 and B = 9 + 9 + 9 = 27 (remainder 103 / 130 = 79.2 %, still
    # passes) publishes exactly the same figures, so A's 100 is not derivable.
    other: dict[str, Contributions] = {
        "A": {"victim": 103},
        "B": {"b1": 9, "b2": 9, "b3": 9},
        "C": FAMILY["C"],
    }
    assert published_view(other, protect_family(other, POLICY)) == view


def test_complement_owned_by_an_attacker_does_not_expose_the_victim() -> None:
    # The attacker runs three members (x1..x3) that post 1 each in part B, hoping B becomes the
    # complement: knowing B = 3 they would compute A = total - C - 3.
    parts: dict[str, Contributions] = {
        "A": {"victim": 100},
        "B": {"x1": 1, "x2": 1, "x3": 1},
        "C": {"c1": 40, "c2": 40, "c3": 40},
    }
    decision = protect_family(parts, POLICY)
    # Hiding A and B leaves the remainder A + B = 103, where the victim holds 100 / 103 = 97 %
    # > 80 %: it fails dominance, so C is hidden as well. The total 223 stays published; the
    # attacker learns A + C = 223 - 3 = 220, not A.
    assert [decision.parts[k].rule for k in "ABC"] == [
        "min_members",
        "complementary",
        "complementary",
    ]
    assert decision.total.published
    other: dict[str, Contributions] = {
        "A": {"victim": 130},
        "B": parts["B"],
        "C": {"c1": 30, "c2": 30, "c3": 30},
    }
    assert published_view(other, protect_family(other, POLICY)) == published_view(parts, decision)


def test_dominated_family_total_hides_itself_and_its_parts_stay_consistent() -> None:
    # A: victim 1000 alone (min_members); B: 10 + 10 + 10 = 30.
    # Total 1030: the victim holds 97 % > 80 % -> dominance. Total and A hidden, B published:
    # one equation with two unknowns, nothing more to hide.
    parts: dict[str, Contributions] = {
        "A": {"victim": 1000},
        "B": {"b1": 10, "b2": 10, "b3": 10},
    }
    decision = protect_family(parts, POLICY)
    assert decision.total.rule == "dominance"
    assert decision.parts["A"].rule == "min_members"
    assert decision.parts["B"].published


def test_family_without_suppression_publishes_everything() -> None:
    parts: dict[str, Contributions] = {
        "B": {"b1": 10, "b2": 10, "b3": 10},
        "C": {"c1": 40, "c2": 40, "c3": 40},
    }
    decision = protect_family(parts, POLICY)
    assert decision.total.published
    assert all(d.published for d in decision.parts.values())


def test_only_remaining_part_hidden_means_the_total_is_hidden() -> None:
    # A: victim alone; E: nobody (empty, known to be 0, useless as a complement).
    # Hiding A alone with the total published would give A = total - 0, and there is no
    # non-empty part left to hide, but A's single contributor also makes the total fail k.
    parts: dict[str, Contributions] = {"A": {"victim": 100}, "E": {}}
    decision = protect_family(parts, POLICY)
    assert not decision.total.published
    assert not decision.parts["A"].published
    assert decision.parts["E"].published


def test_two_hidden_parts_whose_remainder_passes_need_no_complement() -> None:
    # A: a1 60 + a2 40 (2 members, min_members); B: b1 50 + b2 50 (min_members);
    # C: 3 x 40 published. Remainder A + B = 200 with 4 members, largest 60 / 200 = 30 %.
    parts: dict[str, Contributions] = {
        "A": {"a1": 60, "a2": 40},
        "B": {"b1": 50, "b2": 50},
        "C": {"c1": 40, "c2": 40, "c3": 40},
    }
    decision = protect_family(parts, POLICY)
    assert [decision.parts[k].rule for k in "ABC"] == ["min_members", "min_members", None]
    assert decision.total.published
