"""Load test: the exchange API with several server workers on PostgreSQL, driven by locust.

Creates a throwaway PostgreSQL database (127.0.0.1), migrates it, then for each phase (a
1-worker baseline, then the measured run with ``--workers``) starts the real server on a free
port, seeds it through its own API (a crisis whose part catalogue is set where the API has one,
``--members`` members with a token and a Catena-X material twin each, ``--seed-listings`` open
offers and needs) and drives it with locust users (bench/locustfile_exchange.py; one user per
member). It prints req/s and p50/p95/p99 per kind, the realised mix, the 5xx count, deadlocks
seen by the server, and checks in SQL that no listing is promised more than its quantity. The
database is dropped at the end. Only 127.0.0.1 is contacted; every loop is bounded in time and
in requests. Exit status 1 on any 5xx, hung request or over-promise.

    .venv/bin/python bench/exchange.py                       # ~2.5 minutes
    .venv/bin/python bench/exchange.py --users 100 --duration 60 --workers 2 --rate 0
    .venv/bin/python bench/exchange.py --baseline-duration 0 --duration 20   # quick look

``--rate`` is the offered load in req/s (default 500, the target), paced per user; ``--rate 0``
sends as fast as answers come (closed loop), which measures the ceiling but inflates latency
with queueing. The load generator shares the machine with the server: figures are indicative.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import re
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests/e2e/server.py: the same server harness as the burst tests

from tests.e2e import server as live  # noqa: E402

from supplyshock.store.migrate import upgrade  # noqa: E402

TARGET_RPS = 500.0
TARGET_P99_MS = 100.0
KIND_ORDER = (
    "listing create",
    "listing amend",
    "catena-x import",
    "board read",
    "matches read",
    "match accept",
    "match decline",
)
# The official CX-0122 example (/work/shared/catena-x/ItemStock.json), reduced to one position;
# the runner sets the material twin and the quantity per request.
ITEM_STOCK: dict[str, Any] = {
    "materialGlobalAssetId": "urn:uuid:48878d48-6f1d-47f5-8ded-a441d0d879df",
    "direction": "INBOUND",
    "positions": [
        {
            "orderPositionReference": {
                "supplierOrderId": "M-Nbr-4711",
                "customerOrderId": "C-Nbr-4711",
                "customerOrderPositionId": "PositionId-01",
            },
            "allocatedStocks": [
                {
                    "isBlocked": False,
                    "stockLocationBPNA": "BPNA1234567890ZZ",
                    "lastUpdatedOnDateTime": "2023-04-28T14:23:00.123456+14:00",
                    "quantityOnAllocatedStock": {"value": 20.0, "unit": "unit:piece"},
                    "stockLocationBPNS": "BPNS1234567890ZZ",
                }
            ],
        }
    ],
}


def _pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by nearest rank."""
    if not values:
        return float("nan")
    xs = sorted(values)
    return xs[min(len(xs) - 1, max(0, round(q * len(xs) + 0.5) - 1))]


# --- seeding --------------------------------------------------------------------------------


