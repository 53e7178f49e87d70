"""Crisis day against a real server: bursts of concurrent requests on PostgreSQL.

The server runs as in production (``supplyshock serve`` with two workers, or uvicorn with the
application factory where ``serve`` has no ``--workers``; see tests/e2e/server.py) on a
database of its own, and the requests arrive together: threads wait at a barrier and are
released at once. A request that fails (5xx), hangs (no answer within the client timeout) or
mentions a deadlock fails the test, and afterwards the database must show that no unit of an
offer was promised twice.

PostgreSQL only (SQLite serialises every writer by design, docs/exchange.md); without a server
the module is skipped with the reason, loudly, as the integration tests do.
"""

from __future__ import annotations

import contextlib
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest

from supplyshock.store.migrate import upgrade
from tests.e2e import server as live

pytestmark = pytest.mark.postgres

API = live.API
TIMEOUT_S = 20.0  # a request unanswered after this long has hung: the test fails
PARTS = ["BT100A", "BT200A", "BT300A"]
FAMILIES = ["discretes", "discretes", "logic"]


@dataclass(frozen=True)
class Live:
    server: live.LiveServer
    db_url: str
    crisis_id: str
    members: list[live.SeededMember]


@pytest.fixture(scope="module")
def crisis_day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """A server with two workers, a crisis (catalogue: PARTS) and 101 members with tokens."""
    with contextlib.ExitStack() as stack:
        try:
            db_url = stack.enter_context(live.throwaway_database(prefix="supplyshock_burst"))
        except live.NoPostgres as e:
            reason = f"the crisis-day burst tests DID NOT RUN: {e}"
            warnings.warn(reason, stacklevel=1)
            pytest.skip(reason)
        upgrade(db_url)  # once, before the workers start (each would otherwise migrate)
        log = tmp_path_factory.mktemp("burst") / "server.log"
        # A quota well above what one token sends here (at most 3 requests per burst), so a
        # 429 could only mean the limiter miscounts.
        env = {"SUPPLYSHOCK_RATE_LIMIT_PER_MINUTE": "6000"}
        srv = stack.enter_context(live.live_server(db_url, log, workers=2, env=env))
        operator = live.operator_token(db_url)
        with httpx.Client(base_url=srv.base_url, timeout=TIMEOUT_S) as c:
            crisis_id, _ = live.open_crisis(c, operator, PARTS, FAMILIES, "Burst crisis")
        yield Live(srv, db_url, crisis_id, live.make_members(db_url, 101))


@dataclass(frozen=True)
class Answer:
    label: str
    status: int  # 0: no answer within TIMEOUT_S (hung) or the connection failed
    body: str
    retries: int = 0  # times the server re-ran the transaction (X-Transaction-Retries)
    seconds: float = 0.0

    def json(self) -> Any:
        return httpx.Response(self.status, content=self.body).json()


Call = tuple[str, str, str, str, dict[str, Any] | None]  # label, token, method, path, json


def burst(server: live.LiveServer, calls: list[Call]) -> list[Answer]:
    """Send every call at the same moment (one thread each, released by a barrier)."""
    gate = threading.Barrier(len(calls), timeout=30)
    limits = httpx.Limits(max_connections=len(calls), max_keepalive_connections=len(calls))
    with httpx.Client(base_url=server.base_url, timeout=TIMEOUT_S, limits=limits) as client:

        def send(call: Call) -> Answer:
            label, token, method, path, body = call
            gate.wait()
            t0 = time.perf_counter()
            try:
                res = client.request(method, path, json=body, headers=live.bearer(token))
            except httpx.HTTPError as e:  # a timeout is a hang: the test must fail on it
                return Answer(label, 0, f"{e.__class__.__name__}: {e}")
            retries = int(res.headers.get("X-Transaction-Retries", "0"))
            return Answer(label, res.status_code, res.text, retries, time.perf_counter() - t0)

        with ThreadPoolExecutor(len(calls)) as pool:
            answers = list(pool.map(send, calls))
    # Evidence for the record (pytest -s shows it); the assertions are the callers'.
    tally = Counter((a.label, a.status) for a in answers)
    slowest = max(a.seconds for a in answers)
    retried = sum(a.retries for a in answers)
    print(
        f"\nburst of {len(calls)}: {dict(sorted(tally.items()))}; slowest answer "
        f"{slowest:.2f} s; transactions re-run by the server: {retried}"
    )
    return answers


def assert_no_failures(answers: list[Answer], allowed: Callable[[Answer], bool]) -> None:
    tally = Counter((a.label, a.status) for a in answers)
    bad = [a for a in answers if a.status == 0 or a.status >= 500]
    assert not bad, f"{len(bad)} request(s) failed or hung ({dict(tally)}): {bad[:3]}"
    deadlocks = [a for a in answers if "deadlock" in a.body.lower()]
    assert not deadlocks, f"deadlock errors reached clients: {deadlocks[:5]}"
    unexpected = [a for a in answers if not allowed(a)]
    assert not unexpected, f"unexpected answers ({dict(tally)}): {unexpected[:5]}"


def assert_nothing_promised_twice(db_url: str) -> None:
    check = live.check_promises(db_url)
    assert check.listings > 0
    assert check.over_promised == [], f"promised beyond quantity: {check.over_promised}"
    assert check.open_mismatch == [], f"open quantity out of step: {check.open_mismatch}"


