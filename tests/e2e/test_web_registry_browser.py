"""The registry editor's workflow in real headless Chromium against a real server on SQLite.

The operator issues two editor tokens over the API; editor A drafts an event in the browser
(first with errors, shown at their fields), is refused when approving its own draft, and editor
B approves it; the in-force check over the API then answers with the change. Screenshots go to
``$SUPPLYSHOCK_SCREENSHOTS`` (else the test's temporary folder). Skipped like
test_web_browser.py when Chromium or Playwright is missing.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from supplyshock.server import create_app
from supplyshock.services.demo import seed_demo
from supplyshock.settings import Settings

# Importing the browser test module applies its skip rules here too (no Chromium, no Playwright).
from tests.e2e.test_web_browser import ARGS, CHROMIUM, sync_api

WIDE, NARROW = 1366, 390
ON = "2026-12-01"  # the day the check is asked about; the drafted event takes effect before it
GALLIUM_CN_DE = {
    "date": ON,
    "origin": "CN",
    "destination": "DE",
    "hs_code": "811292",
    "elements": {"Ga": 1.0},
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A uvicorn server on a fresh SQLite file: its address and the operator's token."""
    import uvicorn

    db = tmp_path_factory.mktemp("registry-browser") / "web.db"
    app = create_app(Settings(database_url=f"sqlite:///{db}", rate_limit_per_minute=100_000))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    ready = threading.Event()
    for _ in range(300):  # the lifespan migrates and seeds the registry before it serves
        if srv.started:
            break
        ready.wait(0.05)
    assert srv.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}", seed_demo(app.state.session_factory).operator_token
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("SUPPLYSHOCK_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def api(base: str, token: str, method: str, path: str, **kw: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.request(method, f"{base}/api/v1{path}", headers=headers, timeout=30, **kw)


def issue_editor(base: str, operator: str, label: str) -> tuple[str, str]:
    """A new editor token and how the registry names its holder (``editor:token:<id>``)."""
    res = api(base, operator, "POST", "/tokens", json={"role": "editor", "label": label})
    assert res.status_code == 201, res.text
    return str(res.json()["token"]), f"editor:token:{res.json()['info']['id']}"


def editor_page(browser: Any, base: str, token: str, width: int = WIDE) -> Any:
    """A fresh browser context signed in with ``token``; an editor lands on the editor page."""
    page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{base}/exchange/signin")
    page.fill("#f-token", token)
    page.click("#signin button[type=submit]")
    page.wait_for_url(f"{base}/registry/edit")
    return page


def fill_event(page: Any, **values: str) -> None:
    form = page.locator("#event-form")
    for name, value in values.items():
        box = form.locator(f"[name={name}]")
        if box.evaluate("e => e.tagName") == "SELECT":
            box.select_option(value)
        else:
            box.fill(value)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()


def error_at(page: Any, form: str, field: str) -> str:
    """The message shown inside ``field``'s own box (next to its input), or ''."""
    box = page.locator(f"#{form} [name={field}]").locator("xpath=..")
    errors = box.locator(f'[data-error-for="{field}"]')
    return str(errors.inner_text()) if errors.count() else ""


def gallium_effects(base: str, token: str) -> list[dict[str, Any]]:
    res = api(base, token, "POST", "/registry/check", json=GALLIUM_CN_DE)
    assert res.status_code == 200, res.text
    return list(res.json()["effects"])


def test_an_event_drafted_in_the_browser_is_published_by_a_second_editor(
    server: tuple[str, str], browser: Any, shots: Path
) -> None:
    base, operator = server
    alice, alice_name = issue_editor(base, operator, "alice")
    bob, bob_name = issue_editor(base, operator, "bob")

    # Precondition, from the seeded registry: some measure applies to gallium CN->DE on ON.
    # The draft lifts it the day before, citing one of that measure's own sources.
    before = gallium_effects(base, alice)
    assert before, "the seeded registry has no measure on gallium CN->DE to lift"
    measure, source = before[0]["measure_id"], before[0]["sources"][0]["id"]
    event_id = f"{measure}-lifted-browser-test"

    a = editor_page(browser, base, alice)
    assert a.locator("h1").inner_text() == "Registry editor"
    mine = a.locator("#drafts tr[data-draft]", has_text=event_id)
    assert mine.count() == 0
    a.screenshot(path=shots / "01-editor-page.png", full_page=True)

    # 1. A date that does not exist: the error sits at "effective", the form keeps its input.
    summary = "Licence regime lifted (browser test; not a real event)"
    fill_event(
        a,
        measure_id=measure,
        id=event_id,
        kind="lifted",
        effective="2026-11-31",
        summary=summary,
        sources="no-such-source",
    )
    assert error_at(a, "event-form", "effective").startswith("not a date: write YYYY-MM-DD")
    assert error_at(a, "event-form", "summary") == ""
    assert a.locator("#event-form [name=summary]").input_value() == summary
    assert a.locator("#event-form [name=measure_id]").input_value() == measure
    a.locator("#event-form").scroll_into_view_if_needed()
    a.screenshot(path=shots / "02-error-bad-date.png", full_page=True)

    # 2. The date fixed, the source id is still unknown: now the error sits at "sources".
    fill_event(a, effective="2026-11-30")
    assert error_at(a, "event-form", "effective") == ""
    assert "no-such-source" in error_at(a, "event-form", "sources")
    a.screenshot(path=shots / "03-error-unknown-source.png", full_page=True)
    assert api(base, alice, "GET", "/registry/drafts").json() == []  # nothing was written

    # 3. Fixed: the draft is recorded and waits for a second editor.
    fill_event(a, sources=source)
    notice = a.inner_text("#notice")
    assert "recorded" in notice and "second editor" in notice
    assert mine.count() == 1 and alice_name in mine.inner_text()
    assert "(you)" in mine.inner_text()
    a.screenshot(path=shots / "04-draft-recorded.png", full_page=True)

    # 4. Alice approving her own draft is refused, in words, and the draft stays pending.
    mine.locator("button", has_text="Approve").click()
    a.wait_for_load_state()
    refusal = a.locator("#notice")
    assert "second, different editor" in refusal.inner_text()
    assert "error" in (refusal.get_attribute("class") or "")
    assert mine.count() == 1
    a.screenshot(path=shots / "05-self-approval-refused.png", full_page=True)
    assert [e["measure_id"] for e in gallium_effects(base, alice)] == [
        e["measure_id"] for e in before
    ]

    # 5. Bob sees Alice's draft and approves it.
    b = editor_page(browser, base, bob)
    row = b.locator("#drafts tr[data-draft]", has_text=event_id)
    assert alice_name in row.inner_text() and "(you)" not in row.inner_text()
    b.screenshot(path=shots / "06-second-editor-sees-draft.png", full_page=True)
    row.locator("button", has_text="Approve").click()
    b.wait_for_load_state()
    assert "published" in b.inner_text("#notice") and event_id in b.inner_text("#notice")
    assert row.count() == 0
    b.screenshot(path=shots / "07-approved-published.png", full_page=True)

    # 6. The check now answers with the change: the lifted measure no longer applies on ON,
    # and the change feed names both editors.
    assert measure not in [e["measure_id"] for e in gallium_effects(base, bob)]
    feed: list[dict[str, Any]] = []
    after = 0
    while True:  # the seeded registry comes first: page to the end
        res = api(base, bob, "GET", "/registry/changes", params={"after": after, "limit": 200})
        feed += res.json()["items"]
        if res.json()["next"] is None:
            break
        after = res.json()["next"]
    mine = [c for c in feed if c["key"] == event_id]
    assert [(c["editor"], c["approved_by"], c["parent"]) for c in mine] == [
        (alice_name, bob_name, measure)
    ]


def test_the_editor_page_fits_a_phone_screen(
    server: tuple[str, str], browser: Any, shots: Path
) -> None:
    base, operator = server
    carol = issue_editor(base, operator, "carol")[0]
    # A pending draft, so the drafts table (the widest part) is on the page too.
    draft = {
        "id": "phone-layout-draft",
        "publisher": "Test Gazette",
        "title": "A source left pending to show the drafts table on a phone (test)",
        "published": "2026-11-30",
    }
    assert api(base, carol, "POST", "/registry/drafts/sources", json=draft).status_code == 201
    page = editor_page(browser, base, carol, width=NARROW)
    assert page.locator("#drafts tr[data-draft]", has_text="phone-layout-draft").count() == 1
    fill_event(page, effective="not a date")  # errors make the form taller, not wider
    assert error_at(page, "event-form", "effective")
    page.screenshot(path=shots / "08-editor-page-390px.png", full_page=True)
    # Nothing is wider than the screen: no sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= NARROW
