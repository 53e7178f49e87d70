"""``supplyshock simulate`` and the pictures: outputs, comparisons, bad input without tracebacks."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from supplyshock.charts.montecarlo import PlotError, write_plot
from supplyshock.cli import app
from tests.unit.test_montecarlo_engine import assume, chain, registry, run

runner = CliRunner()
SMALL = ["--runs", "40", "--horizon", "60", "--workers", "1"]


def test_json_summary_covers_every_plant_product_and_compared_scenario() -> None:
    out = runner.invoke(app, ["simulate", *SMALL, "--compare", "nexperia-ban-holds", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    names = [s["scenario"] for s in data["scenarios"]]
    assert names == ["baseline", "nexperia-ban-holds"]
    holds = data["scenarios"][1]["products"]
    assert len(holds) == 6 and {p["plant"] for p in holds} == {"OEM-DE", "OEM-US", "OEM-JP"}
    for p in holds:
        assert 0 <= p["p_standstill"]["2w"] <= p["p_standstill"]["4w"] <= p["p_standstill"]["8w"]
    # With the ban holding and no exemption, every line stops within the 60 days (the ECU
    # makers hold 18-30 days of discretes; see docs/scenario-auto-2025.md).
    assert all(p["p_standstill"]["horizon"] == 1.0 for p in holds)


def test_seeded_runs_print_identical_csv() -> None:
    a = runner.invoke(app, ["simulate", *SMALL, "--seed", "3", "--csv"])
    b = runner.invoke(app, ["simulate", *SMALL, "--seed", "3", "--csv"])
    assert a.exit_code == 0 and a.stdout == b.stdout
    rows = list(csv.DictReader(io.StringIO(a.stdout)))
    assert len(rows) == 6 and rows[0]["runs"] == "40" and rows[0]["horizon_days"] == "60"


def test_table_output_names_scenario_and_plants() -> None:
    out = runner.invoke(app, ["simulate", *SMALL, "--assumptions", "auto-exemptions-nov"])
    assert out.exit_code == 0
    assert "auto-exemptions-nov" in out.stdout and "OEM-JP" in out.stdout


def test_plot_html_is_self_contained_and_svg_is_drawn(tmp_path: Path) -> None:
    html = tmp_path / "mc.html"
    out = runner.invoke(
        app, ["simulate", *SMALL, "--compare", "nexperia-ban-holds", "--plot", str(html)]
    )
    assert out.exit_code == 0, out.output
    text = html.read_text()
    # The plotly.js bundle is embedded (offline), and all three pictures are there.
    assert "<script" in text and "Plotly.newPlot" in text and len(text) > 1_000_000
    assert "Days to standstill" in text and "by scenario" in text
    assert "sales \\u002f demand" in text  # plotly escapes "/" in its JSON
    svg = tmp_path / "mc.svg"
    assert runner.invoke(app, ["simulate", *SMALL, "--plot", str(svg)]).exit_code == 0
    assert svg.read_text().startswith("<svg") and "<polyline" in svg.read_text()


def test_png_fails_with_a_clear_message(tmp_path: Path) -> None:
    out = runner.invoke(app, ["simulate", *SMALL, "--plot", str(tmp_path / "x.png")])
    assert out.exit_code == 2 and "kaleido" in out.output
    res = run(chain(), registry("ban"), assume())
    with pytest.raises(PlotError, match="kaleido"):
        write_plot(tmp_path / "x.png", res)


def test_bad_assumptions_file_exits_with_located_problems(tmp_path: Path) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text("name: bad\nstart: 2025-10-15\nmeasures:\n  no-such-measure:\n    lifted: never\n")
    out = runner.invoke(app, ["simulate", *SMALL, "--assumptions", str(f)])
    assert out.exit_code == 1
    assert "bad.yaml:5" in out.output and "unknown measure 'no-such-measure'" in out.output
    assert "Traceback" not in out.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--runs", "0"], "--runs"),
        (["--horizon", "0"], "--horizon"),
        (["--assumptions", "nope"], "unknown assumptions 'nope'"),
        (["--scenario", "nope"], "unknown scenario 'nope'"),
        (["--json", "--csv"], "one of --json and --csv"),
        (["--plot", "x.gif"], "unknown picture format"),
    ],
)
def test_bad_options_fail_cleanly(args: list[str], message: str) -> None:
    out = runner.invoke(app, ["simulate", "--runs", "10", *args])
    assert out.exit_code != 0 and message in out.output and "Traceback" not in out.output
