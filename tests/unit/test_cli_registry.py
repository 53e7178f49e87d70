"""The ``timeline`` and ``check`` commands, run through Typer's test runner."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from supplyshock.cli import app

runner = CliRunner()

NEXPERIA = ["--origin", "CN", "--destination", "DE", "--maker", "Nexperia", "--made-in", "CN"]


def run(*args: str) -> tuple[int, str]:
    res = runner.invoke(app, list(args))
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    return res.exit_code, res.output


def check_json(*args: str) -> dict[str, Any]:
    code, out = run("check", *args, "--json")
    assert code == 0, out
    data: dict[str, Any] = json.loads(out)
    return data


def by_measure(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["measure_id"]: e for e in data["effects"]}


# -- check: the Nexperia cases ------------------------------------------------------------


def test_check_nexperia_before_the_ban_finds_nothing() -> None:
    data = check_json("--date", "2025-10-03", *NEXPERIA, "--hs", "854121")
    assert data["effects"] == []
    assert data["query"]["origin"] == "CN"


def test_check_nexperia_during_the_ban_reports_a_ban_with_sources() -> None:
    e = by_measure(check_json("--date", "2025-10-15", *NEXPERIA))["cn-nexperia-ban-2025"]
    assert e["effect"] == "ban"
    assert e["gta_type"] == "Export ban"
    assert e["reached_by"] == ["maker Nexperia made in CN"]
    assert {s["id"] for s in e["sources"]} == {"icpcb-2025-10-14", "ioplus-2025-11-01"}
    assert all(s["publisher"] for s in e["sources"])


def test_check_nexperia_automotive_in_november_is_exempt_naming_the_carve_out() -> None:
    data = check_json("--date", "2025-11-10", *NEXPERIA, "--sector", "automotive")
    e = by_measure(data)["cn-nexperia-ban-2025"]
    assert e["effect"] == "exempt"
    assert e["carve_out"] == "cn-nexperia-civilian-exemptions"
    assert e["event"] == "cn-nexperia-exempt-2025-11-09"
    assert e["description"].startswith("exempt via cn-nexperia-civilian-exemptions")


def test_check_nexperia_in_november_without_sector_is_still_banned() -> None:
    e = by_measure(check_json("--date", "2025-11-10", *NEXPERIA))["cn-nexperia-ban-2025"]
    assert e["effect"] == "ban" and e["carve_out"] is None


# -- check: other effects ----------------------------------------------------------------


def test_check_reports_licence_odds_and_review_time_for_a_dy_magnet() -> None:
    # cn-re-2025-04-in-force: approval 0.25, review 63 days (45 working days * 7/5).
    data = check_json(
        "--date", "2025-05-01", "--origin", "CN", "--destination", "DE",
        "--hs", "8505.11", "--element", "Nd=0.29", "--element", "Dy=5%",
    )  # fmt: skip
    e = by_measure(data)["cn-rare-earths-2025-04"]
    assert (e["effect"], e["approval_share"], e["review_days"]) == ("licence", 0.25, 63)
    assert data["query"]["item"]["elements"] == {"Nd": 0.29, "Dy": 0.05}
    assert data["query"]["item"]["hs_code"] == "850511"


def test_check_reports_tariff_rates() -> None:
    # 20 April 2025, CN -> US: 125 % reciprocal + 20 % fentanyl.
    data = check_json("--date", "2025-04-20", "--origin", "CN", "--destination", "US")
    rates = {k: e["tariff_rate_pct"] for k, e in by_measure(data).items()}
    assert rates == {"us-reciprocal-tariff-cn": 125, "us-fentanyl-tariff-cn": 20}


def test_check_lists_suspended_measures_that_would_reach_the_item() -> None:
    data = check_json(
        "--date", "2025-11-10", "--origin", "CN", "--destination", "DE", "--element", "Ho"
    )
    assert data["effects"] == []
    assert data["not_in_force"] == [
        {
            "measure_id": "cn-rare-earths-2025-10",
            "title": "China licence regime for five more rare earths (Ho, Er, Tm, Eu, Yb)",
            "status": "suspended",
            "suspended_until": "2026-11-10",
            "event": "cn-re-2025-10-suspended",
            "certainty": "confirmed",
            "uncertainty": None,
            "last_reviewed": "2026-12-01",
            "staleness": "current",
            "staleness_warning": None,
        }
    ]


def test_check_as_of_ignores_later_announcements() -> None:
    # On 5 Nov the 7 Nov suspension was unknown, so 10 Nov looked like a licence day for Ho.
    args = ("--date", "2025-11-10", "--origin", "CN", "--destination", "DE", "--element", "Ho")
    assert "cn-rare-earths-2025-10" in by_measure(check_json(*args, "--as-of", "2025-11-05"))
    assert by_measure(check_json(*args, "--as-of", "2025-11-08")) == {}


def test_check_national_tariff_line_is_cut_to_hs6() -> None:
    data = check_json(
        "--date", "2025-05-01", "--origin", "CN", "--destination", "DE", "--hs", "2805301910"
    )
    assert data["query"]["item"]["hs_code"] == "280530"


def test_check_table_says_when_nothing_applies() -> None:
    code, out = run("check", "--date", "2025-01-10", "--origin", "DE", "--destination", "FR")
    assert code == 0
    assert "no measure applies" in out


def test_check_table_shows_the_effect() -> None:
    code, out = run("check", "--date", "2025-10-15", *NEXPERIA)
    assert code == 0
    # The table wraps long ids at 80 columns; look for words that fit in a cell.
    assert "CN → DE on 2025-10-15" in out
    assert "made in CN" in out and "│ ban" in out


# -- check: bad input ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--origin", "XX"], "--origin: unknown ISO 3166-1 alpha-2 country code 'XX'"),
        (["--destination", "Germany"], "--destination: unknown ISO 3166-1"),
        (["--date", "2025-02-30"], "--date: '2025-02-30' is not a date"),
        (["--as-of", "yesterday"], "--as-of: 'yesterday' is not a date"),
        (["--hs", "85051"], "--hs: malformed HS code '85051'"),
        (["--element", "Xy"], "--element: unknown chemical element 'Xy'"),
        (["--element", "Dy=lots"], "the share must be a number"),
        (["--element", "Dy=1.5"], "the mass share must lie between 0 and 1"),
        (["--made-in", "ZZ"], "--made-in: unknown ISO 3166-1"),
    ],
)
def test_check_bad_input_exits_2_with_a_message(args: list[str], message: str) -> None:
    base = {"--date": "2025-05-01", "--origin": "CN", "--destination": "DE"}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    flat = [x for kv in base.items() for x in kv]
    code, out = run("check", *flat)
    assert code == 2
    assert message in " ".join(out.split())
    assert "Traceback" not in out


def test_check_with_a_broken_registry_file_lists_its_problems(tmp_path: Path) -> None:
    bad = tmp_path / "reg.yaml"
    bad.write_text("sources: []\nacts: []\nmeasures:\n  - id: m\n    act: nowhere\n")
    code, out = run(
        "check", "--date", "2025-05-01", "--origin", "CN", "--destination", "DE",
        "--registry", str(bad),
    )  # fmt: skip
    assert code == 1
    assert "problems found" in out
    assert "reg.yaml" in out
    assert "Traceback" not in out


# -- timeline ------------------------------------------------------------------------------


def timeline_json(*args: str) -> list[dict[str, Any]]:
    code, out = run("timeline", *args, "--json")
    assert code == 0, out
    rows: list[dict[str, Any]] = json.loads(out)
    return rows


def test_timeline_filters_by_element() -> None:
    rows = timeline_json("--element", "dy")  # case is normalised to Dy
    assert {r["measure_id"] for r in rows} == {
        "cn-rare-earths-2025-04",
        "cn-rare-earths-2025-10-abroad",
        "cn-rare-earths-2025-10-reexport",
    }
    assert [r["effective"] for r in rows] == sorted(r["effective"] for r in rows)


def test_timeline_filters_by_element_of_the_october_list() -> None:
    rows = timeline_json("--element", "Ho")
    assert {r["event_kind"] for r in rows} == {"announced", "in_force", "suspended"}
    assert {r["measure_id"] for r in rows} == {"cn-rare-earths-2025-10"}


def test_timeline_filters_by_kind_issuer_and_dates() -> None:
    rows = timeline_json("--issuer", "US", "--kind", "tariff", "--from", "2025-04-01",
                         "--to", "2025-04-30")  # fmt: skip
    assert [r["event_id"] for r in rows] == [
        "us-reciprocal-2025-04-announced",
        "us-s232-autos-2025-04-in-force",
        "us-reciprocal-2025-04-in-force",
        "us-reciprocal-2025-04-125",
    ]


def test_timeline_filters_by_hs_code() -> None:
    rows = timeline_json("--hs", "8507")
    assert {r["measure_id"] for r in rows} == {"cn-batteries-2025-10", "us-s301-cn-li-ion-non-ev"}


def test_timeline_includes_carve_out_events() -> None:
    rows = timeline_json("--issuer", "MOFCOM", "--from", "2025-11-01", "--to", "2025-11-09")
    carve = [r for r in rows if r["carve_out"]]
    assert [r["event_id"] for r in carve] == [
        "cn-nexperia-exempt-2025-11-01",
        "cn-nexperia-exempt-2025-11-06",
        "cn-nexperia-exempt-2025-11-09",
    ]


def test_timeline_csv_has_a_header_and_one_row_per_event() -> None:
    code, out = run("timeline", "--element", "Dy", "--csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == len(timeline_json("--element", "Dy"))
    assert rows[0]["effective"] == "2025-04-04"
    assert rows[0]["sources"].split(";")[0] == "hk-2025-04-04"


def test_timeline_table_renders() -> None:
    code, out = run("timeline", "--element", "Dy")
    assert code == 0
    assert "Registry timeline" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kind", "embargo"], "--kind: 'embargo' is not a measure kind"),
        (["--element", "Dyx"], "--element: unknown chemical element"),
        (["--hs", "8x"], "--hs: malformed HS code"),
        (["--from", "2025-05-01", "--to", "2025-04-01"], "is before --from"),
        (["--json", "--csv"], "choose one of --json and --csv"),
    ],
)
def test_timeline_bad_input_exits_2(args: list[str], message: str) -> None:
    code, out = run("timeline", *args)
    assert code == 2
    assert message in " ".join(out.split())
