"""The vectorised Monte Carlo engine against answers derived by hand.

The network of most tests is one chain (built by :func:`chain`): supplier S (country CN, a
source with unlimited supply) ships chips over lane L1 (lead ``lead`` days) to plant P (DE),
which makes ``demand`` cars a day from 1 chip each and holds ``on_hand`` chips, with
``in_transit`` chips arriving evenly over days 0 .. lead-1. The registry holds one measure on
chips (HS 854129) exported from CN, in force from 2025-01-01, before the simulation starts
(D0 = 2025-06-01). Day t is D0 + t; "days to standstill" is the index of the first day sales
fall below 50 % of demand.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import numpy as np
import pytest

from supplyshock.analysis.montecarlo.assumptions import Assumptions
from supplyshock.analysis.montecarlo.engine import simulate
from supplyshock.analysis.montecarlo.model import compile_model
from supplyshock.domain.controls import Registry
from supplyshock.domain.network import Network
from supplyshock.domain.problems import ProblemReport
from supplyshock.formats.network import network_from_data
from supplyshock.formats.registry import registry_from_data

D0 = "2025-06-01"


def chain(
    *, on_hand: float = 50.0, in_transit: float = 0.0, lead: int = 1, demand: float = 10.0
) -> Network:
    return network_from_data(
        {
            "meta": {"name": "chain", "sector": "automotive"},
            "companies": [
                {"id": "sup", "name": "Chip Co", "country": "CN"},
                {"id": "oem", "name": "Car Co", "country": "DE"},
            ],
            "sites": [
                {"id": "S", "company": "sup", "country": "CN"},
                {"id": "P", "company": "oem", "country": "DE"},
            ],
            "parts": [
                {"id": "car", "hs_code": "870380", "finished": True},
                {"id": "chip", "hs_code": "854129"},
            ],
            "bom": [{"parent": "car", "child": "chip", "qty": 1}],
            "lanes": [
                {
                    "id": "L1",
                    "supplier": "S",
                    "customer": "P",
                    "part": "chip",
                    "share": 1.0,
                    "lead_time_days": lead,
                }
            ],
            "inventory": [
                {"site": "P", "part": "chip", "on_hand": on_hand, "in_transit": in_transit}
            ],
            "demand": [{"site": "P", "part": "car", "per_day": demand, "margin_per_unit": 100}],
        }
    )


def registry(
    kind: str = "ban",
    *,
    approval: float | None = None,
    review: float | None = None,
    exemption_from: str = "2030-01-01",
) -> Registry:
    """One measure M on chips from CN, with an automotive carve-out CO from ``exemption_from``."""
    src = [{"id": "s", "publisher": "test", "title": "test", "published": "2025-01-01"}]
    act = {
        "id": "a",
        "authority": "MOFCOM",
        "jurisdiction": "CN",
        "title": "act",
        "announced": "2025-01-01",
        "sources": ["s"],
    }
    params: dict[str, Any] = {}
    if approval is not None:
        params["approval_share"] = approval
    if review is not None:
        params["review_days"] = review
    ev = {"kind": "in_force", "summary": "x", "sources": ["s"]}
    measure = {
        "id": "M",
        "act": "a",
        "title": "chips",
        "jurisdiction": "CN",
        "direction": "export",
        "kind": kind,
        "origins": {"mode": "only", "countries": ["CN"]},
        "scope": {"hs_codes": ["854129"]},
        "params": params,
        "events": [{**ev, "id": "m-in", "effective": "2025-01-01"}],
        "carve_outs": [
            {
                "id": "CO",
                "title": "automotive",
                "effect": "exempt",
                "sectors": ["automotive"],
                "events": [{**ev, "id": "co-in", "effective": exemption_from}],
            }
        ],
    }
    return registry_from_data({"sources": src, "acts": [act], "measures": [measure]})


def assume(**kw: Any) -> Assumptions:
    return Assumptions.model_validate({"name": "t", "start": D0, "horizon_days": 30, **kw})


def run(net: Network, reg: Registry, a: Assumptions, runs: int = 1, seed: int = 0) -> Any:
    return simulate(compile_model(net, reg, a), runs, seed=seed, trace=min(runs, 50))


def test_a_ban_stops_the_plant_when_its_stock_runs_out() -> None:
    # 50 chips, 10 a day, nothing arrives: days 0-4 sell 10, day 5 sells 0 -> standstill day 5.
    # Units lost over 30 days: days 5..29 = 25 days x 10 = 250; margin 250 x 100 = 25,000.
    res = run(chain(), registry("ban"), assume())
    s = res.summary().products[0]
    assert res.stop[0, 0] == 5
    assert s.p_standstill == {"2w": 1.0, "4w": 1.0, "8w": 1.0, "horizon": 1.0}
    assert s.units_lost["mean"] == pytest.approx(250)
    assert s.margin_lost["mean"] == pytest.approx(25_000)


def test_without_a_measure_the_plant_never_stops() -> None:
    # The ban's automotive carve-out applies from before D0: the lane flows, 10 a day arrive
    # from day 1 and the 50 on hand cover day 0 -> no standstill, nothing lost.
    res = run(chain(), registry("ban", exemption_from="2025-01-02"), assume())
    s = res.summary().products[0]
    assert math.isinf(res.stop[0, 0])
    assert s.p_standstill["horizon"] == 0.0
    assert s.days_to_standstill["q50"] is None
    assert s.units_lost["mean"] == pytest.approx(0)


def test_in_transit_stock_arrives_over_the_lead_time() -> None:
    # Lead 4 days, 40 chips in transit: 10 arrive on each of days 0-3. On hand 20.
    # Ban: stock + arrivals = 20 + 40 = 60 chips = 6 days -> standstill on day 6.
    res = run(chain(on_hand=20, in_transit=40, lead=4), registry("ban"), assume())
    assert res.stop[0, 0] == 6


def test_lifting_the_ban_on_a_date_restarts_supply_after_the_lead_time() -> None:
    # Lifted on 2025-06-11 = day 10: the day-10 shipment arrives on day 11. Days 5-10 are lost
    # (6 days x 10 = 60 units); standstill day is still 5.
    a = assume(measures={"M": {"lifted": "2025-06-11"}})
    res = run(chain(), registry("ban"), a)
    assert res.stop[0, 0] == 5
    assert res.lost[0, 0] == pytest.approx(60)


def test_a_drawn_exemption_start_moves_the_end_of_the_ban() -> None:
    # The scenario moves the carve-out to 2025-06-08 (day 7): shipments from day 7 arrive from
    # day 8, so days 5-7 are lost (30 units), whatever the registry date (2030) says.
    a = assume(carve_outs={"CO": {"start": "2025-06-08"}})
    res = run(chain(), registry("ban"), a)
    assert res.lost[0, 0] == pytest.approx(30)
    # A sector the network is not in: the exemption never covers it -> 25 days lost as banned.
    b = assume(carve_outs={"CO": {"start": "2025-06-08", "sectors": ["aerospace"]}})
    assert run(chain(), registry("ban"), b).lost[0, 0] == pytest.approx(250)


def test_licence_per_shipment_gives_the_binomial_standstill_probability() -> None:
    # Approval p = 0.8 per shipment, review 0, lead 1; 20 on hand, 10 in transit (arrives day 0).
    # Day 0: 20 + 10 - 10 = 20 left. From day 1 a day's arrival is 10 with prob p, else 0; a
    # refused day eats 10 of stock, so the 3rd refusal among days 1..n is the standstill:
    # P(stop by day 14) = P(Binom(14, q = 0.2) >= 3) = 1 - sum_{k<3} C(14,k) q^k p^(14-k)
    #                   = 1 - (0.04398 + 0.15393 + 0.25014) = 0.55195.
    p, n = 0.8, 14
    exact = 1 - sum(math.comb(n, k) * (1 - p) ** k * p ** (n - k) for k in range(3))
    assert exact == pytest.approx(0.55195, abs=1e-4)
    runs = 4000
    res = run(
        chain(on_hand=20, in_transit=10), registry("licence", approval=p, review=0), assume(), runs
    )
    got = res.summary().products[0].p_standstill["2w"]
    assert abs(got - exact) < 4 * math.sqrt(exact * (1 - exact) / runs)  # 4 sigma = 0.031


def test_review_time_delays_every_licensed_shipment() -> None:
    # p = 1, review 3 days, lead 1: a shipment sent on day t lands on day t + 4. Days 1-3 get
    # nothing (only the 10 in transit land on day 0), so 30 - 10 = 20 after day 0, 10 after
    # day 1, 0 after day 2, and day 3 is the standstill.
    res = run(
        chain(on_hand=20, in_transit=10), registry("licence", approval=1.0, review=3), assume()
    )
    assert res.stop[0, 0] == 3


def test_scenario_approval_and_review_override_the_registry() -> None:
    # The registry says p = 1, review 0 (never stops); the scenario says approval 0: nothing
    # arrives after day 0, 30 chips last days 0-2, standstill day 3.
    a = assume(measures={"M": {"approval": 0.0, "review_days": 2}})
    res = run(chain(on_hand=20, in_transit=10), registry("licence", approval=1.0, review=0), a)
    assert res.stop[0, 0] == 3


def test_licence_per_applicant_is_one_decision_for_the_whole_lane() -> None:
    # Per applicant, p = 0.3: approved lanes never stop; refused lanes get nothing after day 0
    # and stop on day 3 (as above). P(standstill) = 0.7 exactly; every stop is on day 3.
    a = assume(measures={"M": {"approval": 0.3, "per": "applicant"}})
    runs = 3000
    res = run(chain(on_hand=20, in_transit=10), registry("licence", review=0), a, runs)
    stops = res.stop[0]
    share = float(np.mean(np.isfinite(stops)))
    assert abs(share - 0.7) < 4 * math.sqrt(0.21 / runs)
    assert set(stops[np.isfinite(stops)].tolist()) == {3.0}


def test_equal_seeds_give_equal_results_and_other_seeds_differ() -> None:
    a = assume(measures={"M": {"approval": 0.5}}, demand_cv=0.2)
    net, reg = chain(on_hand=20, in_transit=10), registry("licence", review=0)
    one = run(net, reg, a, runs=300, seed=7)
    two = run(net, reg, a, runs=300, seed=7)
    other = run(net, reg, a, runs=300, seed=8)
    assert np.array_equal(one.stop, two.stop) and np.array_equal(one.lost, two.lost)
    assert not np.array_equal(one.lost, other.lost)
    # Threads change nothing: chunks carry their own random streams.
    m = compile_model(net, reg, a)
    assert np.array_equal(
        simulate(m, 300, seed=7, chunk=64, workers=2).lost,
        simulate(m, 300, seed=7, chunk=64, workers=1).lost,
    )


def test_progress_reports_every_day_of_every_chunk() -> None:
    seen: list[tuple[int, int]] = []
    m = compile_model(chain(), registry("ban"), assume())
    simulate(m, 10, chunk=4, progress=lambda done, total: seen.append((done, total)))
    # 3 chunks (4 + 4 + 2 draws) x 30 days = 90 steps.
    assert seen[-1] == (90, 90) and len(seen) == 90


def test_assumptions_naming_unknown_measures_or_sites_are_refused() -> None:
    a = assume(measures={"NOPE": {"lifted": "never"}}, sites={"X": {"demand_cv": 0.1}})
    with pytest.raises(ProblemReport) as e:
        compile_model(chain(), registry("ban"), a)
    text = str(e.value)
    assert "unknown measure 'NOPE'" in text and "unknown site 'X'" in text


def test_fan_traces_show_sales_falling_to_zero_at_the_standstill() -> None:
    res = run(chain(), registry("ban"), assume())
    assert res.sales[0, :5, 0].tolist() == [10.0] * 5
    assert res.sales[0, 5:, 0].max() == 0.0
    # Cover (days of the scarcest input): 40 chips / 10 a day = 4 days after day 0.
    assert res.cover[0, 0, 0] == pytest.approx(4.0)


def test_date_distributions_become_days_after_the_start() -> None:
    from supplyshock.analysis.montecarlo.assumptions import DateDist

    start = date(2025, 6, 1)
    assert DateDist.model_validate("2025-06-11").in_days(start).value == 10
    assert math.isinf(DateDist.model_validate("never").in_days(start).value or 0)
    d = DateDist.model_validate({"dist": "uniform", "low": "2025-06-11", "high": "2025-06-21"})
    x = d.in_days(start).sample(np.random.default_rng(0), 1000)
    assert x.min() >= 10 and x.max() <= 20


def test_a_distributor_passes_on_what_it_receives() -> None:
    # S (CN) -> W (NL, a warehouse that buys and re-ships chips) -> P (DE), lead 1 each.
    # W holds 30 chips, P 20; the CN ban stops S -> W only. W ships 10 a day on days 0-2
    # (landing at P on days 1-3); P has 20 + 30 = 50 chips = 5 days: standstill on day 5.
    from supplyshock.analysis.montecarlo.reference import simulate_reference

    data = chain().model_dump(mode="json")
    data["companies"].append({"id": "wh", "name": "Warehouse BV", "country": "NL"})
    data["sites"].append({"id": "W", "company": "wh", "country": "NL"})
    data["lanes"] = [
        {
            "id": "L1",
            "supplier": "S",
            "customer": "W",
            "part": "chip",
            "share": 1.0,
            "lead_time_days": 1,
        },
        {
            "id": "L2",
            "supplier": "W",
            "customer": "P",
            "part": "chip",
            "share": 1.0,
            "lead_time_days": 1,
        },
    ]
    data["inventory"] = [
        {"site": "W", "part": "chip", "on_hand": 30},
        {"site": "P", "part": "chip", "on_hand": 20},
    ]
    m = compile_model(network_from_data(data), registry("ban"), assume())
    vec, ref = simulate(m, 2), simulate_reference(m, 1)
    assert vec.stop[0, 0] == ref.stop[0, 0] == 5
    assert vec.lost[0, 0] == pytest.approx(ref.lost[0, 0]) == 250
