"""A published change that reaches a watched plant notifies the member, in the UI and by a
signed webhook that is retried with backoff."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from sqlalchemy.orm import Session

from supplyshock.data import builtin_registry
from supplyshock.exchange.schemas import Principal
from supplyshock.services import registry_drafts as drafts
from supplyshock.services import registry_store as store
from supplyshock.services import registry_watch as watch
from supplyshock.services.registry_watch import WatchCreate, signature

OPERATOR = Principal.local_operator()
ALICE = Principal(role="editor", token_id="alice")
BOB = Principal(role="editor", token_id="bob")
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class Receiver:
    """A webhook receiver on a real socket: answers ``statuses`` in turn, records requests."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.got: list[tuple[bytes, dict[str, str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.got.append((body, dict(self.headers)))
                self.send_response(outer.statuses.pop(0) if outer.statuses else 200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Callable[[list[int]], Receiver]]:
    made: list[Receiver] = []

    def make(statuses: list[int]) -> Receiver:
        made.append(Receiver(statuses))
        return made[-1]

    yield make
    for r in made:
        r.server.shutdown()


def _publish_ban(session: Session) -> None:
    """A CN export ban on discrete semiconductors (HS 8541) from 2031: it reaches every plant
    of auto-2025 through the Nexperia lane NX-DGN (CN) -> ECU maker."""
    nexperia = builtin_registry().measure("cn-nexperia-ban-2025")
    body = {
        "id": "cn-test-8541-ban",
        "act": nexperia.act,
        "title": "Test ban on HS 8541",
        "jurisdiction": "CN",
        "direction": "export",
        "kind": "ban",
        "scope": {"hs_codes": ["8541"]},
        "origins": {"mode": "only", "countries": ["CN"]},
        "events": [
            {
                "id": "cn-test-8541-ban-in-force",
                "kind": "in_force",
                "effective": "2031-01-01",
                "summary": "In force",
                "sources": nexperia.events[0].sources,
            }
        ],
    }
    d = drafts.create_draft(session=session, actor=ALICE, entity="measure", body=body, now=NOW)
    drafts.approve_draft(session=session, actor=BOB, draft_seq=d.seq, now=NOW)


def test_a_published_ban_reaching_a_watched_plant_is_notified_and_signed(
    session: Session, make_member: Callable[..., Principal], receiver: Any
) -> None:
    store.sync_registry(session=session, actor=OPERATOR)
    member, other = make_member(), make_member()
    hook = receiver([500, 200])  # the first delivery fails, the retry succeeds
    w = watch.create_watch(session=session, actor=member, data=WatchCreate(webhook_url=hook.url))
    _publish_ban(session)
    notes = watch.list_notifications(session=session, actor=member)
    assert len(notes) == 1
    payload = notes[0].payload
    assert payload["measure_id"] == "cn-test-8541-ban"
    assert set(payload["plants"]) >= {"OEM-DE", "OEM-JP", "OEM-US"}
    assert any("NX-DGN" in p for p in payload["plants"]["OEM-DE"])
    # Nobody else hears of it.
    assert watch.list_notifications(session=session, actor=other) == []
    # First attempt: HTTP 500, retried 30 s later; nothing is due before that.
    assert watch.deliver_due(session=session, now=NOW) == 0
    assert watch.deliver_due(session=session, now=NOW + timedelta(seconds=29)) == 0
    assert watch.deliver_due(session=session, now=NOW + timedelta(seconds=30)) == 1
    assert len(hook.got) == 2
    body, headers = hook.got[-1]
    assert headers["X-Supplyshock-Signature"] == signature(w.secret, body)
    assert json.loads(body)["plants"] == payload["plants"]
    assert watch.list_notifications(session=session, actor=member)[0].webhook_state == "delivered"


def test_a_receiver_that_never_answers_is_given_up_after_six_attempts(
    session: Session, make_member: Callable[..., Principal], receiver: Any
) -> None:
    store.sync_registry(session=session, actor=OPERATOR)
    member = make_member()
    hook = receiver([500] * 10)
    watch.create_watch(session=session, actor=member, data=WatchCreate(webhook_url=hook.url))
    _publish_ban(session)
    # Retries after 30 s, 1, 2, 4, 8 min: attempt k+1 is due 30 s * (2^k - 1) after the first.
    for k in range(6):
        assert watch.deliver_due(session=session, now=NOW + timedelta(seconds=30 * (2**k - 1))) == 0
    assert len(hook.got) == 6
    assert watch.list_notifications(session=session, actor=member)[0].webhook_state == "failed"
