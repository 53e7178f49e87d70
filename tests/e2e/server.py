"""A real API server on a throwaway PostgreSQL database, for the burst tests and the load bench.

The in-process ``TestClient`` runs one request at a time in one event loop, so it cannot show
what a crisis-day burst does to the connection pool, the thread pool or the lock order. This
module starts ``supplyshock serve`` (or uvicorn with the application factory, where ``serve``
has no ``--workers``) as a subprocess on 127.0.0.1 and a free port, waits until it answers, and
stops it; it also creates and drops the database, and seeds through the API itself (operator
token, members and member tokens from the services, as ``supplyshock tokens issue`` does; the
crisis and listings over HTTP), so the seed follows whatever the API accepts today, e.g. a
crisis part catalogue.

Used by tests/e2e/test_crisis_day_burst.py and bench/exchange.py; only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

API = "/api/v1"
MAKER = "Nexperia"
PG_ADMIN_URL = os.environ.get(
    "SUPPLYSHOCK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
_LOCAL = ("127.0.0.1", "localhost", "::1")


class NoPostgres(RuntimeError):
    """No PostgreSQL answers at the admin URL (the caller skips or exits with this reason)."""


# --- the database ---------------------------------------------------------------------------


@contextlib.contextmanager
def throwaway_database(
    admin_url: str = PG_ADMIN_URL, prefix: str = "supplyshock_live"
) -> Iterator[str]:
    """A new, empty PostgreSQL database on a local server, dropped on exit (even if in use)."""
    host = psycopg.conninfo.conninfo_to_dict(admin_url).get("host", "")
    if host not in _LOCAL:
        raise NoPostgres(f"only a local PostgreSQL is used, not {host!r}")
    try:
        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as e:
        raise NoPostgres(
            f"PostgreSQL not reachable at {admin_url} ({e.__class__.__name__}: "
            f"{str(e).strip()}). Start a server or set SUPPLYSHOCK_TEST_POSTGRES_URL."
        ) from e
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            base, _, _ = admin_url.rpartition("/")
            yield f"{base}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- the server -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def serve_has_workers() -> bool:
    """Whether ``supplyshock serve`` takes ``--workers`` (the production entry point)."""
    from typer.testing import CliRunner

    from supplyshock.cli import app

    res = CliRunner().invoke(app, ["serve", "--help"], env={"COLUMNS": "200"})
    return "--workers" in res.output


def server_command(port: int, workers: int) -> tuple[list[str], str]:
    """The command line, and how it runs (for the report)."""
    if serve_has_workers():
        cmd = [str(Path(sys.executable).parent / "supplyshock"), "serve"]
        cmd += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
        return cmd, f"supplyshock serve --workers {workers}"
    # Same application, same settings (from the environment), through uvicorn's own workers.
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "supplyshock.server:create_app"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    cmd += ["--log-level", "warning", "--no-access-log"]
    return cmd, f"uvicorn --factory supplyshock.server:create_app --workers {workers}"


@dataclass
class LiveServer:
    """A running server: ``base_url`` to call, ``log`` holds its stdout and stderr."""

    base_url: str
    how: str
    log: Path
    proc: subprocess.Popen[bytes] = field(repr=False)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def live_server(
    db_url: str, log: Path, *, workers: int = 2, env: dict[str, str] | None = None
) -> Iterator[LiveServer]:
    """``workers`` server processes on 127.0.0.1; stopped (SIGTERM, then SIGKILL) on exit."""
    port = free_port()
    cmd, how = server_command(port, workers)
    full_env = dict(os.environ)
    full_env.update(
        SUPPLYSHOCK_DATABASE_URL=db_url,
        SUPPLYSHOCK_ENVIRONMENT="development",
        PYTHONUNBUFFERED="1",
        **(env or {}),
    )
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=full_env, stdout=out, stderr=subprocess.STDOUT)
    server = LiveServer(f"http://127.0.0.1:{port}", how, log, proc)
    try:
        _wait_healthy(server)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _wait_healthy(server: LiveServer, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if server.proc.poll() is not None:
            raise RuntimeError(
                f"the server exited early ({server.proc.returncode}):\n{server.log_text()[-3000:]}"
            )
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{server.base_url}{API}/health", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"the server did not answer within {timeout:.0f} s")


# --- seeding through the API ----------------------------------------------------------------


def operator_token(db_url: str) -> str:
    """The operator's first token, from the service (as ``supplyshock tokens issue`` does)."""
    from supplyshock.exchange.members import issue_token
    from supplyshock.exchange.schemas import Principal, TokenIssue
    from supplyshock.store.db import UnitOfWork, make_engine, make_session_factory

    engine = make_engine(db_url)
    try:
        with UnitOfWork(make_session_factory(engine)) as uow:
            issued = issue_token(
                session=uow.session,
                actor=Principal.local_operator(),
                data=TokenIssue(role="operator", label="live"),
            )
            uow.commit()
    finally:
        engine.dispose()
    return issued.token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _ok(res: httpx.Response, expected: int = 201) -> dict[str, Any]:
    if res.status_code != expected:
        raise RuntimeError(
            f"{res.request.method} {res.request.url.path}: {res.status_code} {res.text}"
        )
    body: dict[str, Any] = res.json()
    return body


