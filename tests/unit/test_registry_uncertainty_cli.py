"""``supplyshock check`` says when an answer is scheduled but unconfirmed, or stale."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner

from supplyshock.cli import app

runner = CliRunner()


def check(*args: str) -> str:
    res = runner.invoke(app, ["check", *args], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    return res.output


def flat(text: str) -> str:
    """The output with rich's line wrapping undone."""
    return " ".join(text.split())


def check_json(*args: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(check(*args, "--json"))
    return data


HO = ("--origin", "CN", "--destination", "DE", "--hs", "850511", "--element", "Ho=0.01")
GA = ("--origin", "CN", "--destination", "US", "--hs", "811292", "--element", "Ga")


def test_plain_check_says_the_holmium_licence_is_scheduled_and_unconfirmed() -> None:
    out = flat(check("--date", "2026-12-01", *HO))
    assert "(scheduled, unconfirmed)" in out
    assert "no source on record says whether the suspension was extended" in out


def test_json_check_carries_certainty_and_staleness_fields() -> None:
    data = check_json("--date", "2026-12-01", *GA)
    effects = {e["measure_id"]: e for e in data["effects"]}
    ban = effects["cn-us-ban-2024-46"]
    assert (ban["effect"], ban["certainty"]) == ("ban", "scheduled_unconfirmed")
    assert "2026-11-27" in ban["uncertainty"]
    ga = effects["cn-ga-ge-2023"]
    assert (ga["staleness"], ga["last_reviewed"]) == ("stale", "2025-11-09")
    pending = {p["measure_id"]: p for p in data["not_in_force"]}
    s122 = pending["us-s122-surcharge-2026"]
    assert (s122["status"], s122["certainty"]) == ("expired", "scheduled_unconfirmed")


def test_plain_check_prints_the_staleness_warning() -> None:
    out = flat(check("--date", "2026-12-01", *GA))
    assert "stale cn-ga-ge-2023: this measure was last reviewed on 2025-11-09" in out


def test_same_question_as_known_before_the_suspension_is_a_plain_ban() -> None:
    data = check_json("--date", "2026-12-01", "--as-of", "2025-11-08", *GA)
    ban = {e["measure_id"]: e for e in data["effects"]}["cn-us-ban-2024-46"]
    assert (ban["certainty"], ban["staleness"]) == ("confirmed", "stale")
