"""The pages in real headless Chromium against a real uvicorn server; screenshots are kept.

Debian's ``chromium`` at /usr/bin/chromium is driven by Playwright (``playwright install`` is
never run). Screenshots go to ``$SUPPLYSHOCK_ARTIFACTS/screenshots`` (else a temporary folder).
"""

from __future__ import annotations

import socket
import threading
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from supplyshock.server import create_app
from supplyshock.services.demo import DemoSeed, seed_demo
from supplyshock.settings import Settings
from tests.e2e.conftest_web import artifacts_dir

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

if not CHROMIUM.exists():  # pragma: no cover - depends on the machine
    message = f"BROWSER TESTS SKIPPED: {CHROMIUM} is missing (apt-get install chromium)"
    warnings.warn(message, stacklevel=1)
    pytest.skip(message, allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api", reason="BROWSER TESTS SKIPPED: no playwright")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, DemoSeed]]:
    import uvicorn

    db = tmp_path_factory.mktemp("browser") / "web.db"
    app = create_app(Settings(database_url=f"sqlite:///{db}", rate_limit_per_minute=100_000))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    ready = threading.Event()
    for _ in range(300):  # the lifespan migrates the database before the server starts
        if srv.started:
            ready.set()
            break
        ready.wait(0.05)
    assert srv.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}", seed_demo(app.state.session_factory)
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return artifacts_dir(tmp_path_factory)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    p = ctx.new_page()
    p.set_default_timeout(20_000)
    yield p
    ctx.close()


def sign_in(page: Any, base: str, token: str) -> None:
    page.goto(f"{base}/exchange/signin")
    page.fill("#f-token", token)
    page.click("#signin button[type=submit]")
    page.wait_for_url(f"{base}/exchange")


def post_listing(page: Any, crisis_id: str, kind: str, part: str, qty: int, **extra: str) -> None:
    today = datetime.now(UTC).date()
    form = page.locator("#new-listing")
    form.locator("#f-kind").select_option(kind)
    form.locator("#f-crisis_id").select_option(crisis_id)
    page.fill("#f-part_number", part)
    page.fill("#f-maker", "Nexperia")
    page.fill("#f-quantity", str(qty))
    page.fill("#f-window_start", today.isoformat())
    page.fill("#f-window_end", (today + timedelta(days=20)).isoformat())
    for field, value in extra.items():
        page.fill(f"#f-{field}", value)
    form.locator("button[type=submit]").click()


def plotted_traces(page: Any, selector: str) -> int:
    page.wait_for_selector(f"{selector}.js-plotly-plot")
    return int(page.evaluate(f"document.querySelector('{selector}').data.length"))


def test_two_members_match_accept_and_see_each_others_contact(
    server: tuple[str, DemoSeed], browser: Any, shots: Path
) -> None:
    base, demo = server
    seller_token, buyer_token = list(demo.member_tokens.values())[:2]
    seller = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    buyer = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()

    seller.goto(f"{base}/exchange/signin")
    seller.screenshot(path=shots / "01-signin.png")
    sign_in(seller, base, seller_token)
    post_listing(seller, demo.crisis_id, "offer", "BUK7Y4R8-60E", 5000)
    assert "posted" in seller.inner_text("#notice")

    sign_in(buyer, base, buyer_token)
    post_listing(buyer, demo.crisis_id, "need", "BUK7Y4R8-60E", 2000, days_of_supply="5")
    row = buyer.locator("#matches tbody tr").first
    assert "proposed" in row.inner_text()
    buyer.screenshot(path=shots / "02-exchange-match-proposed.png", full_page=True)
    row.locator("button", has_text="Accept").click()  # the need's holder first
    assert "interested" in buyer.inner_text("#notice")
    assert buyer.locator(".reveal").count() == 0

    seller.goto(f"{base}/exchange")
    seller.locator("#matches tbody tr").first.locator("button", has_text="Accept").click()
    assert "revealed" in seller.inner_text("#notice")
    assert seller.inner_text("#matches .contact") == "allocation@tier1.example"
    seller.screenshot(path=shots / "03-exchange-revealed-seller.png", full_page=True)

    buyer.goto(f"{base}/exchange")
    assert buyer.inner_text("#matches .contact") == "purchasing@nordwerk.example"

    buyer.goto(f"{base}/exchange/board")
    assert buyer.locator("#board").is_visible()
    buyer.screenshot(path=shots / "04-board.png", full_page=True)


def test_bad_listing_shows_the_error_next_to_the_field(
    server: tuple[str, DemoSeed], page: Any, shots: Path
) -> None:
    base, demo = server
    sign_in(page, base, list(demo.member_tokens.values())[2])
    post_listing(page, demo.crisis_id, "offer", "BAS16,215", 0, date_code="20x1")
    error = page.locator('[data-error-for="quantity"]')
    assert "greater than 0" in error.inner_text()
    # The message sits in the quantity field's own box, right under its input.
    box = page.locator("#f-quantity").locator("xpath=..")
    assert box.locator(".error").inner_text() == error.inner_text()
    assert page.locator('[data-error-for="date_code"]').is_visible()
    page.locator("#new-listing").scroll_into_view_if_needed()
    page.screenshot(path=shots / "05-listing-error.png", full_page=True)


def test_timeline_and_exposure_charts_render_data(
    server: tuple[str, DemoSeed], page: Any, shots: Path
) -> None:
    base, _ = server
    page.goto(f"{base}/")
    page.screenshot(path=shots / "00-home.png")
    page.goto(f"{base}/timeline")
    assert plotted_traces(page, "#timeline-chart") >= 5
    assert page.locator("#events tbody tr").count() > 10
    page.screenshot(path=shots / "06-timeline.png")

    page.goto(f"{base}/exposure?scenario=auto-2025&date=2025-10-15")
    assert plotted_traces(page, "#exposure-bars") == 1
    assert plotted_traces(page, "#exposure-paths") == 1
    # The sankey drew its nodes, not just an empty frame.
    assert page.locator("#exposure-paths .sankey-node").count() > 5
    page.screenshot(path=shots / "07-exposure.png", full_page=True)


def test_monte_carlo_runs_in_the_background_then_shows_fan_charts(
    server: tuple[str, DemoSeed], page: Any, shots: Path
) -> None:
    base, demo = server
    sign_in(page, base, list(demo.member_tokens.values())[0])  # running costs CPU: a token
    page.goto(f"{base}/survival")
    page.fill("#f-runs", "60")
    page.locator("#f-compare").select_option(["rare-earth-approvals-25"])
    page.click("#simulate button[type=submit]")
    # The page reloads itself once the background job is done (progress is polled meanwhile).
    page.wait_for_selector("#mc-table", timeout=60_000)
    assert plotted_traces(page, "#mc-1") > 0
    assert plotted_traces(page, "#mc-3") == 2  # baseline vs the compared scenario
    page.screenshot(path=shots / "08-survival-montecarlo.png", full_page=True)


def test_operator_desk_verifies_the_audit_chain(
    server: tuple[str, DemoSeed], page: Any, shots: Path
) -> None:
    base, demo = server
    page.goto(f"{base}/exchange/signin")
    page.fill("#f-token", demo.operator_token)
    page.click("#signin button[type=submit]")
    page.wait_for_url(f"{base}/exchange/operator")
    page.click("text=Verify the hash chain")
    assert "intact" in page.inner_text("#audit")
    page.screenshot(path=shots / "09-operator.png", full_page=True)
