"""Exposure says when a measure reaching a plant rests on an unconfirmed scheduled change, or is
asked about past its last review; the web pages read the registry published in the database.

The built-in registry holds two real cases reaching OEM-US (auto-2025 network):

* ``cn-rare-earths-2025-10-abroad`` was suspended (event cn-re-abroad-2025-11-suspended) until
  2026-11-10. On 2026-11-09 it is suspended and reaches no lane; on 2026-11-11 it is back in
  force only because the suspension was scheduled to end, which no source confirms.
* ``cn-countertariff-us`` is tightened from 2026-11-10 by a change announced on 2025-11-05 and
  last reviewed on 2025-11-05: on 2026-12-01 it is both unconfirmed and stale.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from supplyshock.cli import app as cli_app
from tests.e2e.conftest import API
from tests.e2e.test_api_registry_editing import _basis, _editor, _measure, _publish

ABROAD = "cn-rare-earths-2025-10-abroad"
COUNTER = "cn-countertariff-us"


def _measures(client: TestClient, headers: dict[str, str], day: str) -> dict[str, Any]:
    res = client.get(f"{API}/exposure", params={"date": day, "plant": "OEM-US"}, headers=headers)
    assert res.status_code == 200, res.text
    return {m["measure_id"]: m for p in res.json()["products"] for m in p["measures"]}


def test_api_exposure_flags_an_unconfirmed_suspension_end_and_a_stale_measure(
    client: TestClient, operator: dict[str, str]
) -> None:
    before = _measures(client, operator, "2026-11-09")
    assert ABROAD not in before  # still suspended: reaches nothing
    after = _measures(client, operator, "2026-11-11")
    assert after[ABROAD]["certainty"] == "scheduled_unconfirmed"
    assert "2026-11-10" in after[ABROAD]["uncertainty"]
    late = _measures(client, operator, "2026-12-01")[COUNTER]
    assert late["certainty"] == "scheduled_unconfirmed"
    assert late["last_reviewed"] == "2025-11-05"
    assert late["staleness"] == "stale"  # 2026-12-01 is past 2025-11-05
    assert "2025-11-05" in late["staleness_warning"]


def test_cli_exposure_table_json_and_csv_carry_the_flags() -> None:
    runner = CliRunner()
    args = ["exposure", "--date", "2026-12-01", "--plant", "OEM-US"]
    table = runner.invoke(cli_app, args, env={"COLUMNS": "300"})
    assert table.exit_code == 0, table.output
    line = next(ln for ln in table.output.splitlines() if f"{COUNTER} (tariff)" in ln)
    assert "scheduled, unconfirmed" in line and "last reviewed 2025-11-05" in line
    assert f"note {COUNTER}: scheduled, unconfirmed" in table.output
    doc = runner.invoke(cli_app, [*args, "--json"])
    assert doc.exit_code == 0, doc.output
    assert '"certainty": "scheduled_unconfirmed"' in doc.output
    assert '"last_reviewed": "2025-11-05"' in doc.output
    csv = runner.invoke(cli_app, [*args, "--csv"])
    assert csv.exit_code == 0, csv.output
    header, *rows = csv.output.splitlines()
    assert header.endswith("effects,unconfirmed_measures,stale_measures,last_reviewed")
    assert any(f"{COUNTER}=2025-11-05" in r for r in rows)


def test_web_exposure_page_says_unconfirmed_and_last_reviewed(client: TestClient) -> None:
    html = client.get("/exposure", params={"date": "2026-12-01"}).text
    assert "scheduled, unconfirmed" in html
    assert "last reviewed 2025-11-05" in html
    assert "past the last review" in html
    # The note sits next to the measure it is about.
    after = html.split(f"<b>{COUNTER}</b>", 1)[1].split("<br>", 1)[0]
    assert '<span class="caveat warn">scheduled, unconfirmed' in after
    assert "last reviewed 2025-11-05" in after


def test_a_change_published_in_the_database_shows_on_the_web_timeline(
    api_app: FastAPI, client: TestClient, operator: dict[str, str]
) -> None:
    a, b = _editor(client, operator, "ann"), _editor(client, operator, "ben")
    u, src, act = _basis(client, a, b)
    measure = _measure(u, act, src)
    measure["title"] = f"Icelandic gallium export ban {u}"
    page = client.get("/timeline", params={"issuer": "IS"}).text
    assert measure["title"] not in page
    _publish(client, a, b, "measures", measure)
    page = client.get("/timeline", params={"issuer": "IS"}).text
    assert measure["title"] in page
    # A signed-in editor gets a link to the editor's page; a visitor does not.
    assert 'href="/registry/edit"' not in page
    with TestClient(api_app) as browser:  # a cookie jar of its own
        token = a["Authorization"].removeprefix("Bearer ")
        res = browser.post("/exchange/signin", data={"token": token}, follow_redirects=False)
        assert res.status_code == 303, res.text
        assert 'href="/registry/edit"' in browser.get("/timeline").text