def catalogue_field(client: httpx.Client) -> str | None:
    """The crisis-creation field holding the part catalogue, if the API has one today."""
    spec = client.get(f"{API}/openapi.json").json()
    props = spec.get("components", {}).get("schemas", {}).get("CrisisCreate", {})
    for name in props.get("properties", {}):
        if "catalog" in name:
            return str(name)
    return None


def open_crisis(
    client: httpx.Client, operator: str, parts: list[str], families: list[str], name: str
) -> tuple[str, str | None]:
    """A crisis running today for ``MAKER``; its catalogue is ``parts`` where the API has one.

    Returns the crisis id and the catalogue field used (None: no catalogue in this API).
    """
    today = datetime.now(UTC).date()
    body: dict[str, Any] = {
        "name": name,
        # No part_families scope: the catalogue (where there is one) names each part's family,
        # and a Catena-X import, which carries no family, must stay possible.
        "makers": [MAKER],
        "starts_on": (today - timedelta(days=1)).isoformat(),
        "ends_on": (today + timedelta(days=120)).isoformat(),
    }
    field_name = catalogue_field(client)
    if field_name is not None:
        body[field_name] = _catalogue_value(client, field_name, parts, families)
    crisis = _ok(client.post(f"{API}/crises", json=body, headers=bearer(operator)))
    return str(crisis["id"]), field_name


def _catalogue_value(
    client: httpx.Client, field_name: str, parts: list[str], families: list[str]
) -> list[Any]:
    # Either a list of part numbers or a list of objects {part_number, maker, part_family?}:
    # read which from the schema rather than guess.
    spec = client.get(f"{API}/openapi.json").json()
    schemas = spec["components"]["schemas"]
    prop = schemas["CrisisCreate"]["properties"][field_name]
    items: dict[str, Any] = prop.get("items") or next(
        (p.get("items") for p in prop.get("anyOf", []) if "items" in p), {}
    )
    ref = items.get("$ref", "")
    if not ref:
        return list(parts)
    item_props = schemas[ref.rsplit("/", 1)[-1]].get("properties", {})
    out: list[dict[str, Any]] = []
    for pn, fam in zip(parts, families, strict=True):
        entry: dict[str, Any] = {"part_number": pn, "maker": MAKER}
        if "part_family" in item_props:
            entry["part_family"] = fam
        out.append(entry)
    return out


@dataclass(frozen=True)
class SeededMember:
    id: str
    token: str


def make_members(db_url: str, count: int) -> list[SeededMember]:
    """``count`` members with a member token each, written by the services in one transaction.

    The operator API would do the same two writes per member; going through it costs two
    requests a member, seconds of setup that say nothing about the burst or the load.
    """
    from supplyshock.exchange.members import create_member, issue_token
    from supplyshock.exchange.schemas import MemberCreate, Principal, TokenIssue
    from supplyshock.store.db import UnitOfWork, make_engine, make_session_factory

    operator = Principal.local_operator()
    tag = "x" + uuid.uuid4().hex[:6]  # a letter first: "004bbd" alone reads as a price
    out: list[SeededMember] = []
    engine = make_engine(db_url)
    try:
        with UnitOfWork(make_session_factory(engine)) as uow:
            for i in range(count):
                member = create_member(
                    session=uow.session,
                    actor=operator,
                    data=MemberCreate(
                        name=f"Member {tag} {i:04d}", contact=f"m{i}@x.example", country="DE"
                    ),
                )
                issued = issue_token(
                    session=uow.session,
                    actor=operator,
                    data=TokenIssue(role="member", member_id=member.id, label="live"),
                )
                out.append(SeededMember(member.id, issued.token))
            uow.commit()
    finally:
        engine.dispose()
    return out


