"""The registry in the database over HTTP: drafts, a second editor's approval, the feed, as-of.

Each test records its own measure (origin Iceland, a jurisdiction no other test asks about), so
published changes cannot alter another test's answers on the shared database.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree import ElementTree as ET

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from supplyshock.store.db import UnitOfWork
from supplyshock.store.models import AuditEntry, RegistryChange
from tests.e2e.conftest import API, Member, bearer

TODAY = datetime.now(UTC).date()


def _editor(client: TestClient, operator: dict[str, str], label: str) -> dict[str, str]:
    res = client.post(f"{API}/tokens", json={"role": "editor", "label": label}, headers=operator)
    assert res.status_code == 201, res.text
    return bearer(res.json()["token"])


def _publish(
    client: TestClient, author: dict[str, str], approver: dict[str, str], path: str, body: Any
) -> dict[str, Any]:
    res = client.post(f"{API}/registry/drafts/{path}", json=body, headers=author)
    assert res.status_code == 201, res.text
    seq = res.json()["seq"]
    res = client.post(f"{API}/registry/drafts/{seq}/approve", headers=approver)
    assert res.status_code == 200, res.text
    return dict(res.json())


def _basis(client: TestClient, a: dict[str, str], b: dict[str, str]) -> tuple[str, str, str]:
    """A published source and act of this test's own (ids unique per test)."""
    u = uuid.uuid4().hex[:8]
    src, act = f"test-src-{u}", f"test-act-{u}"
    _publish(
        client,
        a,
        b,
        "sources",
        {"id": src, "publisher": "Test Gazette", "title": "Order", "published": "2025-12-01"},
    )
    _publish(
        client,
        a,
        b,
        "acts",
        {
            "id": act,
            "authority": "Test Ministry",
            "jurisdiction": "IS",
            "title": "Order on gallium",
            "announced": "2025-12-01",
            "sources": [src],
        },
    )
    return u, src, act


def _measure(u: str, act: str, src: str) -> dict[str, Any]:
    return {
        "id": f"is-ga-ban-{u}",
        "act": act,
        "title": "Icelandic gallium export ban (test)",
        "jurisdiction": "IS",
        "direction": "export",
        "kind": "ban",
        "scope": {"elements": ["Ga"]},
        "origins": {"mode": "only", "countries": ["IS"]},
        "events": [
            {
                "id": f"is-ga-ban-{u}-in-force",
                "kind": "in_force",
                "effective": "2026-01-01",
                "summary": "Ban in force",
                "sources": [src],
            }
        ],
        "last_reviewed": TODAY.isoformat(),
    }


def _check(client: TestClient, headers: dict[str, str], **extra: Any) -> list[str]:
    body = {"date": "2026-06-01", "origin": "IS", "destination": "DE", "elements": {"Ga": None}}
    res = client.post(f"{API}/registry/check", json={**body, **extra}, headers=headers)
    assert res.status_code == 200, res.text
    return [e["measure_id"] for e in res.json()["effects"]]


def test_a_draft_approved_by_a_second_editor_is_published_checked_and_fed(
    client: TestClient, operator: dict[str, str]
) -> None:
    a, b = _editor(client, operator, "alice"), _editor(client, operator, "bob")
    u, src, act = _basis(client, a, b)
    res = client.post(f"{API}/registry/drafts/measures", json=_measure(u, act, src), headers=a)
    assert res.status_code == 201, res.text
    draft = res.json()
    assert draft["status"] == "draft"
    # Not published yet: the shipment meets no measure.
    assert f"is-ga-ban-{u}" not in _check(client, a)
    # Alice may not approve her own draft.
    own = client.post(f"{API}/registry/drafts/{draft['seq']}/approve", headers=a)
    assert own.status_code == 403, own.text
    res = client.post(f"{API}/registry/drafts/{draft['seq']}/approve", headers=b)
    assert res.status_code == 200, res.text
    published = res.json()
    assert published["status"] == "published"
    assert published["editor"] == draft["editor"] != published["approved_by"]
    # Approving again is a conflict, not a second publication.
    again = client.post(f"{API}/registry/drafts/{draft['seq']}/approve", headers=b)
    assert again.status_code == 409, again.text
    # The ban (in force from 2026-01-01) now reaches gallium shipped IS -> DE on 2026-06-01.
    assert f"is-ga-ban-{u}" in _check(client, a)
    # As known yesterday it did not exist: it was recorded today.
    yesterday = (TODAY - timedelta(days=1)).isoformat()
    assert f"is-ga-ban-{u}" not in _check(client, a, as_of=yesterday)
    assert f"is-ga-ban-{u}" in _check(client, a, as_of=TODAY.isoformat())
    # The feed lists it since a minute ago, as JSON and as Atom.
    since = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    seen: list[dict[str, Any]] = []
    after: int | None = 0
    while after is not None:  # walk the pages: the seeded rows may share the window
        params = {"since": since, "after": after, "limit": 50}
        page = client.get(f"{API}/registry/changes", params=params, headers=a).json()
        seen += page["items"]
        after = page["next"]
    assert published["seq"] in [c["seq"] for c in seen]
    assert draft["seq"] not in [c["seq"] for c in seen]  # drafts are not fed
    assert len({c["seq"] for c in seen}) == len(seen)
    atom = client.get(f"{API}/registry/changes.atom", headers=a)
    assert atom.headers["content-type"].startswith("application/atom+xml")
    ids = [e.text for e in ET.fromstring(atom.content).iter("{http://www.w3.org/2005/Atom}id")]
    assert f"urn:supplyshock:registry:change:{published['seq']}" in ids