def _post(client: httpx.Client, token: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    res = client.post(path, json=body, headers=live.bearer(token))
    assert res.status_code == 201, res.text
    out: dict[str, Any] = res.json()
    return out


def test_hundred_concurrent_needs_amends_and_accepts_on_one_offer(crisis_day: Live) -> None:
    """One offer of 2,000 units; 50 needs of 20 already matched; then at once: 50 new needs of
    40, 25 of the matched needs raised to 50, and the other 25 signalling interest.

    By hand: the 50 old needs hold 50 x 20 = 1,000 units, leaving 1,000 open. The 50 new needs
    ask 50 x 40 = 2,000 > 1,000, so the offer must end exactly fully promised: 2,000 units in
    proposed/interested matches and quantity_open 0, never more, whatever the interleaving. The
    amended needs want 30 more each, but a pair is proposed once, so they take nothing from it.
    """
    srv, crisis = crisis_day.server, crisis_day.crisis_id
    holder, old, new = crisis_day.members[0], crisis_day.members[1:51], crisis_day.members[51:101]
    part = PARTS[0]
    with httpx.Client(base_url=srv.base_url, timeout=TIMEOUT_S) as c:
        offer = _post(
            c, holder.token, f"{API}/listings", live.listing_body(crisis, "offer", part, 2000)
        )
        needs = [
            (m.token, f"{API}/listings", live.listing_body(crisis, "need", part, 20)) for m in old
        ]
        old_needs = live.post_all(c, needs)
        matches: list[str] = []
        for m, need in zip(old[25:], old_needs[25:], strict=True):
            res = c.get(
                f"{API}/matches", params={"listing_id": need["id"]}, headers=live.bearer(m.token)
            )
            [match] = res.json()["items"]  # 2,000 open >= 50 x 20: every old need is matched
            assert match["quantity"] == 20
            matches.append(match["id"])

    calls: list[Call] = [
        ("need", m.token, "POST", f"{API}/listings", live.listing_body(crisis, "need", part, 40))
        for m in new
    ]
    calls += [
        ("amend", m.token, "PATCH", f"{API}/listings/{n['id']}", {"quantity": 50})
        for m, n in zip(old[:25], old_needs[:25], strict=True)
    ]
    calls += [
        ("accept", m.token, "POST", f"{API}/matches/{mid}/accept", None)
        for m, mid in zip(old[25:], matches, strict=True)
    ]
    assert len(calls) == 100
    answers = burst(srv, calls)

    # Every request is valid and touches its own listing or match: each must succeed.
    success = {"need": 201, "amend": 200, "accept": 200}
    assert_no_failures(answers, lambda a: a.status == success[a.label])
    assert all(a.json()["quantity"] == 50 for a in answers if a.label == "amend")
    assert all(a.json()["state"] == "interested" for a in answers if a.label == "accept")
    assert_nothing_promised_twice(crisis_day.db_url)
    with psycopg.connect(crisis_day.db_url) as conn:
        row = conn.execute(
            "SELECT l.quantity_open, COALESCE(SUM(m.quantity), 0) FROM listings l "
            "LEFT JOIN matches m ON m.offer_id = l.id AND m.state IN ('proposed', 'interested') "
            "WHERE l.id = %s GROUP BY l.quantity_open",
            (offer["id"],),
        ).fetchone()
    assert row == (0, 2000)


def test_burst_of_two_hundred_mixed_requests_gets_no_5xx(crisis_day: Live) -> None:
    """200 requests at once from 100 members: 80 board reads, 40 reads of their own matches
    and listings, 50 new listings that match at once (25 needs, 25 offers on one part) and 30
    amends of their own offers. Each is valid, so each must succeed; a 429 is accepted only as
    the rate limiter's own answer (it cannot be reached at 6,000 a minute and 3 per token)."""
    srv, crisis = crisis_day.server, crisis_day.crisis_id
    members = crisis_day.members[1:101]
    part = PARTS[1]
    with httpx.Client(base_url=srv.base_url, timeout=TIMEOUT_S) as c:
        mine = [
            (m.token, f"{API}/listings", live.listing_body(crisis, "offer", part, 100))
            for m in members[:30]
        ]
        offers = live.post_all(c, mine)
    calls: list[Call] = []
    for i, m in enumerate(members[20:]):
        by = "part" if i % 2 else "family"
        calls.append(("board", m.token, "GET", f"{API}/board/{crisis}?by={by}", None))
    for m in members[:20]:
        calls.append(("read", m.token, "GET", f"{API}/matches?limit=20", None))
        calls.append(("read", m.token, "GET", f"{API}/listings?crisis_id={crisis}", None))
    for i, m in enumerate(members[50:]):
        kind = "need" if i % 2 else "offer"
        body = live.listing_body(crisis, kind, part, 30 + i)
        calls.append(("create", m.token, "POST", f"{API}/listings", body))
    for m, offer in zip(members[:30], offers, strict=True):
        body = {"quantity": 150}
        calls.append(("amend", m.token, "PATCH", f"{API}/listings/{offer['id']}", body))
    assert len(calls) == 80 + 40 + 50 + 30 == 200
    answers = burst(srv, calls)

    success = {"board": 200, "read": 200, "create": 201, "amend": 200}

    def allowed(a: Answer) -> bool:
        if a.status == 429:
            return bool(a.json()["error"]["code"] == "rate_limited")
        return a.status == success[a.label]

    assert_no_failures(answers, allowed)
    assert_nothing_promised_twice(crisis_day.db_url)


def test_server_log_shows_no_unexpected_error(crisis_day: Live) -> None:
    """Runs last in this module: no request of the bursts above was answered by the catch-all
    error handler (which logs "unexpected error" before answering 500)."""
    text = crisis_day.server.log_text()
    assert "unexpected error" not in text, text[-3000:]
