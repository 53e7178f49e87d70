"""``supplyshock registry sync/export/import/draft/approve`` on a real SQLite database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from supplyshock.cli import app
from supplyshock.settings import get_settings


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("SUPPLYSHOCK_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    get_settings.cache_clear()
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    yield runner
    get_settings.cache_clear()


def test_sync_export_validate_import_and_two_editor_approval(
    cli: CliRunner, tmp_path: Path
) -> None:
    res = cli.invoke(app, ["registry", "sync"])
    assert res.exit_code == 0, res.output
    assert "0 new" not in res.output
    assert "0 new" in cli.invoke(app, ["registry", "sync"]).output
    out = tmp_path / "export"
    assert cli.invoke(app, ["registry", "export", str(out)]).exit_code == 0
    res = cli.invoke(app, ["validate", str(out), "--kind", "registry"])
    assert res.exit_code == 0, res.output
    res = cli.invoke(app, ["registry", "import", str(out), "--editor", "alice"])
    assert res.exit_code == 0, res.output
    assert "imported: 0 draft(s)" in res.output
    src = tmp_path / "src.yaml"
    src.write_text(
        yaml.safe_dump({"id": "cli-src", "publisher": "P", "title": "T", "published": "2026-11-30"})
    )
    res = cli.invoke(app, ["registry", "draft", "source", str(src), "--editor", "alice"])
    assert res.exit_code == 0, res.output
    seq = res.output.split()[1]
    res = cli.invoke(app, ["registry", "approve", seq, "--editor", "alice"])
    assert res.exit_code != 0 and "second" in res.output
    res = cli.invoke(app, ["registry", "approve", seq, "--editor", "bob"])
    assert res.exit_code == 0, res.output
    assert cli.invoke(app, ["registry", "export", str(out)]).exit_code == 0
    assert "cli-src" in (out / "sources.yaml").read_text()
