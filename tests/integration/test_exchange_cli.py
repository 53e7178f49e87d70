"""The operator's CLI: migrate, add members, issue and revoke tokens, verify the audit chain.

These commands commit for real, so they get a fresh SQLite file each rather than the shared,
rolled-back test databases; the services under them are tested on both backends elsewhere.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from supplyshock.cli import app
from supplyshock.exchange.errors import Unauthenticated
from supplyshock.exchange.members import authenticate
from supplyshock.settings import get_settings
from supplyshock.store.db import make_engine, make_session_factory


@pytest.fixture
def db_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "nested" / "exchange.db"  # the directory does not exist yet
    monkeypatch.setenv("SUPPLYSHOCK_DATABASE_URL", f"sqlite:///{path}")
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


@pytest.fixture
def cli(db_file: Path) -> CliRunner:
    runner = CliRunner()
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    return runner


def _member_id(cli: CliRunner, name: str = "Bosch") -> str:
    result = cli.invoke(
        app, ["members", "add", name, "--contact", "a@b.de", "--country", "DE", "--json"]
    )
    assert result.exit_code == 0, result.output
    return str(json.loads(result.stdout)["id"])


def test_db_upgrade_creates_the_database_and_its_directory(db_file: Path) -> None:
    result = CliRunner().invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    from supplyshock.store.migrate import head_revision

    # The newest migration, whatever its number: the database is at head after the upgrade.
    assert f"revision {head_revision()}" in " ".join(result.output.split())
    assert db_file.exists()


def test_commands_refuse_an_unmigrated_database(db_file: Path) -> None:
    result = CliRunner().invoke(app, ["members", "list"])
    assert result.exit_code == 2
    assert "supplyshock db upgrade" in result.output


def test_members_add_then_list(cli: CliRunner) -> None:
    member_id = _member_id(cli)
    result = cli.invoke(app, ["members", "list", "--json"])
    assert result.exit_code == 0
    [member] = json.loads(result.stdout)
    assert (member["id"], member["name"], member["country"]) == (member_id, "Bosch", "DE")


def test_members_add_reports_bad_input_and_duplicates(cli: CliRunner) -> None:
    bad = cli.invoke(app, ["members", "add", "X", "--contact", "c", "--country", "XX"])
    assert bad.exit_code == 2 and "unknown ISO 3166-1" in bad.output
    _member_id(cli)
    dup = cli.invoke(app, ["members", "add", "Bosch", "--contact", "c", "--country", "DE"])
    assert dup.exit_code == 2 and "exists already (conflict)" in dup.output


def test_issued_token_works_until_revoked(cli: CliRunner, db_file: Path) -> None:
    member_id = _member_id(cli)
    issued = cli.invoke(app, ["tokens", "issue", "--member", member_id, "--days", "7"])
    assert issued.exit_code == 0, issued.output
    token = issued.stdout.strip()
    assert token.startswith("ssx_")
    engine = make_engine(f"sqlite:///{db_file}")
    factory = make_session_factory(engine)
    with factory() as s:
        assert authenticate(token, session=s).member_id == member_id

    prefix = token.split("_")[1]
    revoked = cli.invoke(app, ["tokens", "revoke", prefix])
    assert revoked.exit_code == 0, revoked.output
    with factory() as s, pytest.raises(Unauthenticated, match="revoked"):
        authenticate(token, session=s)
    listed = json.loads(cli.invoke(app, ["tokens", "list", "--json"]).stdout)
    assert token not in json.dumps(listed)
    assert listed[0]["revoked_at"] is not None
    engine.dispose()


def test_token_issue_needs_a_member_or_operator(cli: CliRunner) -> None:
    result = cli.invoke(app, ["tokens", "issue"])
    assert result.exit_code == 2


def test_crisis_longer_than_allowed_is_refused(cli: CliRunner) -> None:
    ok = cli.invoke(
        app,
        [
            "crises",
            "open",
            "Nexperia 2025",
            "--starts",
            "2025-10-01",
            "--ends",
            "2026-03-31",
            "--maker",
            "Nexperia",
        ],
    )
    assert ok.exit_code == 0, ok.output
    too_long = cli.invoke(
        app, ["crises", "open", "Long", "--starts", "2025-10-01", "--ends", "2026-10-31"]
    )
    assert too_long.exit_code == 2 and "at most 183 days" in too_long.output


def test_audit_verify_passes_then_fails_after_tampering(cli: CliRunner, db_file: Path) -> None:
    member_id = _member_id(cli)
    cli.invoke(app, ["tokens", "issue", "--member", member_id])
    ok = cli.invoke(app, ["audit", "verify", "--json"])
    assert ok.exit_code == 0
    assert json.loads(ok.stdout)["entries"] == 2

    with sqlite3.connect(db_file) as raw:
        raw.execute("UPDATE audit_log SET actor = 'someone else' WHERE seq = 1")
    bad = cli.invoke(app, ["audit", "verify"])
    assert bad.exit_code == 1
    assert "TAMPERED" in bad.output and "entry 1" in bad.output


def test_audit_verify_with_a_kept_head_detects_a_cut_off_end(cli: CliRunner, db_file: Path) -> None:
    _member_id(cli, "A")
    _member_id(cli, "B")
    head = json.loads(cli.invoke(app, ["audit", "verify", "--json"]).stdout)["head_hash"]
    with sqlite3.connect(db_file) as raw:
        raw.execute("DELETE FROM audit_log WHERE seq = 2")
    assert cli.invoke(app, ["audit", "verify"]).exit_code == 0
    assert cli.invoke(app, ["audit", "verify", "--expect-head", head]).exit_code == 1


def test_crises_sweep_closes_crises_past_their_end(cli: CliRunner) -> None:
    opened = cli.invoke(
        app, ["crises", "open", "Old", "--starts", "2020-01-01", "--ends", "2020-02-01", "--json"]
    )
    assert opened.exit_code == 0, opened.output
    swept = cli.invoke(app, ["crises", "sweep"])
    assert swept.exit_code == 0, swept.output
    assert "1 crises closed" in swept.output
    assert "0 matches expired" in swept.output and "0 member contacts erased" in swept.output
    [crisis] = json.loads(cli.invoke(app, ["crises", "list", "--json"]).stdout)
    assert crisis["status"] == "closed"
