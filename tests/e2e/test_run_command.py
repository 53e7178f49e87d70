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
    res = CliRunner().invoke(app, ["run", "--date", "2025-10-15"], env={"COLUMNS": "200"})
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
