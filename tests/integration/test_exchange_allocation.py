"""Allocation under scarcity: the LP protects the most production and keeps the fairness floor.

Hand derivation used below (two needs, one offer of 100 units, floor share f = 0.2):

- N1: 100 units, 2 days left, margin 10 -> urgency 1/(1+2) = 1/3, value 10/3 = 3.333 per unit
- N2: 100 units, 9 days left, margin 5  -> urgency 1/(1+9) = 0.1, value 0.5 per unit
- pro-rata ratio r = 100 / 200 = 0.5, so each need's floor is floor(0.2 * 0.5 * 100) = 10
- the LP gives N2 its floor (10) and N1 the rest (90); one more unit of stock would go to N1,
  so the offer's shadow price is N1's value, 3.333.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from supplyshock.exchange.allocation import Demand, Supply, allocate
from supplyshock.exchange.errors import Forbidden
from supplyshock.exchange.matches import get_match, list_matches
from supplyshock.exchange.matching import match_listing, preview_allocation
from supplyshock.exchange.schemas import CrisisPublic, ListingPublic, Principal
from supplyshock.store.models import Listing

NOW = datetime(2025, 11, 3, 9, 0, tzinfo=UTC)

MakeMember = Callable[..., Principal]
MakeCrisis = Callable[..., CrisisPublic]
MakeListing = Callable[..., ListingPublic]

Scarce = tuple[Principal, Principal, Principal, CrisisPublic, ListingPublic, ListingPublic]

N1 = Demand("n1", 100, days_of_supply=2, margin_per_unit=10)
N2 = Demand("n2", 100, days_of_supply=9, margin_per_unit=5)


def test_the_more_urgent_need_gets_more_but_the_other_keeps_its_floor() -> None:
    result = allocate([Supply("o", 100)], [N1, N2])
    assert result.flows == {("o", "n1"): 90, ("o", "n2"): 10}
    assert result.scarce and result.floors_applied
    n1, n2 = result.needs["n1"], result.needs["n2"]
    assert n1.value_per_unit == pytest.approx(10 / 3)
    assert n2.value_per_unit == pytest.approx(0.5)
    assert (n2.floor, n2.floor_binding) == (10, True)
    assert "fairness floor of 10 units" in n2.reason
    assert result.shadow_prices["o"] == pytest.approx(10 / 3)
    assert n1.reason.startswith("partly served")


def test_without_a_floor_the_most_valuable_need_takes_everything() -> None:
    result = allocate([Supply("o", 100)], [N1, N2], floor_share=0)
    assert result.flows == {("o", "n1"): 100}
    assert result.needs["n2"].allocated == 0


def test_with_enough_stock_every_need_is_served_in_full() -> None:
    # 250 units for 100 + 100 asked: not scarce, nobody is held back, stock is worth 0 more.
    result = allocate([Supply("o", 250)], [N1, N2])
    assert result.flows == {("o", "n1"): 100, ("o", "n2"): 100}
    assert not result.scarce
    assert result.shadow_prices["o"] == pytest.approx(0)
    assert {n.reason for n in result.needs.values()} == {"fully served"}


def test_a_need_that_states_a_zero_margin_still_gets_stock_nobody_else_wants() -> None:
    result = allocate([Supply("o", 50)], [Demand("n", 30, days_of_supply=0, margin_per_unit=0)])
    assert result.flows == {("o", "n"): 30}


def test_leaving_out_figures_never_helps_a_need() -> None:
    # N3 states nothing: it is valued at the smallest stated margin (2) and the largest stated
    # days (4), i.e. 2 / (1 + 4) = 0.4 per unit, exactly like N2, never like N1 (10 / 5 = 2).
    needs = [
        Demand("n1", 100, days_of_supply=4, margin_per_unit=10),
        Demand("n2", 100, days_of_supply=4, margin_per_unit=2),
        Demand("n3", 100),
    ]
    result = allocate([Supply("o", 150)], needs)
    n3 = result.needs["n3"]
    assert (n3.margin_per_unit, n3.days_of_supply) == (2, 4)
    assert n3.value_per_unit == pytest.approx(0.4)
    assert len(n3.assumed) == 2
    # r = 150/300 = 0.5, floors floor(0.2 * 0.5 * 100) = 10 each. N1 (2 per unit) takes all
    # it asked for, 100; the other 50 go to N2 and N3, equals at 0.4, each at least its floor.
    assert result.flows[("o", "n1")] == 100
    assert result.flows[("o", "n2")] + result.flows[("o", "n3")] == 50
    assert min(result.flows[("o", "n2")], result.flows[("o", "n3")]) >= 10


def test_floors_that_cannot_all_be_met_are_dropped_and_the_explanation_says_so() -> None:
    # N1 (100 units) can only use O1 (10 units); its floor would be 0.2 * 1 * 100 = 20 > 10.
    result = allocate(
        [Supply("o1", 10), Supply("o2", 100)],
        [Demand("n1", 100, 0, 1), Demand("n2", 10, 0, 1)],
        edges=[("o1", "n1"), ("o2", "n2")],
    )
    assert not result.floors_applied
    assert result.flows == {("o1", "n1"): 10, ("o2", "n2"): 10}
    assert any("dropped" in a for a in result.needs["n1"].assumed)


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="floor_share"):
        allocate([Supply("o", 1)], [Demand("n", 1)], floor_share=1.5)
    with pytest.raises(ValueError, match="positive"):
        allocate([Supply("o", 0)], [Demand("n", 1)])


_quantities = st.integers(min_value=1, max_value=500)
_needs = st.lists(
    st.tuples(
        _quantities,
        st.none() | st.floats(min_value=0, max_value=60),
        st.none() | st.floats(min_value=0, max_value=100),
    ),
    min_size=1,
    max_size=5,
)


@settings(max_examples=60, deadline=None)
@given(
    offers=st.lists(_quantities, min_size=1, max_size=3),
    needs=_needs,
    keep=st.lists(st.booleans(), min_size=15, max_size=15),
    floor_share=st.sampled_from([0.0, 0.2, 0.5, 1.0]),
)
def test_an_allocation_never_promises_more_than_is_held_or_asked(
    offers: list[int],
    needs: list[tuple[int, float | None, float | None]],
    keep: list[bool],
    floor_share: float,
) -> None:
    supplies = [Supply(f"o{i}", q) for i, q in enumerate(offers)]
    demands = [Demand(f"n{j}", q, d, m) for j, (q, d, m) in enumerate(needs)]
    pairs = [(o.id, n.id) for o in supplies for n in demands]
    edges = [p for p, k in zip(pairs, keep, strict=False) if k] or pairs[:1]
    result = allocate(supplies, demands, edges, floor_share=floor_share)
    assert set(result.flows) <= set(edges)
    assert all(isinstance(q, int) and q > 0 for q in result.flows.values())
    for o in supplies:
        assert sum(q for (oid, _), q in result.flows.items() if oid == o.id) <= o.quantity
    for n in demands:
        got = sum(q for (_, nid), q in result.flows.items() if nid == n.id)
        assert got == result.needs[n.id].allocated <= n.quantity
        if result.floors_applied:
            assert got >= result.needs[n.id].floor


@settings(max_examples=40, deadline=None)
@given(offers=st.lists(_quantities, min_size=1, max_size=3), needs=_needs)
def test_when_every_pair_is_compatible_no_unit_is_left_unallocated(
    offers: list[int], needs: list[tuple[int, float | None, float | None]]
) -> None:
    supplies = [Supply(f"o{i}", q) for i, q in enumerate(offers)]
    demands = [Demand(f"n{j}", q, d, m) for j, (q, d, m) in enumerate(needs)]
    result = allocate(supplies, demands)
    assert result.floors_applied  # with every pair open the floors always fit (sum <= f * S)
    assert sum(result.flows.values()) == min(sum(offers), sum(q for q, _, _ in needs))


# --- through matching -------------------------------------------------------------------------


@pytest.fixture
def scarce_market(
    make_member: MakeMember, make_crisis: MakeCrisis, make_listing: MakeListing
) -> Scarce:
    """Two needs of 100 units waiting (N1 urgent and valuable, N2 not) for one holder."""
    holder, urgent, patient = make_member(), make_member(), make_member()
    crisis = make_crisis(makers=[], part_families=[])
    n1 = make_listing(
        urgent, crisis.id, kind="need", quantity=100, days_of_supply=2, margin_per_unit=10
    )
    n2 = make_listing(
        patient, crisis.id, kind="need", quantity=100, days_of_supply=9, margin_per_unit=5
    )
    return holder, urgent, patient, crisis, n1, n2


def test_a_scarce_offer_is_split_by_the_lp_and_each_need_sees_why(
    session: Session,
    scarce_market: Scarce,
    make_listing: MakeListing,
) -> None:
    holder, urgent, patient, crisis, n1, n2 = scarce_market
    offer = make_listing(holder, crisis.id, quantity=100)
    found = match_listing(session=session, actor=holder, listing_id=offer.id, now=NOW)
    assert sorted(m.quantity for m in found) == [10, 90]  # see the module docstring
    assert session.get_one(Listing, offer.id).quantity_open == 0
    assert session.get_one(Listing, n1.id).quantity_open == 10  # 100 asked, 90 promised
    assert session.get_one(Listing, n2.id).quantity_open == 90  # 100 asked, 10 promised
    by_need = {m.counterpart.pseudonym: m for m in found}
    assert len(by_need) == 2
    # The holder sees quantities, not the needs' margins or urgency.
    assert all(m.explanation is None for m in found)
    small = next(m for m in found if m.quantity == 10)
    seen_by_patient = get_match(session=session, actor=patient, match_id=small.id)
    why = seen_by_patient.explanation
    assert why is not None
    assert why["rule"] == "allocation_lp" and why["floor_binding"] is True
    assert why["floor"] == 10 and why["scarce"] is True
    assert why["value_per_unit"] == pytest.approx(0.5)  # its own figures: 5 x 1/(1+9)
    # The shadow price is the urgent competitor's value per unit: never shown to a member.
    assert "shadow_price" not in why
    assert "3.333" not in seen_by_patient.model_dump_json()
    big = next(m for m in found if m.quantity == 90)
    why_big = get_match(session=session, actor=urgent, match_id=big.id).explanation
    assert why_big is not None and why_big["value_per_unit"] == pytest.approx(10 / 3)
    # Its floor, floor(0.2 x 0.5 x 100) = 10, does not bind (it got 90): not shown, since it
    # would give away the run's ratio r = 0.5, shared with every need served by this offer.
    assert why_big["floor"] is None and why_big["floor_binding"] is False


def test_the_operator_previews_the_allocation_of_a_part_over_the_whole_pool(
    session: Session,
    scarce_market: Scarce,
    make_listing: MakeListing,
    make_member: MakeMember,
    operator: Principal,
) -> None:
    holder, _, _, crisis, n1, n2 = scarce_market
    # Two offers of 60 and 40 = the same 100 units as above, so the same 90 / 10 split.
    make_listing(holder, crisis.id, quantity=60)
    make_listing(make_member(), crisis.id, quantity=40)
    preview = preview_allocation(
        session=session,
        actor=operator,
        crisis_id=crisis.id,
        part_number="BC847B,215",
        maker="Nexperia",
        now=NOW,
    )
    got = {n.listing_id: n.explanation["allocated"] for n in preview.needs}
    assert got == {n1.id: 90, n2.id: 10}
    assert preview.scarce and sum(f.quantity for f in preview.flows) == 100
    assert "member_id" not in preview.model_dump_json()
    # A preview changes nothing.
    assert session.get_one(Listing, n1.id).quantity_open == 100


def test_only_the_operator_may_preview_an_allocation(
    session: Session,
    scarce_market: Scarce,
) -> None:
    holder, _, _, crisis, _, _ = scarce_market
    with pytest.raises(Forbidden):
        preview_allocation(
            session=session,
            actor=holder,
            crisis_id=crisis.id,
            part_number="BC847B,215",
            maker="Nexperia",
            now=NOW,
        )


def test_a_need_never_learns_a_competitors_figures_from_its_explanation(
    session: Session,
    make_member: MakeMember,
    make_crisis: MakeCrisis,
    make_listing: MakeListing,
) -> None:
    holder, rival, quiet = make_member(), make_member(), make_member()
    crisis = make_crisis(makers=[], part_families=[])
    make_listing(rival, crisis.id, kind="need", quantity=100, days_of_supply=2, margin_per_unit=37)
    # States its days (9) but not its margin: it is counted at the rival's 37, the lowest stated.
    mine = make_listing(quiet, crisis.id, kind="need", quantity=100, days_of_supply=9)
    offer = make_listing(holder, crisis.id, quantity=100)
    match_listing(session=session, actor=holder, listing_id=offer.id, now=NOW)
    [seen] = list_matches(session=session, actor=quiet, listing_id=mine.id)
    assert seen.quantity == 10  # 37/10 = 3.7 per unit < 37/3 = 12.33: held at its floor
    why = seen.explanation
    assert why is not None and why["margin_per_unit"] is None and why["value_per_unit"] is None
    assert why["days_of_supply"] == 9
    text = json.dumps(why)  # the explanation holds no ids, so no digit can come from one
    assert "37" not in text and "12.3" not in text and "3.7" not in text
