"""``--detach`` and ``supplyshock jobs``: the CLI queues the same jobs the API and the pages do.

The commands commit for real, so each test gets a fresh SQLite file (as the operator's CLI
tests do); the queue itself is tested on both backends in test_jobs_queue.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from supplyshock.cli import app
from supplyshock.settings import get_settings

MC = ["--runs", "40", "--horizon", "60", "--seed", "3", "--compare", "nexperia-ban-holds"]


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("SUPPLYSHOCK_DATABASE_URL", f"sqlite:///{tmp_path / 'jobs.db'}")
    get_settings.cache_clear()
    runner = CliRunner()
    res = runner.invoke(app, ["db", "upgrade"])
    assert res.exit_code == 0, res.output
    yield runner
    get_settings.cache_clear()


def run(cli: CliRunner, *args: str) -> str:
    res = cli.invoke(app, list(args))
    assert res.exit_code == 0, res.output
    return res.stdout


def test_detached_run_is_queued_worked_and_gives_the_waited_numbers(cli: CliRunner) -> None:
    job_id = run(cli, "simulate", *MC, "--detach").strip()
    assert len(job_id) == 32  # stdout is only the id
    shown = json.loads(run(cli, "jobs", "show", job_id))
    assert (shown["state"], shown["kind"], shown["params"]["runs"]) == ("queued", "montecarlo", 40)
    run(cli, "jobs", "work")
    assert json.loads(run(cli, "jobs", "show", job_id))["state"] == "done"
    result = json.loads(run(cli, "jobs", "show", job_id, "--result"))
    waited = json.loads(run(cli, "simulate", *MC, "--json"))
    assert len(result["scenarios"]) == len(waited["scenarios"]) == 2
    assert result == waited


def test_detached_survival_refuses_a_network_file(cli: CliRunner, tmp_path: Path) -> None:
    net = tmp_path / "net.yaml"
    net.write_text("meta: {name: x}\n", encoding="utf-8")
    res = cli.invoke(app, ["survival", "--scenario", str(net), "--detach"])
    assert res.exit_code != 0 and "--scenario" in res.output and "unknown scenario" in res.output


def test_unknown_job_is_a_clean_error(cli: CliRunner) -> None:
    res = cli.invoke(app, ["jobs", "show", "nope"])
    assert res.exit_code != 0 and "unknown job 'nope'" in res.output
    assert "Traceback" not in res.output


def test_cancel_a_detached_job_from_the_command_line(cli: CliRunner) -> None:
    job_id = run(cli, "survival", "--level", "site", "--detach").strip()
    assert json.loads(run(cli, "jobs", "cancel", job_id))["state"] == "cancelled"
    res = cli.invoke(app, ["jobs", "show", job_id, "--result"])
    assert res.exit_code != 0 and "cancelled: no result" in res.output
