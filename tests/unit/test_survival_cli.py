"""``supplyshock survival``: table, JSON, CSV, pictures and clean errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from supplyshock.cli import app
from tests.unit.test_survival_hand import sole_source

runner = CliRunner()


@pytest.fixture
def net_file(tmp_path: Path) -> Path:
    path = tmp_path / "net.yaml"
    data = sole_source().model_dump(mode="json", exclude_defaults=True)
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_json_lists_nodes_ranked_by_rei(net_file: Path) -> None:
    # Hand-derived in test_survival_hand: P/car loses 5,000 (REI 1), S/seat 3,000 (REI 0.6).
    res = runner.invoke(app, ["survival", "--scenario", str(net_file), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    got = [(n["site"], n["part"], n["tts_days"], n["rei"], n["at_risk"]) for n in out["nodes"]]
    assert got == [("P", "car", 0.0, 1.0, True), ("S", "seat", pytest.approx(7.0), 0.6, True)]


def test_csv_has_one_row_per_node(net_file: Path) -> None:
    res = runner.invoke(app, ["survival", "--scenario", str(net_file), "--csv"])
    assert res.exit_code == 0, res.output
    lines = res.stdout.strip().splitlines()
    assert lines[0].startswith("rank,site,part,tts_days")
    assert lines[2].split(",")[:4] == ["2", "S", "seat", "7"]


def test_table_names_the_nodes(net_file: Path) -> None:
    res = runner.invoke(app, ["survival", "--scenario", str(net_file)])
    assert res.exit_code == 0, res.output
    assert "S/seat" in res.stdout and "2 with TTS < TTR" in res.stdout


def test_svg_picture_marks_nodes_below_the_diagonal(net_file: Path, tmp_path: Path) -> None:
    pic = tmp_path / "risk.svg"
    res = runner.invoke(app, ["survival", "--scenario", str(net_file), "--plot", str(pic)])
    assert res.exit_code == 0, res.output
    text = pic.read_text()
    assert text.count('class="at-risk"') == 2 and 'class="diagonal"' in text


def test_html_picture_works_offline(net_file: Path, tmp_path: Path) -> None:
    pic = tmp_path / "risk.html"
    res = runner.invoke(app, ["survival", "--scenario", str(net_file), "--plot", str(pic)])
    assert res.exit_code == 0, res.output
    text = pic.read_text()
    # The plotly.js bundle is inside the page (no <script src=...>); labels are JSON-escaped.
    assert "S\\u002fseat" in text and "<script src=" not in text and len(text) > 1_000_000


def test_png_asks_for_kaleido(net_file: Path, tmp_path: Path) -> None:
    res = runner.invoke(
        app, ["survival", "--scenario", str(net_file), "--plot", str(tmp_path / "x.png")]
    )
    assert res.exit_code == 2
    assert "kaleido" in res.output and "Traceback" not in res.output


def test_bad_network_reports_location_not_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    data = sole_source().model_dump(mode="json", exclude_defaults=True)
    data["lanes"][0]["supplier"] = "NOWHERE"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    res = runner.invoke(app, ["survival", "--scenario", str(path)])
    assert res.exit_code == 1
    assert "NOWHERE" in res.output and "lanes" in res.output and "Traceback" not in res.output


def test_unknown_measure_is_a_clean_error(net_file: Path) -> None:
    res = runner.invoke(
        app, ["survival", "--scenario", str(net_file), "--measure", "nope", "--date", "2025-10-20"]
    )
    assert res.exit_code == 2 and "nope" in res.output


def test_builtin_scenario_by_measure_cuts_lanes() -> None:
    from supplyshock.data import scenario_names

    assert "auto-2025" in scenario_names()
    res = runner.invoke(
        app,
        ["survival", "--measure", "cn-nexperia-ban-2025", "--date", "2025-10-20", "--json"],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["blocked_lanes"] and {p["plant"] for p in out["plants"]}