def test_an_event_drafted_on_a_published_measure_changes_the_answer_once_approved(
    client: TestClient, operator: dict[str, str]
) -> None:
    a, b = _editor(client, operator, "alice"), _editor(client, operator, "bob")
    u, src, act = _basis(client, a, b)
    _publish(client, a, b, "measures", _measure(u, act, src))
    lifted = {
        "id": f"is-ga-ban-{u}-lifted",
        "kind": "lifted",
        "effective": "2026-03-01",
        "summary": "Ban lifted",
        "sources": [src],
    }
    _publish(client, b, a, f"measures/is-ga-ban-{u}/events", lifted)
    # Lifted from 2026-03-01: not applying on 2026-06-01, still applying on 2026-02-01.
    assert f"is-ga-ban-{u}" not in _check(client, a)
    assert f"is-ga-ban-{u}" in _check(client, a, date="2026-02-01")


def test_members_and_the_operator_cannot_edit_the_registry(
    client: TestClient, operator: dict[str, str], make_member: Any
) -> None:
    member: Member = make_member()
    body = {"id": "x", "publisher": "P", "title": "T", "published": "2025-01-01"}
    for who in (member.headers, operator):
        res = client.post(f"{API}/registry/drafts/sources", json=body, headers=who)
        assert res.status_code == 403, res.text
    assert client.get(f"{API}/registry/drafts", headers=member.headers).status_code == 403


def _state(app: FastAPI) -> tuple[int, int]:
    with UnitOfWork(app.state.session_factory) as uow:
        rows = uow.session.scalar(select(func.count(RegistryChange.seq)))
        head = uow.session.scalar(select(func.max(AuditEntry.seq)))
    return int(rows or 0), int(head or 0)


def test_bad_drafts_get_a_located_422_and_change_nothing(
    api_app: FastAPI, client: TestClient, operator: dict[str, str]
) -> None:
    a, b = _editor(client, operator, "alice"), _editor(client, operator, "bob")
    u, src, act = _basis(client, a, b)
    measure = _measure(u, act, src)
    event = dict(measure["events"][0], id=f"ev-{u}")
    cases = [
        # path, body, the field the error names
        ("measures", {**measure, "act": "no-such-act"}, "body.act"),
        ("measures", {**measure, "events": [dict(event, sources=["nope"])]},
         "body.events.0.sources.0"),
        ("measures", {**measure, "jurisdiction": "XX"}, "body.jurisdiction"),
        ("acts", {"id": f"a-{u}", "authority": "M", "jurisdiction": "IS", "title": "T",
                  "announced": "2025-13-01", "sources": [src]}, "body.announced"),
        ("measures/no-such-measure/events", event, "measure_id"),
        (f"measures/is-ga-ban-{u}/events", dict(event, effective="soon"), "body.effective"),
        ("sources", {"id": "s", "publisher": "P", "title": "T"}, "body.published"),
    ]  # fmt: skip
    before = _state(api_app)
    for path, body, field in cases:
        res = client.post(f"{API}/registry/drafts/{path}", json=body, headers=a)
        assert res.status_code == 422, (path, res.text)
        fields = [d["field"] for d in res.json()["error"]["details"]]
        assert field in fields, (path, fields)
    assert _state(api_app) == before


def _page_client(app: FastAPI, token_headers: dict[str, str]) -> TestClient:
    """A browser of its own (its own cookie), signed in with the token."""
    web = TestClient(app)
    token = token_headers["Authorization"].removeprefix("Bearer ")
    res = web.post("/exchange/signin", data={"token": token}, follow_redirects=False)
    assert res.status_code == 303 and res.headers["location"] == "/registry/edit", res.text
    return web


