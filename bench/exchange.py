"""Benchmark: the exchange API under a realistic load, and matching time against the pool size.

Part A starts the API server (uvicorn, 127.0.0.1, a free port) in a subprocess on a PostgreSQL
database created for this run, seeds an operator, members with tokens, a crisis and listings,
and drives the server from worker processes (httpx) with a mix of listing writes (create, which
matches at once, and amend), board reads, and match + accept. It prints throughput and p50/p99
latency, overall and per kind of request.

Part B bulk-loads (COPY) pools of 10k, 100k and 1M open listings into a second crisis and times
``match_listing`` for new listings against each pool (median over several, each rolled back),
next to a naive baseline that scans every open listing of the crisis in Python for
compatibility. It prints the times, how they grow against the pool, the naive/indexed ratio,
and whether the two found the same candidates.

The database is dropped at the end. Only 127.0.0.1 is contacted.

    .venv/bin/python bench/exchange.py                      # default: 2.5-5 minutes
    .venv/bin/python bench/exchange.py --requests 1000 --max-pool 100000   # quicker
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import psycopg

from supplyshock.exchange import rules
from supplyshock.exchange.candidates import find_candidates
from supplyshock.exchange.crises import open_crisis
from supplyshock.exchange.listings import create_listing
from supplyshock.exchange.matching import create_and_match, match_listing
from supplyshock.exchange.members import create_member, issue_token
from supplyshock.exchange.schemas import (
    CrisisCreate,
    ListingCreate,
    MemberCreate,
    Principal,
    TokenIssue,
)
from supplyshock.store.db import UnitOfWork, make_engine, make_session_factory
from supplyshock.store.migrate import upgrade

API = "/api/v1"
OPERATOR = Principal.local_operator()
MAKER = "Nexperia"


# --- helpers --------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by nearest rank; values in seconds."""
    if not values:
        return float("nan")
    xs = sorted(values)
    return xs[min(len(xs) - 1, max(0, round(q * len(xs) + 0.5) - 1))]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f} ms"


@dataclass(frozen=True)
class Database:
    admin_url: str
    name: str

    @property
    def url(self) -> str:
        base, _, _ = self.admin_url.rpartition("/")
        return f"{base}/{self.name}"


def _create_database(admin_url: str) -> Database:
    try:
        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as e:
        sys.exit(
            f"bench/exchange.py needs a PostgreSQL server: cannot connect to {admin_url} "
            f"({e.__class__.__name__}: {str(e).strip()}). Start one or pass --pg-url."
        )
    host = psycopg.conninfo.conninfo_to_dict(admin_url).get("host", "")
    if host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit(f"bench/exchange.py only talks to a local server, not {host!r}")
    db = Database(admin_url, f"supplyshock_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}")
    with admin:
        admin.execute(f'CREATE DATABASE "{db.name}"')
    return db


def _drop_database(db: Database) -> None:
    with psycopg.connect(db.admin_url, autocommit=True, connect_timeout=3) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)')


def _crisis(session: Any, name: str) -> str:
    today = datetime.now(UTC).date()
    crisis = open_crisis(
        session=session,
        actor=OPERATOR,
        data=CrisisCreate(
            name=name,
            makers=[MAKER],
            starts_on=today - timedelta(days=1),
            ends_on=today + timedelta(days=150),
        ),
    )
    return crisis.id


def _listing_json(crisis_id: str, kind: str, part: int, rng: random.Random) -> dict[str, Any]:
    today = datetime.now(UTC).date()
    start = today + timedelta(days=rng.randrange(0, 20))
    body: dict[str, Any] = {
        "kind": kind,
        "crisis_id": crisis_id,
        "part_number": f"PN{part:04d}",
        "maker": MAKER,
        "part_family": f"family-{part % 5}",
        "quantity": rng.randrange(50, 1000),
        "region": rng.choice(["europe", "east-asia", "north-america"]),
        "window_start": start.isoformat(),
        "window_end": (start + timedelta(days=30)).isoformat(),
    }
    if kind == "need":
        body["days_of_supply"] = rng.randrange(1, 30)
        body["margin_per_unit"] = rng.randrange(1, 50)
    return body


# --- part A: the server under load ----------------------------------------------------------