def _seed(base_url: str, db_url: str, args: argparse.Namespace, phase: str) -> dict[str, Any]:
    """A crisis, members with tokens and twins, and open listings; returns the locust plan."""
    rng = random.Random(7)  # the same seed in every phase: comparable pools
    parts = [f"BX{i:03d}A" for i in range(args.parts)]
    families = {pn: f"family-{i % 8}" for i, pn in enumerate(parts)}
    operator = live.operator_token(db_url)
    members = live.make_members(db_url, args.members)
    with httpx.Client(base_url=base_url, timeout=30, limits=httpx.Limits(max_connections=16)) as c:
        crisis_id, catalogue = live.open_crisis(
            c,
            operator,
            parts,
            [families[p] for p in parts],
            f"bench {phase} x{uuid.uuid4().hex[:6]}",
        )
        plan_members: list[dict[str, Any]] = []
        twins: list[tuple[str, str, dict[str, Any]]] = []
        for m in members:
            twin = f"urn:uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}"
            entry = {"global_asset_id": twin, "part_number": rng.choice(parts), "maker": live.MAKER}
            twins.append((m.token, f"{live.API}/catenax/twins", {"twins": [entry]}))
            plan_members.append({"id": m.id, "token": m.token, "twin": twin, "listings": []})
        listings: list[tuple[str, str, dict[str, Any]]] = []
        for i in range(args.seed_listings):
            part = rng.choice(parts)
            kind = "offer" if i % 2 == 0 else "need"
            body = live.listing_body(crisis_id, kind, part, rng.randrange(50, 1000), families[part])
            listings.append((members[i % len(members)].token, f"{live.API}/listings", body))
        live.post_all(c, twins)
        for i, created in enumerate(live.post_all(c, listings)):
            plan_members[i % len(members)]["listings"].append(created["id"])
    return {
        "crisis_id": crisis_id,
        "catalogue": catalogue,
        "parts": parts,
        "families": families,
        "maker": live.MAKER,
        "members": plan_members,
        "item_stock": ITEM_STOCK,
    }


# --- one phase: a server with W workers under the load ---------------------------------------


@dataclass
class Phase:
    name: str
    workers: int
    how: str
    result: dict[str, Any]
    deadlock_log_lines: int  # 'deadlock detected' in the server log (retried or not)
    busy_log_lines: int  # the server's "answering 503" warnings
    catalogue: str | None

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.result["ms"].values())

    @property
    def rps(self) -> float:
        return self.total / float(self.result["wall"])

    def count(self, pred: Any) -> int:
        return sum(
            n for st in self.result["status"].values() for s, n in st.items() if pred(int(s))
        )

    @property
    def all_ms(self) -> list[float]:
        return [x for v in self.result["ms"].values() for x in v]


_BUSY = ("user", "nice", "system", "irq", "softirq", "steal")


def _server_cpu(pid: int) -> float:
    """CPU seconds used so far by the server and its worker processes."""
    procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    total = 0.0
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            t = proc.cpu_times()
            total += t.user + t.system
    return total


def _log_count(text: str, pattern: str) -> int:
    return len(re.findall(pattern, text))


def run_phase(
    name: str, workers: int, duration: float, db_url: str, args: argparse.Namespace, tmp: Path
) -> Phase:
    env = {"SUPPLYSHOCK_RATE_LIMIT_PER_MINUTE": "100000000"}  # measure the server, not the limiter
    log = tmp / f"server-{name}.log"
    try:
        return _drive(name, workers, duration, db_url, args, tmp, env, log)
    finally:
        if args.keep_logs and log.exists():
            args.keep_logs.mkdir(parents=True, exist_ok=True)
            (args.keep_logs / log.name).write_bytes(log.read_bytes())


def _drive(
    name: str,
    workers: int,
    duration: float,
    db_url: str,
    args: argparse.Namespace,
    tmp: Path,
    env: dict[str, str],
    log: Path,
) -> Phase:
    with live.live_server(db_url, log, workers=workers, env=env) as srv:
        t0 = time.perf_counter()
        plan = _seed(srv.base_url, db_url, args, name)
        print(
            f"[{name}] {srv.how}; seeded {args.members} members (token + twin each), "
            f"{args.seed_listings} listings over {args.parts} parts; crisis catalogue: "
            + (f"the {args.parts} parts" if plan["catalogue"] else "none in this API")
            + f" ({time.perf_counter() - t0:.1f} s)"
        )
        plan.update(
            base_url=srv.base_url,
            users=args.users,
            rate=args.rate,
            duration=duration,
            warmup=args.warmup,
            max_requests=args.max_requests,
            mix={
                k.strip(): int(w)
                for k, _, w in (x.partition("=") for x in args.mix.split(",") if x)
            },
        )
        plan_path, out_path = tmp / f"plan-{name}.json", tmp / f"result-{name}.json"
        plan_path.write_text(json.dumps(plan))
        runner = [sys.executable, str(ROOT / "bench" / "locustfile_exchange.py")]
        server_cpu0, machine0 = _server_cpu(srv.proc.pid), psutil.cpu_times()
        subprocess.run(
            [*runner, str(plan_path), str(out_path)],
            check=True,
            timeout=duration + args.warmup + 120,
        )
        result = json.loads(out_path.read_text())
        result["server_cpu_s"] = _server_cpu(srv.proc.pid) - server_cpu0
        machine = psutil.cpu_times()
        busy = sum(getattr(machine, f) - getattr(machine0, f) for f in _BUSY)
        idle = sum(getattr(machine, f) - getattr(machine0, f) for f in ("idle", "iowait"))
        result["machine"] = {"busy_s": busy, "cores": psutil.cpu_count(), "total_s": busy + idle}
    text = log.read_text(errors="replace")
    return Phase(
        name,
        workers,
        srv.how,
        result,
        _log_count(text, r"deadlock detected"),
        _log_count(text, r"answering 503"),
        plan["catalogue"],
    )