def test_the_editor_page_shows_errors_at_their_fields_and_takes_a_second_editors_approval(
    api_app: FastAPI, client: TestClient, operator: dict[str, str]
) -> None:
    a, b = _editor(client, operator, "alice"), _editor(client, operator, "bob")
    u, src, act = _basis(client, a, b)
    _publish(client, a, b, "measures", _measure(u, act, src))
    alice, bob = _page_client(api_app, a), _page_client(api_app, b)
    before = _state(api_app)
    form = {
        "measure_id": f"is-ga-ban-{u}",
        "id": f"is-ga-ban-{u}-relaxed",
        "kind": "lifted",
        "effective": "2026-13-01",
        "summary": "Lifted",
        "sources": "no-such-source",
    }
    res = alice.post("/registry/edit/events", data=form)
    assert res.status_code == 422
    assert 'data-error-for="effective"' in res.text
    assert _state(api_app) == before
    res = alice.post("/registry/edit/events", data={**form, "effective": "2026-03-01"})
    assert res.status_code == 422
    assert 'data-error-for="sources"' in res.text and "unknown source" in res.text
    assert _state(api_app) == before
    good = {**form, "effective": "2026-03-01", "sources": src}
    res = alice.post("/registry/edit/events", data=good, follow_redirects=False)
    assert res.status_code == 303, res.text
    seq = int(res.headers["location"].rpartition("=")[2])
    # Alice's own approval is refused on the page too; Bob's publishes it.
    assert alice.post(f"/registry/edit/{seq}/approve").status_code == 409
    res = bob.post(f"/registry/edit/{seq}/approve", follow_redirects=False)
    assert res.status_code == 303
    assert f"is-ga-ban-{u}" not in _check(client, a)  # lifted on 2026-03-01


def test_a_member_watching_a_network_is_notified_of_a_ban_reaching_its_plants(
    api_app: FastAPI, client: TestClient, operator: dict[str, str], make_member: Any
) -> None:
    a, b = _editor(client, operator, "alice"), _editor(client, operator, "bob")
    member, other = make_member(), make_member()
    bad = [
        ({"webhook_url": "ftp://x.example/hook"}, "body.webhook_url"),
        ({"scenario": "no-such-network"}, "body.scenario"),
    ]
    for body, field in bad:
        res = client.post(f"{API}/watches", json=body, headers=member.headers)
        assert res.status_code == 422, res.text
        assert field in [d["field"] for d in res.json()["error"]["details"]]
    assert client.post(f"{API}/watches", json={}, headers=a).status_code == 403
    res = client.post(f"{API}/watches", json={"scenario": "auto-2025"}, headers=member.headers)
    assert res.status_code == 201, res.text
    assert len(res.json()["secret"]) == 64
    listed = client.get(f"{API}/watches", headers=member.headers).json()
    assert [w["id"] for w in listed] == [res.json()["id"]] and "secret" not in listed[0]
    u, src, act = _basis(client, a, b)
    # From 2031 (no other test asks about 2031), a CN ban on HS 8541: the Nexperia lane
    # NX-DGN (CN) feeds every ECU maker of auto-2025.
    ban = {
        **_measure(u, act, src),
        "id": f"cn-8541-{u}",
        "jurisdiction": "CN",
        "scope": {"hs_codes": ["8541"]},
        "origins": {"mode": "only", "countries": ["CN"]},
    }
    first = dict(ban["events"][0], id=f"cn-8541-{u}-in", effective="2031-01-01")
    ban["events"] = [first]
    _publish(client, a, b, "measures", ban)
    notes = client.get(f"{API}/notifications", headers=member.headers).json()
    mine = [n for n in notes if n["payload"]["measure_id"] == f"cn-8541-{u}"]
    assert len(mine) == 1 and "OEM-DE" in mine[0]["payload"]["plants"]
    assert client.get(f"{API}/notifications", headers=other.headers).json() == []
    # ...and on the member's exchange page.
    page = _page_client_any(api_app, member.headers)
    html = page.get("/exchange").text
    assert f"cn-8541-{u}" in html and "OEM-DE" in html


def _page_client_any(app: FastAPI, token_headers: dict[str, str]) -> TestClient:
    web = TestClient(app)
    token = token_headers["Authorization"].removeprefix("Bearer ")
    assert web.post("/exchange/signin", data={"token": token}).status_code == 200
    return web
