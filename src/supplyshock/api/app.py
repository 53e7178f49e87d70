"""The FastAPI application: ``create_app()`` wires settings, the database, limits and routers."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import Depends, FastAPI

from supplyshock import __version__
from supplyshock.api import errors
from supplyshock.api.limits import BodySizeLimit, RateLimiter, refuse_nul
from supplyshock.api.routers import ROUTERS
from supplyshock.settings import Settings, get_settings
from supplyshock.store.db import make_engine, make_session_factory
from supplyshock.store.migrate import upgrade

PREFIX = "/api/v1"


def create_app(
    settings: Settings | str | None = None,
    *,
    migrate: bool = True,
    clock: Callable[[], float] | None = None,
    web: bool = True,
) -> FastAPI:
    """The API for ``settings`` (default: the environment's), or for a database URL.

    The database is migrated to the latest revision when the application starts (``migrate``),
    so a fresh deployment needs no separate step. ``clock`` drives the rate limiter (tests);
    ``web`` adds the server-rendered pages under ``/`` (see docs/web.md).
    """
    if settings is None:
        settings = get_settings()
    elif isinstance(settings, str):
        settings = get_settings().model_copy(update={"database_url": settings})
    url = settings.resolved_database_url()
    engine = make_engine(url)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if migrate:
            await anyio.to_thread.run_sync(upgrade, url)
        try:
            yield
        finally:
            engine.dispose()

    app = FastAPI(
        title="supplyshock",
        version=__version__,
        summary="Anonymous stock exchange, measure registry and exposure analytics.",
        openapi_url=f"{PREFIX}/openapi.json",
        docs_url=f"{PREFIX}/docs",
        redoc_url=None,
        lifespan=lifespan,
        dependencies=[Depends(refuse_nul)],
        responses={"default": {"model": errors.ErrorResponse, "description": "An error"}},
    )
    app.state.settings = settings
    app.state.session_factory = make_session_factory(engine)
    app.state.rate_limiter = RateLimiter(
        settings.rate_limit_per_minute, clock=clock or time.monotonic
    )
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router, prefix=PREFIX)
    if web:
        from supplyshock.web import install

        install(app)
    return app
