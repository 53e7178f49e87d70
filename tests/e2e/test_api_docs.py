"""The API's documentation page works offline: Swagger UI's files come from this server."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.e2e.conftest import API


def test_swagger_ui_is_served_without_a_cdn(client: TestClient) -> None:
    page = client.get(f"{API}/docs")
    assert page.status_code == 200
    assert "cdn." not in page.text and "unpkg" not in page.text
    scripts = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', page.text)
    assert scripts, page.text[:500]
    for url in scripts:
        assert url.startswith(f"{API}/docs-assets/"), url
        asset = client.get(url)
        assert asset.status_code == 200 and len(asset.content) > 10_000, url
    # The page points at our OpenAPI document, which Swagger UI 5 renders (OpenAPI 3.1).
    assert f"{API}/openapi.json" in page.text
    assert client.get(f"{API}/openapi.json").json()["openapi"].startswith("3.1")
