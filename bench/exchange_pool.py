"""Benchmark: matching one new listing against open pools of 10k, 100k and 1M listings.

Formerly part B of bench/exchange.py (which is now the locust load test). Bulk-loads (COPY)
pools of open listings into a crisis of a throwaway PostgreSQL database and times
``match_listing`` for new listings against each pool (median over several, each rolled back),
next to a naive baseline that scans every open listing of the crisis in Python for
compatibility. It prints the times, how they grow against the pool, the naive/indexed ratio,
and whether the two found the same candidates. The database is dropped at the end; only
127.0.0.1 is contacted.

    .venv/bin/python bench/exchange_pool.py                     # 2-4 minutes
    .venv/bin/python bench/exchange_pool.py --max-pool 100000   # quicker
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg

from supplyshock.exchange import rules
from supplyshock.exchange.candidates import find_candidates
from supplyshock.exchange.crises import open_crisis
from supplyshock.exchange.listings import create_listing
from supplyshock.exchange.matching import match_listing
from supplyshock.exchange.members import create_member
from supplyshock.exchange.schemas import (
    CatalogueEntryIn,
    CrisisCreate,
    ListingCreate,
    MemberCreate,
    Principal,
)
from supplyshock.store.db import UnitOfWork, make_engine, make_session_factory
from supplyshock.store.migrate import upgrade

OPERATOR = Principal.local_operator()
MAKER = "Nexperia"


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
            # New listings must name a catalogue part; the pool itself is COPYed in, so only
            # the parts the probes use need to be listed (the catalogue is bounded).
            catalogue=[
                CatalogueEntryIn(
                    part_number=f"BP{g:07d}", maker=MAKER, part_family=f"family-{g % 50}"
                )
                for g in range(CATALOGUE_PARTS)
            ],
        ),
    )
    return crisis.id


# --- part B: matching time against the pool size ---------------------------------------------

GROUP = 10  # listings per part number in the pool: 5 offers and 5 needs
CATALOGUE_PARTS = 1000  # the probes' parts: the first 1,000 part numbers of every pool size


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
        g = rng.randrange(min(size // GROUP, CATALOGUE_PARTS))
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
    ap.add_argument("--max-pool", type=int, default=1_000_000, help="largest pool (10k..1M)")
    ap.add_argument("--probes", type=int, default=15, help="new listings timed per pool size")
    ap.add_argument("--naive-reps", type=int, default=3, help="naive scans per pool size")
    args = ap.parse_args()

    db = _create_database(args.pg_url)
    print(f"database: {db.name} on 127.0.0.1 (dropped at the end)")
    try:
        upgrade(db.url)
        part_b(args, db.url)
    finally:
        _drop_database(db)


if __name__ == "__main__":
    main()
