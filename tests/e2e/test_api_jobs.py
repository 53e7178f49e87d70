"""Survival and Monte Carlo as jobs over HTTP: the numbers of the service and the CLI, owners
only, limits at the field, cancel, and jobs that outlive the server that accepted them."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from supplyshock.cli import app as cli
from supplyshock.jobs.records import now
from supplyshock.server import create_app
from supplyshock.services.demo import DemoSeed
from supplyshock.services.montecarlo import run_scenarios
from supplyshock.services.requests import MonteCarloRequest, SurvivalRequest
from supplyshock.services.survival import rank_survival
from supplyshock.store.db import UnitOfWork
from supplyshock.store.migrate import upgrade
from supplyshock.store.models import JobRecord
from tests.e2e.conftest import API, Member, api_settings, bearer, operator_token
from tests.e2e.conftest_web import (  # noqa: F401  (fixtures, used as arguments)
    browser_client,
    demo,
    token_of,
    web_app,
    web_client,
)
from tests.integration.conftest import PG_ADMIN_URL, _postgres_database

SURVIVAL = {"scenario": "auto-2025", "level": "site"}
MONTECARLO = {"runs": 40, "horizon": 60, "seed": 3, "compare": ["nexperia-ban-holds"]}


def wait_done(client: TestClient, headers: dict[str, str], job_id: str) -> dict[str, Any]:
    """Poll until the job ends (bounded; the bound is a safety net, not an assertion)."""
    for _ in range(1200):
        res = client.get(f"{API}/jobs/{job_id}", headers=headers)
        assert res.status_code == 200, res.text
        body: dict[str, Any] = res.json()
        assert 0 <= body["progress"]["fraction"] <= 1
        if body["state"] in ("done", "failed", "cancelled"):
            return body
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still {body['state']}")


def run_job(
    client: TestClient, headers: dict[str, str], kind: str, body: dict[str, Any]
) -> dict[str, Any]:
    res = client.post(f"{API}/jobs/{kind}", json=body, headers=headers)
    assert res.status_code == 202, res.text
    assert res.json()["state"] == "queued"
    job = wait_done(client, headers, res.json()["id"])
    assert job["state"] == "done", job
    assert job["progress"]["fraction"] == 1
    out = client.get(f"{API}/jobs/{job['id']}/result", headers=headers)
    assert out.status_code == 200, out.text
    result: dict[str, Any] = out.json()
    return result


def cli_json(*args: str) -> dict[str, Any]:
    res = CliRunner().invoke(cli, [*args, "--json"])
    assert res.exit_code == 0, res.output
    doc: dict[str, Any] = json.loads(res.stdout)
    return doc


def test_survival_job_gives_the_numbers_of_the_service_and_the_cli(
    client: TestClient, make_member: Callable[[], Member]
) -> None:
    api = run_job(client, make_member().headers, "survival", SURVIVAL)
    service = json.loads(json.dumps(rank_survival(SurvivalRequest(**SURVIVAL)).document()))
    command = cli_json("survival", "--scenario", "auto-2025", "--level", "site")
    assert len(api["nodes"]) == len(service["nodes"]) == len(command["nodes"]) > 0
    assert api == service == command


def test_montecarlo_job_gives_the_numbers_of_the_service_and_the_cli(
    client: TestClient, make_member: Callable[[], Member]
) -> None:
    api = run_job(client, make_member().headers, "montecarlo", MONTECARLO)
    service = json.loads(json.dumps(run_scenarios(MonteCarloRequest(**MONTECARLO)).document()))
    command = cli_json(
        "simulate",
        *("--runs", "40", "--horizon", "60", "--seed", "3"),
        *("--compare", "nexperia-ban-holds", "--workers", "2"),
    )
    assert [s["scenario"] for s in api["scenarios"]] == ["baseline", "nexperia-ban-holds"]
    assert len(api["scenarios"]) == len(service["scenarios"]) == len(command["scenarios"])
    assert api == service == command


def test_a_job_started_in_the_browser_is_an_api_job_with_the_same_numbers(
    browser_client: TestClient,  # noqa: F811
    demo: DemoSeed,  # noqa: F811
) -> None:
    token = token_of(demo, 0)
    res = browser_client.post("/exchange/signin", data={"token": token}, follow_redirects=False)
    assert res.status_code == 303
    form = {"assumptions": "baseline", "compare": "nexperia-ban-holds", "runs": "40", "seed": "3"}
    res = browser_client.post("/survival/run", data=form, follow_redirects=False)
    assert res.status_code == 303, res.text
    job_id = res.headers["location"].split("job=")[1]
    # The page's job is the member's API job: same id, same owner, same result document.
    job = wait_done(browser_client, bearer(token), job_id)
    assert job["state"] == "done"
    result = browser_client.get(f"{API}/jobs/{job_id}/result", headers=bearer(token)).json()
    request = MonteCarloRequest(runs=40, seed=3, compare=["nexperia-ban-holds"])
    service = json.loads(json.dumps(run_scenarios(request).document()))
    assert len(result["scenarios"]) == len(service["scenarios"]) == 2
    assert result["scenarios"] == service["scenarios"]
    assert len(result["figures"]) == 3  # fan charts, histogram, comparison: for the page


def test_another_member_gets_404_on_someones_job(
    client: TestClient, make_member: Callable[[], Member], operator: dict[str, str]
) -> None:
    owner, other = make_member(), make_member()
    res = client.post(f"{API}/jobs/montecarlo", json=MONTECARLO, headers=owner.headers)
    job_id = res.json()["id"]
    for headers in (other.headers, operator):
        assert client.get(f"{API}/jobs/{job_id}", headers=headers).status_code == 404
        assert client.get(f"{API}/jobs/{job_id}/result", headers=headers).status_code == 404
        res = client.post(f"{API}/jobs/{job_id}/cancel", headers=headers)
        assert res.status_code == 404 and res.json()["error"]["code"] == "not_found"
    assert wait_done(client, owner.headers, job_id)["state"] == "done"  # nobody stopped it


def test_jobs_need_a_token(client: TestClient) -> None:
    assert client.post(f"{API}/jobs/survival", json=SURVIVAL).status_code == 401


@pytest.mark.parametrize(
    ("kind", "body", "field"),
    [
        ("montecarlo", {"runs": 5}, "body.runs"),
        ("montecarlo", {"runs": 100_001}, "body.runs"),
        ("montecarlo", {"horizon": 3651}, "body.horizon"),
        ("montecarlo", {"scenario": "../../etc"}, "body.scenario"),
        ("montecarlo", {"assumptions": "nope"}, "body.assumptions"),
        ("montecarlo", {"compare": ["baseline", "nope"]}, "body.compare"),
        ("montecarlo", {"workers": 64}, "body.workers"),
        ("survival", {"only": ["NOPE/part"]}, "body.only"),
        ("survival", {"level": "plant"}, "body.level"),
        ("survival", {"horizon": -1}, "body.horizon"),
    ],
)
def test_bad_parameters_get_422_at_the_field_and_queue_nothing(
    client: TestClient,
    api_app: FastAPI,
    make_member: Callable[[], Member],
    kind: str,
    body: dict[str, Any],
    field: str,
) -> None:
    member = make_member()
    res = client.post(f"{API}/jobs/{kind}", json=body, headers=member.headers)
    assert res.status_code == 422, res.text
    assert [d["field"] for d in res.json()["error"]["details"]] == [field]
    with UnitOfWork(api_app.state.session_factory) as uow:
        owned = select(func.count()).where(JobRecord.owner == f"member:{member.id}")
        assert uow.session.scalar(owned) == 0


# -- restarts: a database of its own, and apps started and dropped by the test ---------------


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'restart.db'}"
        upgrade(url)
        yield url
        return
    for url in _postgres_database(PG_ADMIN_URL):
        upgrade(url)
        yield url


def test_a_queued_job_runs_after_a_restart_and_a_dead_workers_job_is_failed(
    fresh_url: str,
) -> None:
    # First server: its lifespan never runs (TestClient outside `with`), so no worker takes
    # the job; then it is dropped, as a server that stops before the job starts.
    first = create_app(api_settings(fresh_url))
    headers = bearer(operator_token(first))
    res = TestClient(first).post(f"{API}/jobs/montecarlo", json=MONTECARLO, headers=headers)
    assert res.status_code == 202
    queued = res.json()["id"]
    with UnitOfWork(first.state.session_factory) as uow:
        # A job some earlier server was running when it died: its heartbeat is an hour old.
        orphan = JobRecord(
            kind="survival",
            owner="operator",
            state="running",
            params=SURVIVAL,
            done=3,
            total=30,
            cancel_requested=False,
            worker="dead-host:1/0",
            started_at=now() - timedelta(hours=1),
            heartbeat_at=now() - timedelta(hours=1),
        )
        uow.session.add(orphan)
        uow.commit()
        orphan_id = orphan.id
    del first

    second = create_app(api_settings(fresh_url))
    with TestClient(second) as client:
        assert wait_done(client, headers, queued)["state"] == "done"
        result = client.get(f"{API}/jobs/{queued}/result", headers=headers).json()
        dead = client.get(f"{API}/jobs/{orphan_id}", headers=headers).json()
    assert result == json.loads(
        json.dumps(run_scenarios(MonteCarloRequest(**MONTECARLO)).document())
    )
    assert dead["state"] == "failed" and "worker" in dead["error"]


def test_cancel_a_queued_job_and_its_result_is_409(fresh_url: str) -> None:
    app = create_app(api_settings(fresh_url))  # no lifespan: nothing runs the job
    headers = bearer(operator_token(app))
    client = TestClient(app)
    job_id = client.post(f"{API}/jobs/survival", json=SURVIVAL, headers=headers).json()["id"]
    res = client.post(f"{API}/jobs/{job_id}/cancel", headers=headers)
    assert res.status_code == 200 and res.json()["state"] == "cancelled"
    res = client.get(f"{API}/jobs/{job_id}/result", headers=headers)
    assert res.status_code == 409 and res.json()["error"]["code"] == "job_not_done"


# -- the inline analytics that share the services --------------------------------------------


def test_survival_by_measure_over_http_is_the_cli_document(
    client: TestClient, operator: dict[str, str]
) -> None:
    body = {"measure": "cn-nexperia-ban-2025", "date": "2025-10-15", "days": 30}
    res = client.post(f"{API}/survival/measure", json=body, headers=operator)
    assert res.status_code == 200, res.text
    command = cli_json(
        "survival", "--measure", "cn-nexperia-ban-2025", "--date", "2025-10-15", "--days", "30"
    )
    assert res.json()["blocked_lanes"]  # the ban cuts lanes of auto-2025
    assert res.json() == command


def test_survival_by_measure_names_an_unknown_measure(
    client: TestClient, operator: dict[str, str]
) -> None:
    body = {"measure": "nope", "date": "2025-10-15"}
    res = client.post(f"{API}/survival/measure", json=body, headers=operator)
    assert res.status_code == 422
    assert [d["field"] for d in res.json()["error"]["details"]] == ["body.measure"]


def test_check_returns_what_is_on_record_but_not_applying(
    client: TestClient, operator: dict[str, str]
) -> None:
    # As `supplyshock check` prints it: the October list (Ho) is suspended until 10 Nov 2026.
    body = {"date": "2025-11-10", "origin": "CN", "destination": "DE", "elements": {"Ho": None}}
    res = client.post(f"{API}/registry/check", json=body, headers=operator)
    assert res.status_code == 200, res.text
    pending = [(p["measure_id"], p["status"]) for p in res.json()["not_in_force"]]
    assert pending == [("cn-rare-earths-2025-10", "suspended")]


def test_a_member_may_hold_only_a_few_jobs_at_once(fresh_url: str) -> None:
    from supplyshock.services.limits import MAX_ACTIVE_JOBS

    app = create_app(api_settings(fresh_url))  # no lifespan: the jobs stay queued
    headers = bearer(operator_token(app))
    client = TestClient(app)
    codes = [
        client.post(f"{API}/jobs/survival", json=SURVIVAL, headers=headers).status_code
        for _ in range(MAX_ACTIVE_JOBS + 1)
    ]
    assert codes == [202] * MAX_ACTIVE_JOBS + [409]
