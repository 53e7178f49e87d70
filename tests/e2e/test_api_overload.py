"""The request path under load: bursts, a full pool, slow statements, aborted transactions.

A real uvicorn server (in a thread, on 127.0.0.1 and a free port) serves an application of its
own on the e2e database, because the in-process TestClient runs one request at a time and
cannot fill a pool. Every HTTP client has a timeout, so a hang fails the test instead of
stalling it. See docs/exchange.md, "Request path and concurrency".
"""

from __future__ import annotations

import contextlib
import logging
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, func, select
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from supplyshock.cli import app as cli
from supplyshock.exchange.audit import verify_audit
from supplyshock.http.transactions import RETRIES_HEADER
from supplyshock.server import create_app
from supplyshock.settings import get_settings
from supplyshock.store.db import UnitOfWork
from supplyshock.store.models import Listing
from tests.e2e.conftest import API, Member, api_settings, bearer, listing_json, operator_token

TIMEOUT = 30.0  # seconds: far above any answer here, far below a stuck test


@contextlib.contextmanager
def serving(app: FastAPI, *, access_log: bool = False) -> Iterator[str]:
    """``app`` on a real uvicorn server in a thread; yields its base URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, access_log=access_log
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(300):  # up to 30 s for start-up (the lifespan migrates)
            if server.started:
                break
            time.sleep(0.1)
        assert server.started, "the server did not start"
        yield f"http://127.0.0.1:{port}{API}"
    finally:
        server.should_exit = True
        thread.join(timeout=TIMEOUT)


def engine_of(app: FastAPI) -> Engine:
    bind = app.state.session_factory.kw["bind"]
    assert isinstance(bind, Engine)
    return bind


def is_postgres(db_url: str) -> bool:
    return make_url(db_url).get_backend_name() == "postgresql"


@contextlib.contextmanager
def writers_blocked(db_url: str) -> Iterator[None]:
    """Hold a lock that stops every request at its rate-limit count (a write), then release.

    PostgreSQL: the rate_limits table locked against writes (reads still pass). SQLite: the
    database's write lock, which every transaction takes first (BEGIN IMMEDIATE).
    """
    if is_postgres(db_url):
        with psycopg.connect(db_url.replace("+psycopg", ""), connect_timeout=5) as conn:
            conn.execute("LOCK TABLE rate_limits IN EXCLUSIVE MODE")
            yield
            conn.rollback()
        return
    path = make_url(db_url).database
    assert path
    lite = sqlite3.connect(path, isolation_level=None)
    try:
        lite.execute("BEGIN IMMEDIATE")
        yield
        lite.execute("ROLLBACK")
    finally:
        lite.close()


def wait_until(condition: Callable[[], bool], what: str) -> None:
    for _ in range(300):
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting: {what}")


def audit_state(app: FastAPI) -> tuple[int, str | None, int]:
    """(audit entries, audit head, listings): what a refused request must leave unchanged."""
    with UnitOfWork(app.state.session_factory) as uow:
        report = verify_audit(session=uow.session)
        assert report.ok, report
        listings = uow.session.scalar(select(func.count()).select_from(Listing)) or 0
        return report.entries, report.head_hash, listings


# --- a burst ------------------------------------------------------------------------------


def test_a_burst_of_concurrent_requests_gets_no_5xx_and_no_hang(
    db_url: str,
    make_member: Callable[[], Member],
    crisis: dict[str, Any],
    client: TestClient,
) -> None:
    """60 requests at once (needs on one offer, board reads) on a pool of 4 connections.

    Before the redesign about half of 50 such requests hung 31 s and answered 500 (QueuePool
    limit reached, issue 12). Here the 60 queue for 4 slots: 60 / 4 = 15 rounds of a few
    milliseconds each, far inside the 10 s slot wait, so every one must succeed.
    """
    seller = make_member()
    offer = client.post(
        f"{API}/listings", json=listing_json(crisis["id"], quantity=1000), headers=seller.headers
    )
    assert offer.status_code == 201, offer.text
    buyers = [make_member() for _ in range(20)]
    app = create_app(api_settings(db_url, db_pool_size=4), web=False)
    calls: list[tuple[str, str, dict[str, Any] | None, dict[str, str]]] = []
    for i in range(60):
        who = buyers[i % len(buyers)].headers
        if i % 3 == 2:
            calls.append(("GET", f"/board/{crisis['id']}", None, who))
        else:
            need = listing_json(crisis["id"], kind="need", quantity=7)
            calls.append(("POST", "/listings", need, who))
    with serving(app) as base:
        gate = threading.Barrier(len(calls))

        def call(c: tuple[str, str, dict[str, Any] | None, dict[str, str]]) -> int:
            method, path, body, headers = c
            with httpx.Client(timeout=TIMEOUT) as http:
                gate.wait(timeout=TIMEOUT)
                return http.request(method, base + path, json=body, headers=headers).status_code

        with ThreadPoolExecutor(len(calls)) as pool:
            codes = list(pool.map(call, calls))
    assert sorted(set(codes)) == [200, 201], codes
    assert codes.count(201) == 40  # two in three calls post a need
    # 40 needs of 7 from one offer of 1000: 280 units promised, each exactly once.
    mine = client.get(f"{API}/listings/{offer.json()['id']}", headers=seller.headers).json()
    assert mine["quantity_open"] == 1000 - 40 * 7


# --- a full pool --------------------------------------------------------------------------


def test_a_request_that_finds_no_free_connection_gets_503_with_retry_after(
    db_url: str, make_member: Callable[[], Member]
) -> None:
    """Pool of 1: the first request holds it (stuck on a lock), the second waits 0.5 s, 503."""
    member = make_member()
    app = create_app(
        api_settings(
            db_url,
            db_pool_size=1,
            db_pool_timeout=0.5,
            db_statement_timeout_ms=0,
            db_lock_timeout_ms=0,
        ),
        web=False,
    )
    with serving(app) as base, httpx.Client(timeout=TIMEOUT) as http:
        with ThreadPoolExecutor(1) as pool, writers_blocked(db_url):
            first = pool.submit(http.get, f"{base}/crises", headers=member.headers)
            wait_until(lambda: app.state.db_slots.in_use == 1, "the first request's slot")
            second = http.get(f"{base}/crises", headers=member.headers)
            assert second.status_code == 503
            assert second.headers["retry-after"] == "1"
            assert second.json()["error"]["code"] == "unavailable"
            assert app.state.transaction_retries.busy == 1
        # The lock is gone: the first request completes normally.
        assert first.result().status_code == 200


@pytest.mark.parametrize(
    "timeouts",
    [
        {"db_statement_timeout_ms": 300, "db_lock_timeout_ms": 0},  # statement_timeout
        {"db_statement_timeout_ms": 0, "db_lock_timeout_ms": 300},  # lock_timeout
    ],
    ids=["statement-timeout", "lock-timeout"],
)
def test_a_statement_that_runs_too_long_gets_503_not_500(
    db_url: str, make_member: Callable[[], Member], timeouts: dict[str, int]
) -> None:
    if not is_postgres(db_url):
        pytest.skip("statement_timeout and lock_timeout are PostgreSQL settings")
    member = make_member()
    app = create_app(api_settings(db_url, **timeouts), web=False)
    with TestClient(app) as http, writers_blocked(db_url):
        res = http.get(f"{API}/crises", headers=member.headers)
    assert res.status_code == 503, res.text
    assert res.headers["retry-after"] == "1"
    assert app.state.transaction_retries.busy == 1


# --- aborted transactions are retried -----------------------------------------------------


@contextlib.contextmanager
def aborts_at_audit_write(app: FastAPI, times: int, sqlstate: str) -> Iterator[list[int]]:
    """Make the next ``times`` audit inserts fail as PostgreSQL would on a deadlock or a
    serialization failure; yields [failures injected so far].

    The audit insert is the transaction's last statement, so everything before it was written
    and must be rolled back by the abort, as in a real deadlock.
    """
    error = {"40P01": psycopg.errors.DeadlockDetected, "40001": psycopg.errors.SerializationFailure}
    injected = [0]

    def fail(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("INSERT INTO audit_log") and injected[0] < times:
            injected[0] += 1
            raise error[sqlstate]("injected by the test")

    engine = engine_of(app)
    event.listen(engine, "before_cursor_execute", fail)
    try:
        yield injected
    finally:
        event.remove(engine, "before_cursor_execute", fail)


@pytest.mark.parametrize("sqlstate", ["40P01", "40001"], ids=["deadlock", "serialization"])
def test_a_transaction_aborted_once_is_retried_and_the_client_sees_success(
    db_url: str, make_member: Callable[[], Member], crisis: dict[str, Any], sqlstate: str
) -> None:
    if not is_postgres(db_url):
        pytest.skip("deadlocks and serialization failures are PostgreSQL's")
    member = make_member()
    app = create_app(api_settings(db_url), web=False)
    with TestClient(app) as http:
        before = audit_state(app)
        with aborts_at_audit_write(app, times=1, sqlstate=sqlstate) as injected:
            res = http.post(
                f"{API}/listings", json=listing_json(crisis["id"]), headers=member.headers
            )
        assert res.status_code == 201, res.text
        assert injected == [1]
        assert res.headers[RETRIES_HEADER] == "1"
        stats = app.state.transaction_retries
        assert (stats.retried, stats.gave_up, stats.by_sqlstate[sqlstate]) == (1, 0, 1)
        # Exactly one listing and one audit entry: the aborted attempt left nothing behind.
        entries, _, listings = audit_state(app)
        assert (entries, listings) == (before[0] + 1, before[2] + 1)


def test_a_transaction_aborted_on_every_attempt_gets_503_and_changes_nothing(
    db_url: str, make_member: Callable[[], Member], crisis: dict[str, Any]
) -> None:
    if not is_postgres(db_url):
        pytest.skip("deadlocks and serialization failures are PostgreSQL's")
    member = make_member()
    app = create_app(api_settings(db_url, db_retry_attempts=3), web=False)
    with TestClient(app) as http:
        before = audit_state(app)
        with aborts_at_audit_write(app, times=10, sqlstate="40P01") as injected:
            res = http.post(
                f"{API}/listings", json=listing_json(crisis["id"]), headers=member.headers
            )
        assert res.status_code == 503, res.text
        assert res.headers["retry-after"] == "1"
        assert res.json()["error"]["code"] == "unavailable"
        assert injected == [3]  # three attempts, each aborted
        stats = app.state.transaction_retries
        assert (stats.retried, stats.gave_up) == (2, 1)
        assert audit_state(app) == before  # row counts and audit head unchanged


# --- the rate limit holds across workers --------------------------------------------------


def test_the_rate_limit_is_shared_by_two_server_instances(db_url: str) -> None:
    """Two applications (as two workers) on one database, 3 requests a minute per token.

    Per process the old limiter would allow 3 + 3; shared, the 4th request is refused wherever
    it lands, for 20 s (one request every 60 / 3 = 20 s).
    """
    now = [5000.0]
    settings = api_settings(db_url, rate_limit_per_minute=3)
    first = create_app(settings, clock=lambda: now[0], web=False)
    second = create_app(settings, clock=lambda: now[0], web=False)
    with TestClient(first) as a, TestClient(second) as b:
        token = bearer(operator_token(first))
        assert [c.get(f"{API}/crises", headers=token).status_code for c in (a, b, a)] == [200] * 3
        refused = b.get(f"{API}/crises", headers=token)
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "20"
        assert a.get(f"{API}/crises", headers=token).status_code == 429
        now[0] += 20
        assert b.get(f"{API}/crises", headers=token).status_code == 200


# --- smaller things -----------------------------------------------------------------------


def test_a_token_in_the_query_string_is_redacted_in_the_access_log(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(api_settings(db_url), web=False)
    secret = "ssx_ThisMustNotBeLogged0123456789"
    access = logging.getLogger("uvicorn.access")
    access.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.INFO, logger="uvicorn.access"):
            with serving(app, access_log=True) as base, httpx.Client(timeout=TIMEOUT) as http:
                res = http.get(f"{base}/crises?token={secret}&page_size=5&api_key=k3y")
                assert res.status_code == 401
    finally:
        access.removeHandler(caplog.handler)
    lines = [r.getMessage() for r in caplog.records if r.name == "uvicorn.access"]
    assert any("/crises?token=[redacted]&page_size=5&api_key=[redacted]" in x for x in lines)
    assert secret not in caplog.text and "k3y" not in caplog.text


def test_error_details_are_capped(client: TestClient, operator: dict[str, str]) -> None:
    """12,000 unknown fields: 50 listed, then one entry counting the other 11,950."""
    body: dict[str, Any] = {"name": "Capped", "contact": "a@b.example", "country": "DE"}
    body.update({f"f{i:05d}": 1 for i in range(12_000)})
    res = client.post(f"{API}/members", json=body, headers=operator)
    assert res.status_code == 422
    error = res.json()["error"]
    assert error["message"].startswith("12000 invalid field(s)")
    assert len(error["details"]) == 51
    assert error["details"][0]["field"] == "body.f00000"
    assert error["details"][-1]["type"] == "more_problems"
    assert error["details"][-1]["count"] == 11_950
    assert len(res.content) < 10_000  # 6,002 bytes when measured; was 1.4 MB


def test_serve_with_workers_hands_uvicorn_the_application_factory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Worker processes cannot share one application object: each builds its own."""
    monkeypatch.setenv("SUPPLYSHOCK_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SUPPLYSHOCK_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda target, **kw: calls.append({"app": target, **kw}))
    try:
        res = CliRunner().invoke(cli, ["serve", "--port", "8124", "--workers", "3"])
    finally:
        get_settings.cache_clear()
    assert res.exit_code == 0, res.output
    assert "3 worker(s)" in " ".join(res.output.split())  # rich wraps long lines
    [call] = calls
    assert call["app"] == "supplyshock.server:create_app"
    assert (call["factory"], call["workers"], call["port"]) == (True, 3, 8124)
