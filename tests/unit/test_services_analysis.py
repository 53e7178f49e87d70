"""The analysis services: one request model and one set of limits for every shell."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from supplyshock.analysis.montecarlo.engine import simulate
from supplyshock.analysis.montecarlo.model import compile_model
from supplyshock.data import builtin_network, builtin_registry
from supplyshock.domain.controls import Item
from supplyshock.services import limits
from supplyshock.services.assumptions import load_assumptions_arg
from supplyshock.services.errors import InvalidRequest
from supplyshock.services.montecarlo import run_scenarios
from supplyshock.services.registry import check_shipment, item_hs
from supplyshock.services.requests import MonteCarloRequest, SurvivalRequest
from supplyshock.services.survival import rank_survival, rows_of
from tests.unit.test_survival_hand import sole_source

SMALL = {"runs": 40, "horizon": 60, "seed": 3}


def _field(exc: ValidationError) -> set[str]:
    return {str(e["loc"][0]) for e in exc.errors()}


def test_rank_survival_ranks_the_hand_derived_network() -> None:
    # test_survival_hand: P/car loses 5,000 (REI 1, TTS 0); S/seat 3,000 (REI 0.6, TTS 7).
    table = rank_survival(SurvivalRequest(), network=sole_source())
    got = [(r.label, r.tts, r.rei, r.at_risk) for r in table.rows]
    assert got == [("P/car", 0.0, 1.0, True), ("S/seat", pytest.approx(7.0), 0.6, True)]
    # The stored document gives the same rows back (what pages and charts read from a job).
    assert rows_of(table.document()) == table.rows


def test_rank_survival_names_the_field_of_an_unknown_node() -> None:
    with pytest.raises(InvalidRequest) as err:
        rank_survival(SurvivalRequest(only=["S/nope"]), network=sole_source())
    assert err.value.field == "only" and "S/nope" in err.value.detail


def test_scenario_is_a_builtin_name_unless_files_are_allowed(tmp_path: Any) -> None:
    with pytest.raises(InvalidRequest) as err:
        rank_survival(SurvivalRequest(scenario="../../etc/passwd"))
    assert err.value.field == "scenario"


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"runs": limits.MIN_RUNS - 1}, "runs"),
        ({"runs": limits.MAX_RUNS + 1}, "runs"),
        ({"horizon": 0}, "horizon"),
        ({"horizon": limits.MAX_HORIZON_DAYS + 1}, "horizon"),
        ({"compare": ["x"] * limits.MAX_ASSUMPTION_SETS}, "compare"),
        ({"seed": -1}, "seed"),
        ({"workers": 4}, "workers"),  # a runner's resource, not part of the request
    ],
)
def test_montecarlo_limits_name_the_field(fields: dict[str, Any], bad: str) -> None:
    with pytest.raises(ValidationError) as err:
        MonteCarloRequest.model_validate(fields)
    assert _field(err.value) == {bad}


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"horizon": -1}, "horizon"),
        ({"default_ttr": limits.MAX_HORIZON_DAYS + 1}, "default_ttr"),
        ({"only": ["S/seat"] * (limits.MAX_NODES + 1)}, "only"),
        ({"level": "plant"}, "level"),
    ],
)
def test_survival_limits_name_the_field(fields: dict[str, Any], bad: str) -> None:
    with pytest.raises(ValidationError) as err:
        SurvivalRequest.model_validate(fields)
    assert _field(err.value) == {bad}


def test_run_scenarios_gives_the_engines_numbers_whatever_the_workers() -> None:
    req = MonteCarloRequest(compare=["nexperia-ban-holds"], **SMALL)
    one = run_scenarios(req)
    two = run_scenarios(req, workers=2, keep_traces=True)
    assert [s.scenario for s in one.summaries] == ["baseline", "nexperia-ban-holds"]
    assert len(one.summaries) == len(two.summaries) == 2
    assert one.summaries == two.summaries and one.document() == two.document()
    # The same draws as calling the engine directly with the request's seed and horizon.
    net, reg = builtin_network(), builtin_registry()
    a = load_assumptions_arg("baseline", "auto-2025", net, reg)
    direct = simulate(
        compile_model(net, reg, a.model_copy(update={"horizon_days": 60})), 40, seed=3
    )
    assert one.summaries[0] == direct.summary()


def test_run_scenarios_refuses_unknown_sets_naming_the_field() -> None:
    with pytest.raises(InvalidRequest) as err:
        run_scenarios(MonteCarloRequest(compare=["nope"], **SMALL))
    assert err.value.field == "compare" and "'nope'" in err.value.detail


def test_check_shipment_returns_what_is_on_record_but_not_applying() -> None:
    # The October rare-earth list (Ho among them) was suspended on 7 Nov 2025 for a year.
    answer = check_shipment(
        builtin_registry(),
        on=date(2025, 11, 10),
        item=Item(elements={"Ho": None}),
        origin="CN",
        destination="DE",
    )
    assert answer.effects == []
    assert [(p.measure_id, p.status, p.suspended_until) for p in answer.not_in_force] == [
        ("cn-rare-earths-2025-10", "suspended", date(2026, 11, 10))
    ]


@pytest.mark.parametrize(
    ("raw", "hs6"), [("8505.11", "850511"), ("85051100", "850511"), ("8505110010", "850511")]
)
def test_item_hs_cuts_national_lines_to_hs6(raw: str, hs6: str) -> None:
    assert item_hs(raw) == hs6


def test_item_hs_refuses_a_chapter() -> None:
    with pytest.raises(ValueError):
        item_hs("85")
