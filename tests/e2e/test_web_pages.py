"""The server-rendered pages through an HTTP client: what each page shows and refuses."""

# ruff: noqa: F811  (the fixtures are imported from conftest_web and used as arguments)

from __future__ import annotations

import re
import time

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from supplyshock.data import builtin_registry
from supplyshock.server import create_app, demo_app
from supplyshock.services.demo import DemoSeed, seed_demo
from supplyshock.settings import Settings
from tests.e2e.conftest_web import (  # noqa: F401  (fixtures, used as arguments)
    browser_client,
    demo,
    field_errors,
    figures,
    listing_form,
    token_of,
    web_app,
    web_client,
)


def sign_in(client: TestClient, token: str) -> None:
    res = client.post("/exchange/signin", data={"token": token}, follow_redirects=False)
    assert res.status_code == 303, res.text


def notice(html: str) -> str:
    found = re.search(r'id="notice">([^<]*)<', html)
    return found.group(1) if found else ""


# --- analysis pages -------------------------------------------------------------------------


def test_home_links_every_page(web_client: TestClient) -> None:
    html = web_client.get("/").text
    for path in ("/timeline", "/exposure", "/survival", "/exchange", "/exchange/board"):
        assert f'href="{path}"' in html


def test_charts_use_the_local_plotly_and_no_cdn(web_client: TestClient) -> None:
    js = web_client.get("/assets/plotly.min.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    for page in ("/timeline", "/exposure?date=2025-10-15", "/survival"):
        html = web_client.get(page).text
        assert '<script src="/assets/plotly.min.js">' in html
        assert not re.search(r'src="(https?:)?//', html), page


def test_timeline_colours_events_by_effect_and_draws_the_indicator_series(
    web_client: TestClient,
) -> None:
    res = web_client.get("/timeline")
    assert res.status_code == 200
    fig = figures(res.text)["timeline-chart"]
    names = [t["name"] for t in fig["data"]]
    assert {"imposed", "relaxed", "lifted"} <= set(names)
    events = sum(len(t["x"]) for t in fig["data"] if t["name"] in ("imposed", "relaxed", "lifted"))
    assert events == len(builtin_registry().timeline())
    assert any("magnets destination US" in n for n in names)
    assert any("dysprosium oxide" in n for n in names)


def test_every_timeline_event_links_its_sources(web_client: TestClient) -> None:
    html = web_client.get("/timeline").text
    rows = re.findall(r"<tr>\s*<td>\d{4}-\d\d-\d\d</td>.*?</tr>", html, re.S)
    assert len(rows) == len(builtin_registry().timeline())
    for row in rows:
        assert '<a href="http' in row or re.search(r"<td>[^<]+: [^<]+<br>", row), row


def test_timeline_filter_by_element_keeps_only_its_events(web_client: TestClient) -> None:
    html = web_client.get("/timeline", params={"element": "Dy", "issuer": "CN"}).text
    expected = builtin_registry().timeline(element="Dy", issuer="CN")
    assert 0 < len(expected) < len(builtin_registry().timeline())
    assert f"{len(expected)} events" in html


def test_timeline_bad_filter_shows_the_error_next_to_the_field(web_client: TestClient) -> None:
    res = web_client.get("/timeline", params={"element": "Xx", "hs": "85A"})
    assert res.status_code == 422
    errors = field_errors(res.text)
    assert set(errors) == {"element", "hs"}


def test_exposure_shows_products_by_share_at_risk_paths_and_table(web_client: TestClient) -> None:
    res = web_client.get("/exposure", params={"scenario": "auto-2025", "date": "2025-10-15"})
    assert res.status_code == 200
    figs = figures(res.text)
    bars = figs["exposure-bars"]["data"][0]
    assert bars["type"] == "bar" and any("OEM-DE" in y for y in bars["y"])
    assert max(bars["x"]) > 0  # the Nexperia ban puts supply at risk that day
    sankey = figs["exposure-paths"]["data"][0]
    assert sankey["type"] == "sankey"
    assert "measure cn-nexperia-ban-2025" in sankey["node"]["label"]
    assert any(label.startswith("plant ") for label in sankey["node"]["label"])
    assert 'id="exposure-table"' in res.text and "cn-nexperia-ban-2025" in res.text


def test_exposure_bad_date_and_scenario_show_errors(web_client: TestClient) -> None:
    res = web_client.get("/exposure", params={"scenario": "../etc", "date": "15/10/2025"})
    assert res.status_code == 422
    assert set(field_errors(res.text)) == {"scenario", "date"}


def test_survival_page_shows_the_tts_picture_or_says_it_is_not_available(
    web_client: TestClient,
) -> None:
    html = web_client.get("/survival").text
    assert 'id="tts-table"' in html or 'id="tts-unavailable"' in html
    if 'id="tts-table"' in html:
        assert "tts-chart" in figures(html)


def test_monte_carlo_runs_in_the_background_and_reports_progress(
    browser_client: TestClient, demo: DemoSeed
) -> None:
    web_client = browser_client
    sign_in(web_client, token_of(demo, 0))
    res = web_client.post(
        "/survival/run",
        data={
            "assumptions": "baseline",
            "compare": "nexperia-ban-holds",
            "runs": "40",
            "seed": "3",
        },
        follow_redirects=False,
    )
    assert res.status_code == 303
    page = res.headers["location"]
    job = page.split("job=")[1]
    status = web_client.get(f"/survival/jobs/{job}").json()
    assert status["state"] in ("queued", "running", "done") and 0 <= status["fraction"] <= 1
    for _ in range(600):  # bounded wait for the worker thread; not a timing assertion
        status = web_client.get(f"/survival/jobs/{job}").json()
        if status["state"] in ("done", "failed"):
            break
        time.sleep(0.1)
    assert status["state"] == "done", status
    assert status["fraction"] == 1
    html = web_client.get(page).text
    figs = {k: v for k, v in figures(html).items() if k.startswith("mc-")}
    assert len(figs) == 3  # fan charts, histogram, scenario comparison
    comparison = figs["mc-3"]["data"]
    assert [t["name"] for t in comparison] == ["baseline", "nexperia-ban-holds"]
    assert 'id="mc-table"' in html and "OEM-DE" in html


def test_monte_carlo_needs_a_sign_in(browser_client: TestClient) -> None:
    res = browser_client.post(
        "/survival/run", data={"assumptions": "baseline", "runs": "50", "seed": "0"}
    )
    assert res.status_code == 422
    assert "sign in" in field_errors(res.text)["__all__"]
    assert 'data-job="' not in res.text


def test_monte_carlo_bad_input_shows_errors_and_starts_nothing(
    browser_client: TestClient, demo: DemoSeed
) -> None:
    web_client = browser_client
    sign_in(web_client, token_of(demo, 0))
    res = web_client.post("/survival/run", data={"assumptions": "nope", "runs": "5", "seed": "x"})
    assert res.status_code == 422
    assert set(field_errors(res.text)) == {"assumptions", "runs", "seed"}
    assert 'data-job="' not in res.text


def test_unknown_job_is_not_found(web_client: TestClient) -> None:
    assert web_client.get("/survival/jobs/nope").status_code == 404


# --- exchange pages -------------------------------------------------------------------------


def test_exchange_pages_need_a_sign_in(browser_client: TestClient) -> None:
    for path in ("/exchange", "/exchange/board", "/exchange/operator"):
        res = browser_client.get(path, follow_redirects=False)
        assert res.status_code == 303 and res.headers["location"] == "/exchange/signin"


def test_bad_token_shows_the_error_next_to_the_field(browser_client: TestClient) -> None:
    res = browser_client.post("/exchange/signin", data={"token": "ssx_nope"})
    assert res.status_code == 401
    assert "token" in field_errors(res.text)


def test_token_is_kept_in_an_httponly_cookie_until_sign_out(
    browser_client: TestClient, demo: DemoSeed
) -> None:
    res = browser_client.post(
        "/exchange/signin", data={"token": token_of(demo, 0)}, follow_redirects=False
    )
    cookie = res.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert browser_client.get("/exchange").status_code == 200
    browser_client.post("/exchange/signout")
    res = browser_client.get("/exchange", follow_redirects=False)
    assert res.headers["location"] == "/exchange/signin"


def test_bad_listing_shows_errors_next_to_fields_and_creates_nothing(
    browser_client: TestClient, demo: DemoSeed
) -> None:
    sign_in(browser_client, token_of(demo, 2))
    before = browser_client.get("/exchange").text.count("data-listing=")
    res = browser_client.post(
        "/exchange/listings",
        data=listing_form(demo.crisis_id, quantity="-3", region="mars", date_code="99"),
    )
    assert res.status_code == 422
    errors = field_errors(res.text)
    assert {"quantity", "region", "date_code"} <= set(errors)
    assert 'value="-3"' in res.text  # the form keeps what was typed
    assert browser_client.get("/exchange").text.count("data-listing=") == before


def test_window_end_before_start_is_shown_on_window_end(
    browser_client: TestClient, demo: DemoSeed
) -> None:
    sign_in(browser_client, token_of(demo, 2))
    res = browser_client.post(
        "/exchange/listings",
        data=listing_form(demo.crisis_id, window_start="2030-01-10", window_end="2030-01-01"),
    )
    assert res.status_code == 422
    assert "window_end" in field_errors(res.text)


def test_offer_and_need_match_and_contacts_show_only_after_both_accept(
    web_app: FastAPI, demo: DemoSeed, browser_client: TestClient
) -> None:
    seller, buyer = browser_client, TestClient(web_app)  # two cookie jars, two members
    part = "PMEG3010,115"
    sign_in(seller, token_of(demo, 0))
    res = seller.post("/exchange/listings", data=listing_form(demo.crisis_id, part_number=part))
    assert "posted" in notice(res.text)
    sign_in(buyer, token_of(demo, 1))
    res = buyer.post(
        "/exchange/listings",
        data=listing_form(
            demo.crisis_id, kind="need", part_number=part, quantity="400", days_of_supply="3"
        ),
    )
    match = re.search(r'<tr data-match="(\w+)">(.*?)</tr>', res.text, re.S)
    assert match, res.text
    match_id, row = match.groups()
    assert "proposed" in row and "allocation@tier1.example" not in res.text
    res = buyer.post(f"/exchange/matches/{match_id}/accept")
    assert "interested" in notice(res.text)
    assert "purchasing@nordwerk.example" not in res.text  # one side is not enough
    res = seller.post(f"/exchange/matches/{match_id}/accept")
    assert "revealed" in notice(res.text)
    assert "allocation@tier1.example" in res.text  # the seller sees the buyer's contact
    assert "purchasing@nordwerk.example" in buyer.get("/exchange").text


def test_member_amends_and_withdraws_a_listing(browser_client: TestClient, demo: DemoSeed) -> None:
    sign_in(browser_client, token_of(demo, 2))
    res = browser_client.post(
        "/exchange/listings", data=listing_form(demo.crisis_id, part_number="PMV20XN")
    )
    listing_id = notice(res.text).split()[1]
    form = browser_client.get(f"/exchange/listings/{listing_id}")
    assert form.status_code == 200 and 'value="1000"' in form.text
    bad = browser_client.post(
        f"/exchange/listings/{listing_id}",
        data={"quantity": "lots", "region": "europe"},
    )
    assert bad.status_code == 422 and "quantity" in field_errors(bad.text)
    res = browser_client.post(
        f"/exchange/listings/{listing_id}", data={"quantity": "1500", "region": "east-asia"}
    )
    assert "amended" in notice(res.text)
    assert re.search(rf'data-listing="{listing_id}">.*?1,500.*?east-asia', res.text, re.S)
    res = browser_client.post(f"/exchange/listings/{listing_id}/withdraw")
    assert "withdrawn" in notice(res.text)
    assert re.search(rf'data-listing="{listing_id}">.*?withdrawn', res.text, re.S)


def test_board_marks_cells_with_too_few_members_as_suppressed(
    browser_client: TestClient, demo: DemoSeed
) -> None:
    sign_in(browser_client, token_of(demo, 2))
    browser_client.post(
        "/exchange/listings",
        data=listing_form(demo.crisis_id, kind="need", part_number="BZX84-C5V1"),
    )
    html = browser_client.get("/exchange/board", params={"crisis": demo.crisis_id}).text
    row = re.search(r"<tr><td>[^<]*</td><td>BZX84-C5V1.*?</tr>", html, re.S)
    assert row, html
    assert "suppressed (min_members)" in row.group(0)
    assert "Demo Distributor Hansa" not in html


def test_operator_adds_a_member_issues_a_token_and_verifies_the_audit_chain(
    browser_client: TestClient, demo: DemoSeed
) -> None:
    sign_in(browser_client, demo.operator_token)
    bad = browser_client.post(
        "/exchange/operator/members", data={"name": "", "contact": "x", "country": "ZZ"}
    )
    assert bad.status_code == 422 and {"name", "country"} <= set(field_errors(bad.text))
    res = browser_client.post(
        "/exchange/operator/members",
        data={"name": "Web Test Member", "contact": "w@t.example", "country": "FR"},
    )
    member_id = re.search(r"<tr><td>(\w+)</td><td>Web Test Member</td>", res.text)
    assert member_id
    res = browser_client.post(
        "/exchange/operator/tokens", data={"member_id": member_id.group(1), "role": "member"}
    )
    token = re.search(r'<code class="token">(ssx_[\w-]+)</code>', res.text)
    assert token
    res = browser_client.post("/exchange/operator/audit")
    assert re.search(r'id="audit">Audit chain: \d+ entries,\s*<b class="ok">intact', res.text)
    # The new token signs its member in.
    browser_client.post("/exchange/signout")
    sign_in(browser_client, token.group(1))
    assert browser_client.get("/exchange").status_code == 200


def test_members_cannot_open_the_operator_desk(browser_client: TestClient, demo: DemoSeed) -> None:
    sign_in(browser_client, token_of(demo, 0))
    res = browser_client.get("/exchange/operator", follow_redirects=False)
    assert res.status_code == 303 and res.headers["location"] == "/exchange/signin"
    res = browser_client.post(
        "/exchange/operator/members",
        data={"name": "Sneaky", "contact": "s@x.example", "country": "DE"},
        follow_redirects=False,
    )
    assert res.status_code == 303


def test_demo_seed_reuses_members_and_issues_working_tokens(
    web_app: FastAPI, demo: DemoSeed, browser_client: TestClient
) -> None:
    again = seed_demo(web_app.state.session_factory)
    assert again.crisis_id == demo.crisis_id
    assert set(again.member_tokens) == set(demo.member_tokens)
    assert again.member_tokens != demo.member_tokens
    sign_in(browser_client, token_of(again, 0))
    assert browser_client.get("/exchange").status_code == 200


def test_a_running_job_shows_a_progress_bar_that_the_page_polls(
    web_app: FastAPI, browser_client: TestClient, demo: DemoSeed
) -> None:
    # A job some worker is running (its heartbeat fresh), 3 of 10 steps done, owned by the
    # signed-in member: the page shows a bar at 3 / 10 = 0.3 and polls it.
    from supplyshock.exchange.members import authenticate
    from supplyshock.jobs.records import now, owner_of
    from supplyshock.store.db import UnitOfWork
    from supplyshock.store.models import JobRecord

    with UnitOfWork(web_app.state.session_factory) as uow:
        owner = owner_of(authenticate(token_of(demo, 0), session=uow.session))
        job = JobRecord(
            kind="montecarlo",
            owner=owner,
            state="running",
            params={"scenario": "auto-2025", "assumptions": "baseline", "runs": 40, "seed": 0},
            done=3,
            total=10,
            cancel_requested=False,
            worker="elsewhere/0",
            started_at=now(),
            heartbeat_at=now(),
        )
        uow.session.add(job)
        uow.commit()
    sign_in(browser_client, token_of(demo, 0))
    status = browser_client.get(f"/survival/jobs/{job.id}").json()
    assert status["state"] == "running" and status["fraction"] == 0.3
    html = browser_client.get("/survival", params={"job": job.id}).text
    assert f'data-job="{job.id}"' in html and "<progress" in html
    assert 'id="mc-table"' not in html
    # Someone else (here: nobody signed in) cannot see it.
    with TestClient(web_app) as stranger:
        assert stranger.get(f"/survival/jobs/{job.id}").status_code == 404


def test_signed_in_pages_count_against_the_token_rate_limit(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    db = tmp_path_factory.mktemp("limited") / "web.db"
    app = create_app(Settings(database_url=f"sqlite:///{db}", rate_limit_per_minute=3))
    with TestClient(app) as client:
        seed = seed_demo(app.state.session_factory)
        sign_in(client, token_of(seed, 0))  # the sign-in itself is not counted
        codes = [client.get("/exchange").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


def test_demo_app_migrates_seeds_and_serves_the_pages(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    db = tmp_path_factory.mktemp("demo") / "web.db"
    app, seed = demo_app(Settings(database_url=f"sqlite:///{db}"))
    assert len(seed.member_tokens) == 3
    with TestClient(app) as client:
        assert client.get("/").status_code == 200
        sign_in(client, token_of(seed, 0))
        assert "Nexperia chips 2025 (demo)" in client.get("/exchange").text
