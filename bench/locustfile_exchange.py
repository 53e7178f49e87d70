"""The load of bench/exchange.py: locust users acting as exchange members, run headless.

Run by bench/exchange.py as a subprocess (locust monkey-patches the standard library with
gevent on import, so it gets a process of its own)::

    python bench/locustfile_exchange.py PLAN.json RESULT.json

``PLAN.json`` names the server (127.0.0.1 only), the crisis, the catalogue parts and the seeded
members (token, listing ids, Catena-X twin); ``RESULT.json`` receives every counted request's
latency and status per kind. Each locust user is one member. Each task sends exactly one
request, so the task weights below are the request mix (``--mix`` in bench/exchange.py may
change them; the mix used is always printed); locust picks tasks at random by weight and the
realised shares are reported next to the figures.

Bounded: the run stops after ``duration`` seconds or ``max_requests`` counted requests,
whichever comes first; a request waits at most ``timeout`` seconds (then it counts as hung).
"""

from __future__ import annotations

import json
import random
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import gevent  # type: ignore[import-untyped]
from locust import FastHttpUser, constant, constant_throughput, events
from locust.env import Environment

API = "/api/v1"

# The request mix (weights add up to 100). Today's shares are kept: half listing writes that
# match at once, about a third board reads, the rest match accept/decline; amends and Catena-X
# imports are carved out of the writes (the old bench amended in a fifth of its writes).
MIX: dict[str, int] = {
    "listing create": 30,  # POST /listings (matched at once)
    "listing amend": 12,  # PATCH /listings/{id} (matched again)
    "catena-x import": 8,  # POST /catenax/item-stock (an offer, matched at once)
    "board read": 35,  # GET /board/{crisis}?by=part|family
    "matches read": 5,  # GET /matches?state=... (what to accept or decline)
    "match accept": 7,  # POST /matches/{id}/accept
    "match decline": 3,  # POST /matches/{id}/decline
}

PLAN: dict[str, Any] = {}
RESULT: dict[str, Any] = {
    "ms": defaultdict(list),  # kind -> latencies (ms) of counted requests
    "status": defaultdict(lambda: defaultdict(int)),  # kind -> status -> count
    "fallback": 0,  # accept/decline tasks with nothing to act on (sent a matches read instead)
    "bodies_5xx": [],  # the first few 5xx answers, for the report
    "bodies_4xx": defaultdict(list),  # kind -> the first few 4xx answers
    "deadlock_5xx": 0,
    "retried": 0,  # transaction re-runs reported by the server (X-Transaction-Retries)
    "retried_requests": 0,
    "counted": 0,
    "sent": 0,
    "started": None,
    "ended": None,
}


class Member(FastHttpUser):
    """One member of the exchange; its token, listings and twin come from the plan."""

    network_timeout = 30.0
    connection_timeout = 10.0
    wait_time = constant(0)

    def on_start(self) -> None:
        me = PLAN["members"].pop()
        self.rng = random.Random(me["id"])
        self.headers = {"Authorization": f"Bearer {me['token']}"}
        self.mine: list[str] = list(me["listings"])  # listing ids I hold (open or not)
        self.twin: str = me["twin"]
        self.todo: list[dict[str, Any]] = []  # matches I may accept or decline

    # --- writes -----------------------------------------------------------------------------

    def _listing(self, kind: str) -> dict[str, Any]:
        part = self.rng.choice(PLAN["parts"])
        start = time.strftime(
            "%Y-%m-%d", time.gmtime(time.time() + self.rng.randrange(0, 10) * 86400)
        )
        end = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 40 * 86400))
        body: dict[str, Any] = {
            "kind": kind,
            "crisis_id": PLAN["crisis_id"],
            "part_number": part,
            "maker": PLAN["maker"],
            "part_family": PLAN["families"][part],
            "quantity": self.rng.randrange(50, 1000),
            "region": self.rng.choice(["europe", "east-asia", "north-america"]),
            "window_start": start,
            "window_end": end,
        }
        if kind == "need":
            body["days_of_supply"] = self.rng.randrange(1, 30)
        return body

    def create_listing(self) -> None:
        body = self._listing(self.rng.choice(["offer", "need"]))
        with self._call("listing create", "POST", f"{API}/listings", json=body) as res:
            if res.status_code == 201:
                self.mine.append(res.json()["id"])

    def amend_listing(self) -> None:
        if not self.mine:
            self.create_listing()
            return
        target = self.rng.choice(self.mine[-20:])
        body = {"quantity": self.rng.randrange(300, 1500)}
        with self._call("listing amend", "PATCH", f"{API}/listings/{target}", json=body):
            pass

    def import_item_stock(self) -> None:
        payload = json.loads(json.dumps(PLAN["item_stock"]))
        payload["materialGlobalAssetId"] = self.twin
        stock = payload["positions"][0]["allocatedStocks"][0]
        stock["quantityOnAllocatedStock"]["value"] = float(self.rng.randrange(50, 800))
        params = {"crisis_id": PLAN["crisis_id"], "region": "europe"}
        path = f"{API}/catenax/item-stock"
        with self._call("catena-x import", "POST", path, json=payload, params=params) as res:
            if res.status_code == 201:
                self.mine.append(res.json()["id"])

    # --- reads ------------------------------------------------------------------------------

    def read_board(self) -> None:
        by = self.rng.choice(["part", "family"])
        with self._call("board read", "GET", f"{API}/board/{PLAN['crisis_id']}?by={by}"):
            pass

    def read_matches(self) -> None:
        state = self.rng.choice(["proposed", "interested"])
        path = f"{API}/matches?state={state}&limit=20"
        with self._call("matches read", "GET", path) as res:
            if res.status_code == 200:
                self.todo = [
                    m
                    for m in res.json()["items"]
                    if (m["state"], m["side"]) in (("proposed", "need"), ("interested", "offer"))
                ]

    # --- match decisions --------------------------------------------------------------------

    def _decide(self, kind: str, verb: str) -> None:
        if not self.todo:
            RESULT["fallback"] += 1
            self.read_matches()
            return
        match = self.todo.pop(self.rng.randrange(len(self.todo)))
        with self._call(kind, "POST", f"{API}/matches/{match['id']}/{verb}"):
            pass

    def accept(self) -> None:
        self._decide("match accept", "accept")

    def decline(self) -> None:
        self._decide("match decline", "decline")

    def _call(self, kind: str, method: str, path: str, **kw: Any) -> Any:
        # catch_response: a 4xx is an answer, not a failure; the bench classifies statuses.
        return self.client.request(
            method, path, name=kind, headers=self.headers, catch_response=True, **kw
        )


