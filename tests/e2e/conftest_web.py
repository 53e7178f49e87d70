"""Fixtures for the web pages: an app on a fresh SQLite file with the demo members seeded.

The pages call the same services as the API, whose tests run on SQLite and PostgreSQL; the web
tests check the pages themselves, so one embedded database is enough (and keeps them fast).
Imported by the web test modules (``from tests.e2e.conftest_web import ...``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from supplyshock.server import create_app
from supplyshock.services.demo import DemoSeed, seed_demo
from supplyshock.settings import Settings


@pytest.fixture(scope="session")
def web_app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    db = tmp_path_factory.mktemp("web") / "web.db"
    # board_epoch_seconds=0: the board shows a change at the next reading (tests read at once).
    settings = Settings(
        database_url=f"sqlite:///{db}", rate_limit_per_minute=100_000, board_epoch_seconds=0
    )
    return create_app(settings)


@pytest.fixture(scope="session")
def web_client(web_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(web_app) as c:  # runs the lifespan: the database is migrated
        yield c


@pytest.fixture(scope="session")
def demo(web_app: FastAPI, web_client: TestClient) -> DemoSeed:
    return seed_demo(web_app.state.session_factory)


@pytest.fixture
def browser_client(web_app: FastAPI, web_client: TestClient) -> Iterator[TestClient]:
    """A client with a cookie jar of its own: one browser, one signed-in member."""
    with TestClient(web_app) as c:
        yield c


def token_of(demo: DemoSeed, i: int) -> str:
    return list(demo.member_tokens.values())[i]


def listing_form(crisis_id: str, **overrides: str) -> dict[str, str]:
    today = datetime.now(UTC).date()
    fields = {
        "kind": "offer",
        "crisis_id": crisis_id,
        "part_number": "BC847B,215",
        "maker": "Nexperia",
        "quantity": "1000",
        "region": "europe",
        "window_start": today.isoformat(),
        "window_end": (today + timedelta(days=30)).isoformat(),
    }
    fields.update(overrides)
    return fields


def field_errors(html: str) -> dict[str, str]:
    """The errors a page shows next to its fields, by field name."""
    return dict(re.findall(r'data-error-for="([\w_]+)"[^>]*>([^<]*)<', html))


def figures(html: str) -> dict[str, Any]:
    """The plotly figures a page embeds, by the id of the div they are drawn in."""
    import json

    found = re.findall(
        r'<script type="application/json" data-plot="([\w-]+)">(.*?)</script>', html, re.S
    )
    return {name: json.loads(body.replace("<\\/", "</")) for name, body in found}


def artifacts_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import os

    base = os.environ.get("SUPPLYSHOCK_ARTIFACTS")
    root = Path(base) if base else tmp_path_factory.mktemp("artifacts")
    out = root / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    return out