def _seed_api(url: str, members: int, listings: int, parts: int) -> tuple[str, list[str]]:
    """A crisis, ``members`` members with tokens, and ``listings`` listings (matched)."""
    engine = make_engine(url)
    factory = make_session_factory(engine)
    rng = random.Random(7)
    tokens: list[str] = []
    principals: list[Principal] = []
    with UnitOfWork(factory) as uow:
        crisis_id = _crisis(uow.session, "bench load")
        for i in range(members):
            m = create_member(
                session=uow.session,
                actor=OPERATOR,
                data=MemberCreate(
                    name=f"Bench member {i}", contact=f"m{i}@x.example", country="DE"
                ),
            )
            issued = issue_token(
                session=uow.session,
                actor=OPERATOR,
                data=TokenIssue(role="member", member_id=m.id, label="bench"),
            )
            tokens.append(issued.token)
            principals.append(Principal(role="member", member_id=m.id))
        issue_token(session=uow.session, actor=OPERATOR, data=TokenIssue(role="operator"))
        uow.commit()
    for i in range(listings):
        with UnitOfWork(factory) as uow:
            kind = "offer" if i % 2 == 0 else "need"
            body = _listing_json(crisis_id, kind, rng.randrange(parts), rng)
            create_and_match(
                session=uow.session,
                actor=principals[i % members],
                data=ListingCreate.model_validate(body),
            )
            uow.commit()
    engine.dispose()
    return crisis_id, tokens


@dataclass(frozen=True)
class WorkerJob:
    base_url: str
    crisis_id: str
    tokens: list[str]
    requests: int
    deadline: float  # time.time() after which the worker stops
    mix: tuple[float, float, float]
    parts: int
    seed: int


Sample = tuple[str, str, float, int]  # kind, endpoint, seconds, status


def _worker(job: WorkerJob) -> list[Sample]:
    """One client process: a member's requests in the given mix, timed one by one."""
    rng = random.Random(job.seed)
    out: list[Sample] = []
    mine: dict[str, list[str]] = defaultdict(list)  # token -> listings it created
    with httpx.Client(base_url=job.base_url, timeout=60.0) as client:

        def call(
            token: str, kind: str, endpoint: str, method: str, path: str, **kw: Any
        ) -> httpx.Response:
            headers = {"Authorization": f"Bearer {token}"}
            t0 = time.perf_counter()
            res = client.request(method, path, headers=headers, **kw)
            out.append((kind, endpoint, time.perf_counter() - t0, res.status_code))
            return res

        while len(out) < job.requests and time.time() < job.deadline:
            token = rng.choice(job.tokens)  # this request acts for one member
            own = mine[token]
            r = rng.random()
            if r < job.mix[0]:
                if own and rng.random() < 0.2:
                    call(
                        token,
                        "listing write",
                        "PATCH /listings/{id}",
                        "PATCH",
                        f"{API}/listings/{rng.choice(own)}",
                        json={"quantity": rng.randrange(900, 1200)},
                    )
                else:
                    kind = rng.choice(["offer", "need"])
                    body = _listing_json(job.crisis_id, kind, rng.randrange(job.parts), rng)
                    res = call(
                        token, "listing write", "POST /listings", "POST", f"{API}/listings",
                        json=body,
                    )  # fmt: skip
                    if res.status_code == 201:
                        own.append(res.json()["id"])
            elif r < job.mix[0] + job.mix[1]:
                by = rng.choice(["part", "family"])
                path = f"{API}/board/{job.crisis_id}?by={by}"
                call(token, "board read", "GET /board/{id}", "GET", path)
            else:
                res = call(
                    token,
                    "match + accept",
                    "GET /matches",
                    "GET",
                    f"{API}/matches",
                    params={"state": rng.choice(["proposed", "interested"]), "limit": 20},
                )
                todo = [
                    m
                    for m in (res.json().get("items", []) if res.status_code == 200 else [])
                    if (m["state"], m["side"]) in (("proposed", "need"), ("interested", "offer"))
                ]
                if todo:
                    path = f"{API}/matches/{rng.choice(todo)['id']}/accept"
                    call(token, "match + accept", "POST /matches/{id}/accept", "POST", path)
                elif own:
                    path = f"{API}/listings/{rng.choice(own)}/match"
                    call(token, "match + accept", "POST /listings/{id}/match", "POST", path)
    return out