def _record(
    name: str,
    response_time: float,
    response: Any,
    exception: BaseException | None,
    start_time: float,
    **_: Any,
) -> None:
    RESULT["sent"] += 1  # every answer, warm-up and drain included (for CPU per request)
    if RESULT["started"] is None or start_time < RESULT["started"]:
        return  # warm-up: not counted
    if RESULT["ended"] is not None and start_time >= RESULT["ended"]:
        return  # sent after the end (a user finishing its task); requests in flight count
    status = getattr(response, "status_code", 0) or 0
    if exception is not None and status == 0:
        status = 0  # no answer: a timeout or a dropped connection
    RESULT["ms"][name].append(response_time)
    RESULT["status"][name][status] += 1
    RESULT["counted"] += 1
    # The server names, on each answer, how many times it re-ran the request's transaction
    # after a deadlock or serialization failure (http/transactions.py); absent = never.
    headers = getattr(response, "headers", None) or {}
    retried = int(headers.get("x-transaction-retries") or 0)
    if retried:
        RESULT["retried"] += retried
        RESULT["retried_requests"] += 1
    if status >= 500 or status == 0:
        text = (getattr(response, "text", None) or str(exception))[:300]
        if "deadlock" in text.lower():
            RESULT["deadlock_5xx"] += 1
        if len(RESULT["bodies_5xx"]) < 10:
            RESULT["bodies_5xx"].append(f"{name}: {status} {text}")
    if 400 <= status < 500 and len(RESULT["bodies_4xx"][name]) < 3:
        RESULT["bodies_4xx"][name].append(f"{status} {(getattr(response, 'text', '') or '')[:300]}")
    if RESULT["counted"] >= PLAN["max_requests"]:
        gevent.spawn(_runner_quit)


events.request.add_listener(_record)  # type: ignore[no-untyped-call]
_RUNNER: list[Any] = []


def _runner_quit() -> None:
    if RESULT["ended"] is None:
        RESULT["ended"] = time.time()
        _RUNNER[0].quit()


def main() -> None:
    plan_path, result_path = Path(sys.argv[1]), Path(sys.argv[2])
    PLAN.update(json.loads(plan_path.read_text()))
    host = urlsplit(PLAN["base_url"]).hostname
    if host != "127.0.0.1":
        sys.exit(f"the load goes to 127.0.0.1 only, not {host!r}")
    users = min(PLAN["users"], len(PLAN["members"]))
    rate = float(PLAN["rate"])
    # Paced: each user sends rate/users requests per second, so the offered load is `rate`
    # whatever the latency (as long as users keep up); unpaced (rate 0): as fast as answered.
    Member.wait_time = constant_throughput(rate / users) if rate > 0 else constant(0)
    Member.host = PLAN["base_url"]
    mix = {**MIX, **PLAN.get("mix", {})}  # bench/exchange.py --mix may reweigh (and says so)
    actions = {
        "listing create": Member.create_listing,
        "listing amend": Member.amend_listing,
        "catena-x import": Member.import_item_stock,
        "board read": Member.read_board,
        "matches read": Member.read_matches,
        "match accept": Member.accept,
        "match decline": Member.decline,
    }
    Member.tasks = [actions[k] for k, w in mix.items() for _ in range(w)]
    # stop_timeout: at the end each user finishes the request it is waiting for (at most the
    # network timeout), so slow answers are measured instead of silently dropped.
    env = Environment(user_classes=[Member], events=events, stop_timeout=Member.network_timeout + 5)
    runner = env.create_local_runner()
    _RUNNER.append(runner)
    runner.start(users, spawn_rate=users)
    warmup = float(PLAN["warmup"])
    gevent.sleep(warmup)
    RESULT["started"] = time.time()
    gevent.spawn_later(float(PLAN["duration"]), _runner_quit)
    runner.greenlet.join()
    cpu = time.process_time()  # the load generator's own CPU (all of it), next to the server's
    out = {
        "users": users,
        "rate": rate,
        "mix": mix,
        "wall": RESULT["ended"] - RESULT["started"],
        "generator_cpu_s": cpu,
        "sent": RESULT["sent"],
        "ms": RESULT["ms"],
        "status": {k: dict(v) for k, v in RESULT["status"].items()},
        "fallback": RESULT["fallback"],
        "bodies_5xx": RESULT["bodies_5xx"],
        "bodies_4xx": RESULT["bodies_4xx"],
        "deadlock_5xx": RESULT["deadlock_5xx"],
        "retried": RESULT["retried"],
        "retried_requests": RESULT["retried_requests"],
    }
    result_path.write_text(json.dumps(out))


if __name__ == "__main__":
    main()