# --- the report -----------------------------------------------------------------------------


def print_phase(p: Phase, args_mix: str) -> None:
    r = p.result
    total = p.total
    pace = f"offered {r['rate']:.0f} req/s" if r["rate"] > 0 else "unpaced (closed loop)"
    print()
    print(f"== {p.name}: {p.how}; {r['users']} locust users, {pace}, {r['wall']:.1f} s ==")
    m = r["machine"]
    print(
        f"CPU during the run (load + drain, {m['total_s'] / m['cores']:.0f} s): machine busy "
        f"{m['busy_s'] / m['total_s']:.0%} of {m['cores']} cores; server "
        f"{r['server_cpu_s']:.1f} s = {1000 * r['server_cpu_s'] / r['sent']:.1f} ms per request "
        f"({r['sent']} sent, warm-up included); load generator {r['generator_cpu_s']:.1f} s; "
        f"the rest is PostgreSQL and other work on the machine"
    )
    print(
        f"{'kind':16} {'n':>7} {'share':>6} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'p99 ms':>8}  statuses"
    )
    for kind in (*KIND_ORDER, "all"):
        xs = p.all_ms if kind == "all" else r["ms"].get(kind, [])
        if not xs:
            continue
        if kind == "all":
            codes: dict[str, int] = {}
            for st in r["status"].values():
                for s, n in st.items():
                    codes[s] = codes.get(s, 0) + n
        else:
            codes = r["status"].get(kind, {})
        shown = " ".join(f"{s}:{n}" for s, n in sorted(codes.items()))
        print(
            f"{kind:16} {len(xs):7d} {len(xs) / total:6.1%} {len(xs) / r['wall']:7.1f} "
            f"{_pct(xs, 0.5):8.1f} {_pct(xs, 0.95):8.1f} {_pct(xs, 0.99):8.1f}  {shown}"
        )
    weights = ", ".join(f"{k} {w}" for k, w in r["mix"].items())
    changed = " (CHANGED with --mix, for diagnosis: not the issue's mix)" if args_mix else ""
    print(f"mix (task weights, %): {weights}{changed}")
    print(f"accept/decline with nothing to act on (sent a matches read instead): {r['fallback']}")
    print(
        f"5xx: {p.count(lambda s: s >= 500)} (503: {p.count(lambda s: s == 503)}), "
        f"no answer within 30 s: {p.count(lambda s: s == 0)}, 5xx naming a deadlock: "
        f"{r['deadlock_5xx']}; transactions re-run by the server after a deadlock or "
        f"serialization failure (X-Transaction-Retries): {r['retried']} in "
        f"{r['retried_requests']} requests; server log: 'deadlock detected' "
        f"{p.deadlock_log_lines}, 'answering 503' {p.busy_log_lines}"
    )
    for body in r["bodies_5xx"][:5]:
        print(f"  e.g. {body}")
    for kind, bodies in r["bodies_4xx"].items():
        print(f"  4xx {kind}, e.g. {bodies[0][:160]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--pg-url", default=live.PG_ADMIN_URL, help="admin URL of a local PostgreSQL")
    ap.add_argument("--users", type=int, default=100, help="locust users (one member each)")
    ap.add_argument("--duration", type=float, default=60, help="seconds of measured load")
    ap.add_argument("--workers", type=int, default=2, help="server worker processes")
    ap.add_argument("--rate", type=float, default=TARGET_RPS, help="offered req/s; 0 = unpaced")
    ap.add_argument("--baseline-workers", type=int, default=1)
    ap.add_argument(
        "--baseline-duration", type=float, default=20, help="seconds; 0 skips the baseline"
    )
    ap.add_argument("--members", type=int, default=200)
    ap.add_argument("--parts", type=int, default=40, help="catalogue parts the load spreads over")
    ap.add_argument("--seed-listings", type=int, default=400)
    ap.add_argument("--warmup", type=float, default=3, help="seconds of load not counted")
    ap.add_argument("--max-requests", type=int, default=200_000, help="bound per phase")
    ap.add_argument(
        "--mix",
        default="",
        help="diagnosis only: reweigh kinds, e.g. 'board read=0' (the mix used is printed)",
    )
    ap.add_argument("--keep-logs", type=Path, help="copy the server logs into this folder")
    args = ap.parse_args()
    args.users = min(args.users, args.members)
    unknown = [x.partition("=")[0].strip() for x in args.mix.split(",") if x]
    if any(k not in KIND_ORDER for k in unknown):
        sys.exit(f"--mix: kinds are {', '.join(KIND_ORDER)}")

    phases: list[Phase] = []
    try:
        ctx = live.throwaway_database(args.pg_url, prefix="supplyshock_bench")
        with ctx as db_url, tempfile.TemporaryDirectory() as tmpdir:
            print(f"database: {db_url.rpartition('/')[2]} on 127.0.0.1 (dropped at the end)")
            upgrade(db_url)  # once, before any worker starts
            tmp = Path(tmpdir)
            if args.baseline_duration > 0:
                phases.append(
                    run_phase(
                        "baseline", args.baseline_workers, args.baseline_duration, db_url, args, tmp
                    )
                )
            phases.append(run_phase("measured", args.workers, args.duration, db_url, args, tmp))
            promises = live.check_promises(db_url)
    except live.NoPostgres as e:
        sys.exit(f"bench/exchange.py needs a local PostgreSQL: {e}")

    for p in phases:
        print_phase(p, args.mix)
    main_phase = phases[-1]
    p99 = _pct(main_phase.all_ms, 0.99)
    print()
    print("== comparison ==")
    print(
        f"measured: {main_phase.rps:.1f} req/s = {main_phase.rps / TARGET_RPS:.2f} x the target "
        f"of {TARGET_RPS:.0f}; p99 {p99:.1f} ms = {p99 / TARGET_P99_MS:.2f} x the target of "
        f"{TARGET_P99_MS:.0f} ms"
    )
    if len(phases) > 1:
        base = phases[0]
        bp99 = _pct(base.all_ms, 0.99)
        print(
            f"{main_phase.workers} workers vs {base.workers}: "
            f"req/s x{main_phase.rps / base.rps:.2f} "
            f"({main_phase.rps:.1f} vs {base.rps:.1f}), p99 x{p99 / bp99:.2f} "
            f"({p99:.1f} vs {bp99:.1f} ms)"
        )
    print(
        f"over-promise check (SQL, every listing of both phases): {promises.listings} listings "
        f"hold promises; promised beyond their quantity: {len(promises.over_promised)}; open "
        f"quantity not equal to quantity minus promised: {len(promises.open_mismatch)}"
    )
    for row in (promises.over_promised + promises.open_mismatch)[:5]:
        print(f"  e.g. {row}")
    failures = sum(p.count(lambda s: s >= 500 or s == 0) for p in phases)
    if failures or not promises.ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