def post_all(
    client: httpx.Client, calls: list[tuple[str, str, dict[str, Any]]], threads: int = 8
) -> list[dict[str, Any]]:
    """POST each (token, path, body) expecting 2xx, ``threads`` at a time; answers in order."""

    def one(call: tuple[str, str, dict[str, Any]]) -> dict[str, Any]:
        token, path, body = call
        for _ in range(5):  # setup, not the test: honour the server's 503 + Retry-After
            res = client.post(path, json=body, headers=bearer(token))
            if res.status_code != 503:
                break
            time.sleep(float(res.headers.get("Retry-After", "1")))
        if not res.is_success:
            raise RuntimeError(f"POST {path}: {res.status_code} {res.text}")
        out = res.json()
        return out if isinstance(out, dict) else {"items": out}  # e.g. POST /catenax/twins

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, calls))


def listing_body(
    crisis_id: str, kind: str, part_number: str, quantity: int, family: str | None = None
) -> dict[str, Any]:
    today = datetime.now(UTC).date()
    body: dict[str, Any] = {
        "kind": kind,
        "crisis_id": crisis_id,
        "part_number": part_number,
        "maker": MAKER,
        "quantity": quantity,
        "region": "europe",
        "window_start": today.isoformat(),
        "window_end": (today + timedelta(days=30)).isoformat(),
    }
    if family is not None:
        body["part_family"] = family
    if kind == "need":
        body["days_of_supply"] = 5
    return body


# --- what the database says afterwards ------------------------------------------------------

# A unit is promised while its match is active, and stays taken once the deal is fulfilled.
PROMISED_STATES = ("proposed", "interested", "revealed", "fulfilled")

OVER_PROMISED_SQL = f"""
SELECT l.id, l.kind, l.quantity, COALESCE(SUM(m.quantity), 0) AS promised
FROM listings l
JOIN matches m ON (m.offer_id = l.id OR m.need_id = l.id)
              AND m.state IN ({", ".join(f"'{s}'" for s in PROMISED_STATES)})
GROUP BY l.id, l.kind, l.quantity
HAVING COALESCE(SUM(m.quantity), 0) > l.quantity
"""

# An open listing's open quantity is exactly what no match holds (a fulfilled deal keeps it).
OPEN_MISMATCH_SQL = f"""
SELECT l.id, l.kind, l.quantity, l.quantity_open, COALESCE(SUM(m.quantity), 0) AS promised
FROM listings l
LEFT JOIN matches m ON (m.offer_id = l.id OR m.need_id = l.id)
                   AND m.state IN ({", ".join(f"'{s}'" for s in PROMISED_STATES)})
WHERE l.status = 'open'
GROUP BY l.id, l.kind, l.quantity, l.quantity_open
HAVING l.quantity_open <> l.quantity - COALESCE(SUM(m.quantity), 0)
"""


@dataclass(frozen=True)
class PromiseCheck:
    listings: int  # listings holding at least one promise
    over_promised: list[tuple[Any, ...]]  # (id, kind, quantity, promised) per listing
    open_mismatch: list[tuple[Any, ...]]  # (id, kind, quantity, quantity_open, promised)

    @property
    def ok(self) -> bool:
        return not self.over_promised and not self.open_mismatch


def check_promises(db_url: str) -> PromiseCheck:
    """Every listing's promised quantity (active + fulfilled matches) against its quantity."""
    with psycopg.connect(db_url, connect_timeout=5) as conn:
        over = conn.execute(OVER_PROMISED_SQL).fetchall()
        mismatch = conn.execute(OPEN_MISMATCH_SQL).fetchall()
        (n,) = conn.execute(
            "SELECT COUNT(DISTINCT x) FROM (SELECT offer_id AS x FROM matches "
            "UNION SELECT need_id FROM matches) s"
        ).fetchone() or (0,)
    return PromiseCheck(
        listings=int(n),
        over_promised=[tuple(r) for r in over],
        open_mismatch=[tuple(r) for r in mismatch],
    )
