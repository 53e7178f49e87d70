"""``supplyshock serve`` hands the API application to uvicorn and says where it listens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from typer.testing import CliRunner
from uvicorn.importer import import_from_string

from supplyshock.cli import app
from supplyshock.settings import get_settings


def test_serve_runs_the_api_on_the_given_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUPPLYSHOCK_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SUPPLYSHOCK_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda target, **kw: calls.append({"app": target, **kw}))
    try:
        res = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0", "--port", "8123"])
    finally:
        get_settings.cache_clear()
    assert res.exit_code == 0, res.output
    assert "http://0.0.0.0:8123/api/v1" in res.output
    [call] = calls
    # Workers build the application from the factory's import string (server.py), so the CLI
    # never imports another shell; resolve it as uvicorn does.
    assert call["app"] == "supplyshock.server:create_app" and call["factory"] is True
    assert (call["host"], call["port"]) == ("0.0.0.0", 8123)
    built = import_from_string(call["app"])()
    assert isinstance(built, FastAPI)
    assert built.openapi_url == "/api/v1/openapi.json"
