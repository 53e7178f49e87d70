"""The README's run command: migrates the embedded SQLite store and shows the built-in data."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from supplyshock.cli import app
from supplyshock.settings import get_settings


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("SUPPLYSHOCK_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SUPPLYSHOCK_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_run_migrates_sqlite_and_reports_the_nexperia_ban(data_dir: Path) -> None:
    res = CliRunner().invoke(
        app, ["run", "--date", "2025-10-15", "--no-serve"], env={"COLUMNS": "200"}
    )
    assert res.exit_code == 0, res.output
    db = data_dir / "supplyshock.db"
    assert db.exists()
    with sqlite3.connect(db) as conn:
        (version,) = conn.execute("select version_num from alembic_version").fetchone()
    assert version  # the migrations ran
    out = res.output
    assert "Registry timeline" in out
    # On 15 Oct 2025 China's ban on Nexperia China exports is in force and reaches the plants.
    assert "cn-nexperia-ban-2025" in out and "(ban)" in out
    assert "OEM-DE" in out and "OEM-US" in out and "OEM-JP" in out


def test_run_rejects_a_bad_date_cleanly(data_dir: Path) -> None:
    res = CliRunner().invoke(app, ["run", "--date", "15/10/2025"])
    assert res.exit_code == 2
    assert "not a date" in res.output
    assert "Traceback" not in res.output


def test_run_serves_the_ui_with_demo_tokens(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn
    from fastapi.testclient import TestClient
    from uvicorn.importer import import_from_string

    served: dict[str, object] = {}

    def fake_run(app: object, host: str, port: int, **kw: object) -> None:
        served.update(app=app, host=host, port=port, **kw)

    monkeypatch.setattr(uvicorn, "run", fake_run)
    res = CliRunner().invoke(app, ["run", "--port", "8123"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "http://127.0.0.1:8123/" in res.output
    assert served["port"] == 8123
    assert served["app"] == "supplyshock.server:create_app" and served["factory"] is True
    # The printed demo token signs in to the application the factory builds (same settings).
    token = next(w for w in res.output.split() if w.startswith("ssx_"))
    with TestClient(import_from_string(served["app"])()) as client:
        page = client.get("/")
        assert page.status_code == 200
        me = client.get("/api/v1/listings", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200, me.text


def test_run_on_a_busy_port_says_so_before_issuing_tokens(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("must not start"))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        res = CliRunner().invoke(app, ["run", "--port", str(port)], env={"COLUMNS": "200"})
    assert res.exit_code == 2, res.output
    assert "--port" in res.output and "Traceback" not in res.output
    assert "ssx_" not in res.output  # no demo token was issued for a server that never started
    with sqlite3.connect(data_dir / "supplyshock.db") as conn:
        (tokens,) = conn.execute("select count(*) from api_tokens").fetchone()
    assert tokens == 0