def _wait_healthy(base_url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            sys.exit(f"the API server exited early with status {proc.returncode}")
        try:
            if httpx.get(f"{base_url}{API}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    sys.exit("the API server did not become healthy within a minute")


def part_a(args: argparse.Namespace, url: str) -> None:
    print("== A. the API server under load (PostgreSQL) ==")
    t0 = time.perf_counter()
    crisis_id, tokens = _seed_api(url, args.members, args.seed_listings, args.parts)
    print(
        f"seeded {args.members} members with tokens, 1 crisis, {args.seed_listings} listings "
        f"over {args.parts} parts (matched) in {time.perf_counter() - t0:.1f} s"
    )
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = dict(os.environ)
    env.update(
        SUPPLYSHOCK_DATABASE_URL=url,
        SUPPLYSHOCK_RATE_LIMIT_PER_MINUTE="100000000",  # measure the server, not the limiter
    )
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "uvicorn", "--factory", "supplyshock.api.app:create_app",
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
            "--no-access-log",
        ],
        env=env,
    )  # fmt: skip
    try:
        _wait_healthy(base_url, proc)
        mix = tuple(x / sum(args.mix) for x in args.mix)
        per = -(-args.requests // args.workers)
        deadline = time.time() + args.duration
        per_worker = max(1, len(tokens) // args.workers)
        jobs = [
            WorkerJob(
                base_url=base_url,
                crisis_id=crisis_id,
                tokens=tokens[i * per_worker : (i + 1) * per_worker] or tokens,
                requests=per,
                deadline=deadline,
                mix=(mix[0], mix[1], mix[2]),
                parts=args.parts,
                seed=100 + i,
            )
            for i in range(args.workers)
        ]
        ctx = mp.get_context("spawn")
        with ctx.Pool(args.workers) as pool:
            # Warm-up (imports, connections), not counted.
            pool.map(_worker, [WorkerJob(**{**j.__dict__, "requests": 5}) for j in jobs])
            start = time.perf_counter()
            results = pool.map(_worker, jobs)
            wall = time.perf_counter() - start
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    samples = [s for r in results for s in r]
    errors = [s for s in samples if s[3] >= 500]
    print(
        f"{len(samples)} requests from {args.workers} worker processes in {wall:.1f} s "
        f"(mix listing writes / board reads / match+accept = "
        f"{' / '.join(f'{x:.0%}' for x in mix)}); 5xx: {len(errors)}"
    )
    print(f"throughput: {len(samples) / wall:.1f} req/s")
    rows: dict[str, list[float]] = defaultdict(list)
    statuses: dict[str, set[int]] = defaultdict(set)
    for kind, endpoint, sec, status in samples:
        rows["all"].append(sec)
        rows[kind].append(sec)
        rows[f"  {endpoint}"].append(sec)
        statuses[f"  {endpoint}"].add(status)
    order = ["all", "listing write", "board read", "match + accept"]
    order += sorted(k for k in rows if k.startswith("  "))
    print(f"{'kind':34} {'n':>6} {'req/s':>8} {'p50':>11} {'p99':>11}  statuses")
    for key in order:
        xs = rows.get(key)
        if not xs:
            continue
        codes = ",".join(str(c) for c in sorted(statuses.get(key, set())))
        print(
            f"{key:34} {len(xs):6d} {len(xs) / wall:8.1f} {_ms(_pct(xs, 0.5))} "
            f"{_ms(_pct(xs, 0.99))}  {codes}"
        )


# --- part B: matching time against the pool size ---------------------------------------------

GROUP = 10  # listings per part number in the pool: 5 offers and 5 needs


def _pool_rows(
    crisis_id: str, members: list[str], start: int, end: int, today: date, expires: datetime
) -> Iterator[tuple[tuple[Any, ...], list[tuple[str, str, str, str]]]]:
    now = datetime.now(UTC)
    for j in range(start, end):
        g = j // GROUP
        kind = "offer" if j % 2 == 0 else "need"
        pn = f"BP{g:07d}"
        alt = [{"part_number": f"{pn}-W", "maker": MAKER}]
        lid = uuid.uuid4().hex
        ws = today + timedelta(days=j % 7)
        row = (
            lid, kind, crisis_id, members[j % len(members)], pn, MAKER, f"family-{g % 50}",
            json.dumps(alt), 100, 100, "2430", None, kind == "offer", False, False, "europe",
            ws, ws + timedelta(days=60), expires, "open", 1,
            10.0 if kind == "need" else None, 5.0 if kind == "need" else None, None, None,
            now, now, None,
        )  # fmt: skip
        parts = [
            (lid, rules.part_key(pn, MAKER), crisis_id, kind),
            (lid, rules.part_key(f"{pn}-W", MAKER), crisis_id, kind),
        ]
        yield row, parts


_LISTING_COLUMNS = (
    "id, kind, crisis_id, member_id, part_number, maker, part_family, alternates, quantity, "
    "quantity_open, date_code, max_lots, authorised_channel, original_packaging, traceability, "
    "region, window_start, window_end, expires_at, status, version, days_of_supply, "
    "margin_per_unit, price_per_unit, currency, created_at, updated_at, closed_at"
)


def _grow_pool(
    url: str, crisis_id: str, members: list[str], start: int, end: int, expires: datetime
) -> float:
    """COPY listings start..end (and their part keys) into the pool; returns seconds."""
    t0 = time.perf_counter()
    today = datetime.now(UTC).date()
    with psycopg.connect(url) as conn:
        with conn.cursor() as cur:
            parts: list[tuple[str, str, str, str]] = []
            with cur.copy(f"COPY listings ({_LISTING_COLUMNS}) FROM STDIN") as copy:
                for row, keys in _pool_rows(crisis_id, members, start, end, today, expires):
                    copy.write_row(row)
                    parts += keys
            with cur.copy(
                "COPY listing_parts (listing_id, part_key, crisis_id, kind) FROM STDIN"
            ) as copy:
                for key in parts:
                    copy.write_row(key)
        conn.commit()
        conn.autocommit = True
        conn.execute("ANALYZE listings")
        conn.execute("ANALYZE listing_parts")
    return time.perf_counter() - t0


def _naive_candidates(session: Any, me: Any, now: datetime) -> set[str]:
    """The baseline: read every open listing of the crisis and test compatibility in Python."""
    from sqlalchemy import text

    my_keys = {rules.part_key(me.part_number, me.maker)}
    my_keys |= {rules.part_key(a["part_number"], a["maker"]) for a in me.alternates}
    other = "need" if me.kind == "offer" else "offer"
    rows = session.execute(
        text(
            "SELECT id, kind, member_id, part_number, maker, alternates, quantity_open, "
            "expires_at, window_start, window_end, authorised_channel, original_packaging, "
            "traceability, date_code, max_lots FROM listings "
            "WHERE crisis_id = :c AND status = 'open'"
        ),
        {"c": me.crisis_id},
    )
    flags = ("authorised_channel", "original_packaging", "traceability")
    found: set[str] = set()
    for x in rows:
        if x.kind != other or x.member_id == me.member_id or x.quantity_open <= 0:
            continue
        if x.expires_at <= now or x.window_start > me.window_end or x.window_end < me.window_start:
            continue
        keys = {rules.part_key(x.part_number, x.maker)}
        keys |= {rules.part_key(a["part_number"], a["maker"]) for a in x.alternates}
        if not keys & my_keys:
            continue
        offer, need = (me, x) if me.kind == "offer" else (x, me)
        if any(getattr(need, f) and not getattr(offer, f) for f in flags):
            continue
        if need.date_code is not None and (
            offer.date_code is None or offer.date_code < need.date_code
        ):
            continue
        if need.max_lots is not None and (offer.max_lots is None or offer.max_lots > need.max_lots):
            continue
        found.add(x.id)
    return found


@dataclass
class Probe:
    match_s: list[float]
    find_s: list[float]
    naive_s: list[float]
    matches: int
    agree: bool


def _probe(
    factory: Any, crisis_id: str, prober: Principal, size: int, probes: int, naive_reps: int,
    rng: random.Random,
) -> Probe:  # fmt: skip
    """Time match_listing for new listings on existing parts; every probe is rolled back."""
    from supplyshock.store.models import Listing

    result = Probe([], [], [], 0, True)
    today = datetime.now(UTC).date()
    for i in range(probes):
        g = rng.randrange(size // GROUP)
        kind = "need" if i % 2 == 0 else "offer"
        data = ListingCreate(
            kind=kind,
            crisis_id=crisis_id,
            part_number=f"BP{g:07d}",
            maker=MAKER,
            quantity=300,
            region="europe",
            window_start=today,
            window_end=today + timedelta(days=30),
            authorised_channel=True,
            date_code="2440" if kind == "offer" else None,
            days_of_supply=3.0 if kind == "need" else None,
            margin_per_unit=8.0 if kind == "need" else None,
        )
        with UnitOfWork(factory) as uow:  # never committed: the pool stays as it is
            created = create_listing(session=uow.session, actor=prober, data=data).id
            now = datetime.now(UTC)
            t0 = time.perf_counter()
            found = find_candidates(session=uow.session, actor=prober, listing_id=created, now=now)
            result.find_s.append(time.perf_counter() - t0)
            if i < naive_reps:
                me = uow.session.get_one(Listing, created)
                t0 = time.perf_counter()
                naive = _naive_candidates(uow.session, me, now)
                result.naive_s.append(time.perf_counter() - t0)
                result.agree &= naive == {c.listing_id for c in found}
            t0 = time.perf_counter()
            made = match_listing(session=uow.session, actor=prober, listing_id=created, now=now)
            uow.session.flush()
            result.match_s.append(time.perf_counter() - t0)
            result.matches += len(made)
    return result


def part_b(args: argparse.Namespace, url: str) -> None:
    print()
    print("== B. matching one new listing against the open pool (PostgreSQL) ==")
    sizes = [s for s in (10_000, 100_000, 1_000_000) if s <= args.max_pool]
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with UnitOfWork(factory) as uow:
        crisis_id = _crisis(uow.session, "bench pool")
        prober_id = create_member(
            session=uow.session,
            actor=OPERATOR,
            data=MemberCreate(name="Bench prober", contact="p@x.example", country="DE"),
        ).id
        uow.commit()
    prober = Principal(role="member", member_id=prober_id)
    members = [uuid.uuid4().hex for _ in range(200)]
    now = datetime.now(UTC)
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy("COPY members (id, name, contact, country, created_at) FROM STDIN") as copy:
            for i, m in enumerate(members):
                copy.write_row((m, f"Pool member {i}", f"pool{i}@x.example", "DE", now))
        conn.commit()
    expires = datetime.combine(
        datetime.now(UTC).date() + timedelta(days=140), datetime.min.time(), tzinfo=UTC
    )
    rng = random.Random(11)
    print(
        f"pool: {GROUP} listings per part number (5 offers, 5 needs, each also answering to an "
        f"alternate), so a new listing has ~5 candidates whatever the pool size; "
        f"{args.probes} new listings per size (needs and offers alternately), each rolled back"
    )
    print(
        f"{'open listings':>14} {'load':>8} {'match_listing p50':>18} {'find_candidates p50':>20} "
        f"{'naive scan p50':>15} {'naive/match':>12}  same candidates"
    )
    have = 0
    stats: list[tuple[int, float, float, float]] = []
    warm = True  # the first probes pay for imports and cold caches: run two, untimed
    for size in sizes:
        load = _grow_pool(url, crisis_id, members, have, size, expires)
        have = size
        reps = args.naive_reps if size < 1_000_000 else max(1, args.naive_reps // 3)
        if warm:
            _probe(factory, crisis_id, prober, size, 2, 1, rng)
            warm = False
        p = _probe(factory, crisis_id, prober, size, args.probes, reps, rng)
        t_match = statistics.median(p.match_s)
        t_find = statistics.median(p.find_s)
        t_naive = statistics.median(p.naive_s)
        stats.append((size, t_match, t_find, t_naive))
        print(
            f"{size:14,d} {load:7.1f}s {_ms(t_match):>18} {_ms(t_find):>20} {t_naive:14.3f}s "
            f"{t_naive / t_match:11.0f}x  "
            f"{'yes' if p.agree else 'NO'} ({p.matches} matches proposed)"
        )
    engine.dispose()
    base = stats[0]
    for size, t_match, t_find, t_naive in stats[1:]:
        print(
            f"pool x{size // base[0]:<5d} -> match_listing time x{t_match / base[1]:.2f}, "
            f"find_candidates x{t_find / base[2]:.2f}, naive scan x{t_naive / base[3]:.1f}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--pg-url",
        default=os.environ.get(
            "SUPPLYSHOCK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="an admin connection to a local PostgreSQL; a database is created and dropped",
    )
    ap.add_argument("--members", type=int, default=24)
    ap.add_argument("--seed-listings", type=int, default=300)
    ap.add_argument("--parts", type=int, default=60, help="part numbers the load spreads over")
    ap.add_argument("--workers", type=int, default=4, help="client processes")
    ap.add_argument("--requests", type=int, default=3000, help="total requests (bound)")
    ap.add_argument("--duration", type=float, default=90, help="seconds (bound)")
    ap.add_argument(
        "--mix",
        type=float,
        nargs=3,
        default=(50, 35, 15),
        metavar=("WRITES", "BOARD", "MATCH"),
        help="weights: listing writes, board reads, match + accept",
    )
    ap.add_argument("--max-pool", type=int, default=1_000_000, help="largest pool (10k..1M)")
    ap.add_argument("--probes", type=int, default=15, help="new listings timed per pool size")
    ap.add_argument("--naive-reps", type=int, default=3, help="naive scans per pool size")
    ap.add_argument("--skip-load", action="store_true", help="only part B")
    ap.add_argument("--skip-pool", action="store_true", help="only part A")
    args = ap.parse_args()

    db = _create_database(args.pg_url)
    url = db.url
    print(
        f"database: {db.name} on {url.rpartition('@')[2].rpartition('/')[0]} (dropped at the end)"
    )
    try:
        upgrade(url)
        if not args.skip_load:
            part_a(args, url)
        if not args.skip_pool:
            part_b(args, url)
    finally:
        _drop_database(db)


if __name__ == "__main__":
    main()
