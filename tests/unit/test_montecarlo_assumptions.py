"""Assumption files: located errors for bad input, the built-in sets, the JSON Schema."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from supplyshock.analysis.montecarlo.assumptions import Dist, schema
from supplyshock.cli import app
from supplyshock.data import builtin_network, builtin_registry
from supplyshock.domain.problems import ProblemReport
from supplyshock.services.assumptions import builtin_names, load_assumptions, load_assumptions_arg

BAD_REFS = """\
name: bad
start: 2025-10-15
measures:
  cn-nexperia-ban-2025:
    approval: 0.5
  no-such-measure:
    lifted: never
carve_outs:
  no-such-carve-out:
    start: 2025-11-01
sites:
  NOWHERE: {demand_cv: 0.1}
"""


def _problems(tmp_path: Path, text: str) -> list[str]:
    f = tmp_path / "a.yaml"
    f.write_text(text)
    with pytest.raises(ProblemReport) as e:
        load_assumptions(f, network=builtin_network(), registry=builtin_registry())
    return [str(p) for p in e.value.problems]


def test_unknown_measures_carve_outs_and_sites_are_reported_with_their_lines(
    tmp_path: Path,
) -> None:
    got = _problems(tmp_path, BAD_REFS)
    # One problem per bad reference, each located at the line where its value starts.
    assert any(":5 measures.cn-nexperia-ban-2025.approval" in p and "licence" in p for p in got)
    assert any(":7 measures.no-such-measure" in p and "unknown measure" in p for p in got)
    assert any(":10 carve_outs.no-such-carve-out" in p and "unknown carve-out" in p for p in got)
    assert any(":12 sites.NOWHERE" in p and "unknown site" in p for p in got)
    assert len(got) == 4


def test_malformed_values_are_all_reported_at_once(tmp_path: Path) -> None:
    text = (
        "name: x\nstart: not-a-date\nhorizon_days: 0\n"
        "measures:\n  cn-rare-earths-2025-04:\n    review_days: {dist: uniform, low: 5}\n"
        "    per: sometimes\n"
    )
    got = _problems(tmp_path, text)
    joined = "\n".join(got)
    assert ":2 start" in joined
    assert ":3 horizon_days" in joined
    assert "needs high" in joined
    assert ":7 measures.cn-rare-earths-2025-04.per" in joined


def test_yaml_syntax_errors_name_the_line(tmp_path: Path) -> None:
    got = _problems(tmp_path, "name: x\nstart: [\n")
    assert "syntax error" in got[0] and "a.yaml:" in got[0]


def test_builtin_scenario_has_a_baseline_and_alternatives_that_resolve() -> None:
    names = builtin_names("auto-2025")
    assert "baseline" in names and len(names) >= 3
    for n in names:
        a = load_assumptions_arg(n, "auto-2025", builtin_network(), builtin_registry())
        assert a.name == n


def test_unknown_builtin_assumption_set_lists_the_known_ones() -> None:
    with pytest.raises(KeyError, match="baseline"):
        load_assumptions_arg("nope", "auto-2025", builtin_network(), builtin_registry())


def test_distributions_sample_within_their_bounds() -> None:
    rng = np.random.default_rng(0)
    tri = Dist.model_validate({"dist": "triangular", "low": 2, "mode": 5, "high": 12})
    x = tri.sample(rng, 5000)
    assert x.min() >= 2 and x.max() <= 12
    # The mean of a triangular distribution is (low + mode + high) / 3 = 19 / 3 = 6.33.
    assert abs(x.mean() - 19 / 3) < 0.1
    ch = Dist.model_validate({"dist": "choice", "values": [1, 2], "weights": [3, 1]})
    assert abs(float(np.mean(ch.sample(rng, 8000) == 1)) - 0.75) < 0.02
    assert Dist.model_validate(0.25).sample(rng, 3).tolist() == [0.25] * 3
    normal = Dist.model_validate({"dist": "normal", "mean": 0, "sd": 1, "low": 0})
    assert normal.sample(rng, 100).min() >= 0 and math.isinf(normal.bounds()[1])


def test_schema_describes_the_file_and_the_cli_prints_it() -> None:
    s = schema()
    assert s["title"].startswith("supplyshock") and "measures" in s["properties"]
    out = CliRunner().invoke(app, ["simulate", "--schema"])
    assert out.exit_code == 0
    assert json.loads(out.stdout)["properties"]["start"]["format"] == "date"
