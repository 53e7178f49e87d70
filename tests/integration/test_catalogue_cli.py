"""The operator's catalogue commands: open a crisis with a catalogue CSV, then extend it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from supplyshock.cli import app
from supplyshock.settings import get_settings


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("SUPPLYSHOCK_DATABASE_URL", f"sqlite:///{tmp_path / 'exchange.db'}")
    get_settings.cache_clear()
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    yield runner
    get_settings.cache_clear()


def _csv(path: Path, *rows: str) -> Path:
    path.write_text("part_number,maker,part_family\n" + "".join(r + "\n" for r in rows))
    return path


def test_open_with_a_catalogue_then_extend_it(cli: CliRunner, tmp_path: Path) -> None:
    # A part number with a comma is quoted, as CSV does.
    first = tmp_path / "a.csv"
    first.write_text('part_number,maker,part_family\n"BC847B,215",Nexperia,discretes\n')
    opened = cli.invoke(
        app,
        [
            "crises", "open", "Cat", "--starts", "2025-10-01", "--ends", "2026-01-31",
            "--maker", "Nexperia", "--catalogue", str(first), "--json",
        ],
    )  # fmt: skip
    assert opened.exit_code == 0, opened.output
    crisis_id = json.loads(opened.output)["id"]
    more = _csv(tmp_path / "b.csv", "BC847B,215x,Nexperia,discretes")
    bad = cli.invoke(app, ["crises", "catalogue", crisis_id, str(more)])
    # Four fields in a three-column file: the extra one lands in no column and is refused.
    assert bad.exit_code == 2 and "more fields than the header" in bad.output.replace("\n", " ")
    more = _csv(tmp_path / "c.csv", "PMEG3020,Nexperia,discretes", "BC847C,Nexperia,discretes")
    added = cli.invoke(app, ["crises", "catalogue", crisis_id, str(more), "--json"])
    assert added.exit_code == 0, added.output
    assert [e["part_number"] for e in json.loads(added.output)] == ["PMEG3020", "BC847C"]
    again = cli.invoke(app, ["crises", "catalogue", crisis_id, str(more), "--json"])
    assert json.loads(again.output) == []
    outside = _csv(tmp_path / "d.csv", "IPD50N04,Infineon,mosfets")
    refused = cli.invoke(app, ["crises", "catalogue", crisis_id, str(outside)])
    assert refused.exit_code != 0 and "out_of_scope" in refused.output
