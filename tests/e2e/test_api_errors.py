"""Every error is JSON of one shape, whatever produced it; limits on size and rate hold."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from supplyshock.server import create_app
from tests.e2e.conftest import API, api_settings, bearer, operator_token


def _shape(body: Any) -> dict[str, Any]:
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert set(error) == {"code", "message", "details"}
    assert isinstance(error["code"], str) and isinstance(error["details"], list)
    return error


def test_unknown_path_and_wrong_method_are_json(client: TestClient) -> None:
    missing = client.get(f"{API}/no-such-thing")
    assert missing.status_code == 404
    assert _shape(missing.json())["code"] == "not_found"
    wrong = client.put(f"{API}/health")
    assert wrong.status_code == 405
    assert _shape(wrong.json())["code"] == "method_not_allowed"


def test_malformed_json_is_422_json(client: TestClient, operator: dict[str, str]) -> None:
    res = client.post(
        f"{API}/members",
        content=b"{not json",
        headers={**operator, "Content-Type": "application/json"},
    )
    assert res.status_code == 422
    assert _shape(res.json())["code"] == "invalid_request"


@pytest.fixture
def small_app(db_url: str) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """An app with a 1 KiB body limit, a rate limit of 3 a minute, and a hand-driven clock."""
    now = [1000.0]
    app = create_app(
        api_settings(db_url, max_request_bytes=1024, rate_limit_per_minute=3),
        clock=lambda: now[0],
    )
    app.state.test_clock = now

    @app.get(f"{API}/boom", include_in_schema=False)
    def boom() -> None:
        raise RuntimeError("secret internals /etc/passwd")

    with TestClient(app, raise_server_exceptions=False) as c:
        yield c, bearer(operator_token(app))


def _member_body(size: int) -> dict[str, str]:
    return {"name": "Big", "contact": "x" * size, "country": "DE"}


def test_oversized_body_is_413_json(small_app: tuple[TestClient, dict[str, str]]) -> None:
    client, operator = small_app
    res = client.post(f"{API}/members", json=_member_body(2000), headers=operator)
    assert res.status_code == 413
    assert _shape(res.json())["code"] == "too_large"


def test_oversized_body_without_content_length_is_413_json(
    small_app: tuple[TestClient, dict[str, str]],
) -> None:
    client, operator = small_app

    def chunks() -> Iterator[bytes]:
        yield b'{"name": "Big", "contact": "'
        for _ in range(10):
            yield b"x" * 200
        yield b'", "country": "DE"}'

    res = client.post(
        f"{API}/members",
        content=chunks(),
        headers={**operator, "Content-Type": "application/json"},
    )
    assert "content-length" not in {k.lower() for k in res.request.headers}
    assert res.status_code == 413
    assert _shape(res.json())["code"] == "too_large"


def test_token_is_refused_with_429_and_retry_after_once_its_quota_is_used(
    small_app: tuple[TestClient, dict[str, str]],
) -> None:
    client, operator = small_app
    clock: list[float] = client.app.state.test_clock  # type: ignore[attr-defined]
    for _ in range(3):
        assert client.get(f"{API}/crises", headers=operator).status_code == 200
    res = client.get(f"{API}/crises", headers=operator)
    assert res.status_code == 429
    assert _shape(res.json())["code"] == "rate_limited"
    assert int(res.headers["retry-after"]) == 20  # 3 a minute: one every 20 s
    clock[0] += 20
    assert client.get(f"{API}/crises", headers=operator).status_code == 200


def test_rate_limit_is_per_token(small_app: tuple[TestClient, dict[str, str]]) -> None:
    client, operator = small_app
    for _ in range(3):
        client.get(f"{API}/crises", headers=operator)
    assert client.get(f"{API}/crises", headers=operator).status_code == 429
    other = bearer(operator_token(client.app))  # type: ignore[arg-type]
    assert client.get(f"{API}/crises", headers=other).status_code == 200


def test_unexpected_error_is_500_json_without_internals(
    small_app: tuple[TestClient, dict[str, str]],
) -> None:
    client, _ = small_app
    res = client.get(f"{API}/boom")
    assert res.status_code == 500
    assert _shape(res.json())["code"] == "internal_error"
    assert "passwd" not in res.text and "Traceback" not in res.text


def test_app_accepts_a_database_url(db_url: str) -> None:
    app: FastAPI = create_app(db_url)
    with TestClient(app) as client:
        assert client.get(f"{API}/health").status_code == 200


def test_nul_characters_are_refused_not_a_server_error(
    client: TestClient, operator: dict[str, str]
) -> None:
    # PostgreSQL cannot store NUL in text; SQLite can. Either way the answer is a 4xx.
    res = client.post(
        f"{API}/members",
        json={"name": "Nul\u0000Corp", "contact": "x@y.example", "country": "DE"},
        headers=operator,
    )
    assert 400 <= res.status_code < 500, res.text
    _shape(res.json())
    res = client.get(f"{API}/members/a%00b", headers=operator)
    assert res.status_code in (404, 422), res.text
    _shape(res.json())


def test_nul_in_a_query_parameter_is_refused(client: TestClient, operator: dict[str, str]) -> None:
    res = client.get(f"{API}/tokens", params={"member_id": "a\x00b"}, headers=operator)
    assert res.status_code == 422
    assert _shape(res.json())["details"][0]["field"] == "query.member_id"


def test_a_backslash_followed_by_u0000_is_ordinary_text(
    client: TestClient, operator: dict[str, str]
) -> None:
    name = f"Back\\u0000slash x{uuid.uuid4().hex[:6]}"  # a backslash, then the letters u0000
    res = client.post(
        f"{API}/members",
        json={"name": name, "contact": "x@y.example", "country": "DE"},
        headers=operator,
    )
    assert res.status_code == 201, res.text
    assert res.json()["name"] == name
