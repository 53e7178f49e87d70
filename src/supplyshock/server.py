"""The application: ``create_app()`` wires settings, the database, limits, the job workers, the
REST API and the web pages into one FastAPI app.

This is the composition root, the one module that knows every shell: api/ and web/ never import
each other, and the CLI starts the server by the factory's import string
(``supplyshock.server:create_app``), not by importing it.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from fastapi import Depends, FastAPI
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from supplyshock import __version__
from supplyshock.api import PREFIX, errors
from supplyshock.api import install as install_api
from supplyshock.http.limits import BodySizeLimit, DatabaseRateLimiter, refuse_nul
from supplyshock.http.transactions import DatabaseSlots, RetryStats, TransactionRetry
from supplyshock.services.demo import DemoSeed, seed_demo
from supplyshock.services.registry_store import seed_if_empty
from supplyshock.settings import Settings, get_settings
from supplyshock.store.db import UnitOfWork, make_server_engine, make_session_factory
from supplyshock.store.migrate import upgrade


def create_app(
    settings: Settings | str | None = None,
    *,
    migrate: bool = True,
    clock: Callable[[], float] | None = None,
    web: bool = True,
) -> FastAPI:
    """The API for ``settings`` (default: the environment's), or for a database URL.

    The database is migrated to the latest revision when the application starts (``migrate``),
    so a fresh deployment needs no separate step. ``clock`` drives the rate limiter (tests:
    seconds; default the wall clock, shared by every worker); ``web`` adds the server-rendered
    pages under ``/`` (see docs/web.md). Called without arguments it is the factory that
    ``supplyshock serve --workers N`` gives each worker process.
    """
    if settings is None:
        settings = get_settings()
    elif isinstance(settings, str):
        settings = get_settings().model_copy(update={"database_url": settings})
    url = settings.resolved_database_url()
    engine = make_server_engine(settings)
    redact_access_log()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Sync routes run in this pool: at most db_pool_size of them hold a connection at once
        # (http/transactions.py), and the rest must still find threads for their own work.
        threads = anyio.to_thread.current_default_thread_limiter()
        threads.total_tokens = max(threads.total_tokens, settings.db_pool_size + 8)
        if migrate:
            await anyio.to_thread.run_sync(_migrate_once, url)
            # The registry lives in the database: seed it from the built-in files when empty.
            await anyio.to_thread.run_sync(_seed_registry, app.state.session_factory)
        from supplyshock.jobs.pool import start_pool  # job workers (docs/jobs.md)

        app.state.jobs = await anyio.to_thread.run_sync(start_pool, settings)
        webhooks = WebhookSender(app.state.session_factory)
        try:
            yield
        finally:
            webhooks.stop()
            app.state.jobs.stop()
            engine.dispose()

    app = FastAPI(
        title="supplyshock",
        version=__version__,
        summary="Anonymous stock exchange, measure registry and exposure analytics.",
        openapi_url=f"{PREFIX}/openapi.json",
        docs_url=None,  # served below from local files: no CDN
        redoc_url=None,
        lifespan=lifespan,
        dependencies=[Depends(refuse_nul)],
        responses={"default": {"model": errors.ErrorResponse, "description": "An error"}},
    )
    app.state.settings = settings
    app.state.session_factory = make_session_factory(engine)
    app.state.rate_limiter = DatabaseRateLimiter(
        settings.rate_limit_per_minute, clock=clock or time.time
    )
    app.state.db_slots = DatabaseSlots(settings.db_pool_size, settings.db_pool_timeout)
    app.state.transaction_retries = RetryStats()
    # Added first, so it runs inside BodySizeLimit: the body it buffers for replays is capped.
    app.add_middleware(
        TransactionRetry,
        attempts=settings.db_retry_attempts,
        stats=app.state.transaction_retries,
    )
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)
    install_api(app)
    _install_docs(app)
    if web:
        from supplyshock.web import install as install_web

        install_web(app)
    return app


DOCS_ASSETS = f"{PREFIX}/docs-assets"


def _install_docs(app: FastAPI) -> None:
    """Swagger UI at ``/api/v1/docs`` with its script and style served by us, not by a CDN
    (the files ship in the fastapi-offline package; only its static folder is used)."""
    import fastapi_offline
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.responses import HTMLResponse
    from fastapi.staticfiles import StaticFiles

    static = Path(fastapi_offline.__file__).parent / "static"
    app.mount(DOCS_ASSETS, StaticFiles(directory=static), name="docs-assets")

    @app.get(f"{PREFIX}/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=f"{PREFIX}/openapi.json",
            title="supplyshock API",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png",
        )


# Names the session advisory lock that lets one worker migrate while the others wait.
_MIGRATE_LOCK_KEY = 0x5355_5050_4D49  # "SUPPMI"


class WebhookSender:
    """Sends due registry notifications by webhook every few seconds, in a daemon thread
    (services/registry_watch.py retries each with backoff; with several workers each round
    locks the rows it sends, skipping those another worker holds, on PostgreSQL)."""

    def __init__(self, factory: sessionmaker[Session], every_s: float = 5.0) -> None:
        import threading

        self._stop = threading.Event()
        self._factory, self._every = factory, every_s
        self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from supplyshock.services.registry_watch import deliver_due

        while not self._stop.wait(self._every):
            try:
                with UnitOfWork(self._factory) as uow:
                    deliver_due(session=uow.session)
                    uow.commit()
            except Exception:  # a bad round must not end the loop; it is logged
                logging.getLogger(__name__).exception("webhook delivery round failed")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def _seed_registry(factory: sessionmaker[Session]) -> None:
    with UnitOfWork(factory) as uow:
        seed_if_empty(session=uow.session)
        uow.commit()


def _migrate_once(url: str) -> None:
    """Migrate; on PostgreSQL one worker at a time, so N workers starting together do not race
    to create the same tables (the later ones find the schema current)."""
    if make_url(url).get_backend_name() != "postgresql":
        upgrade(url)
        return
    lock_engine = create_engine(url, poolclass=NullPool)
    try:
        with lock_engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATE_LOCK_KEY})
            try:
                upgrade(url)
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATE_LOCK_KEY})
    finally:
        lock_engine.dispose()


# A query parameter whose name says it carries a secret, and anything shaped like our tokens.
_SECRET_PARAM = re.compile(
    r"(?i)([?&;][^=&;#\s]*(?:token|key|secret|passw|auth|credential|signature)[^=&;#\s]*=)"
    r"[^&;#\s\"]*"
)
_TOKEN_SHAPE = re.compile(r"ssx_[A-Za-z0-9_\-]+")


class RedactSecrets(logging.Filter):
    """Blanks secrets in a log record's URL: a token sent as ``?token=`` is refused (401), but
    uvicorn's access log writes the full request line before anyone can refuse it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def redact(text: str) -> str:
    return _TOKEN_SHAPE.sub("ssx_[redacted]", _SECRET_PARAM.sub(r"\1[redacted]", text))


_REDACT = RedactSecrets()


def redact_access_log() -> None:
    """Install the filter on uvicorn's access logger (once; every worker calls create_app)."""
    logger = logging.getLogger("uvicorn.access")
    if _REDACT not in logger.filters:
        logger.addFilter(_REDACT)


def demo_app(settings: Settings | None = None) -> tuple[FastAPI, DemoSeed]:
    """The application (API + pages) on a migrated database with the demo data seeded."""
    settings = settings or get_settings()
    upgrade(settings.resolved_database_url())
    app = create_app(settings)
    return app, seed_demo(app.state.session_factory)
