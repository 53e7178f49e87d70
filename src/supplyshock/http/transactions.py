"""The request path to the database: admission to the pool, and retrying whole transactions.

Routes and their dependencies are sync and run in anyio's thread pool (40 threads). Were they
to take connections freely, a burst would leave every thread blocked waiting for a connection
held by a request whose next step waits for a thread. Instead each request first takes one of
``db_pool_size`` *slots*, awaited in the event loop (no thread held), and only then opens its
unit of work; with ``max_overflow=0`` a slot always finds a free connection, and a request
never holds more than one. A request that gets no slot within ``db_pool_timeout`` seconds is
answered 503 with ``Retry-After``.

:class:`TransactionRetry` runs a request again, body replayed, when PostgreSQL aborts its
transaction with a serialization failure or a deadlock, up to ``db_retry_attempts`` times with
jittered backoff; then, or for a busy database (statement or lock timeout, pool timeout), it
answers 503 with ``Retry-After``: a client never sees a 500 for either. See docs/exchange.md,
"Request path and concurrency".
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import cast

import anyio
from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from supplyshock.http.errors import error_response
from supplyshock.store.db import is_busy, is_retryable, sqlstate

log = logging.getLogger(__name__)

# Sent on every response whose request was run more than once (for load tests and operators).
RETRIES_HEADER = "X-Transaction-Retries"
RETRY_AFTER_S = 1


class DatabaseBusy(Exception):
    """No database slot came free in time; answered 503 with ``Retry-After``."""


@dataclass
class RetryStats:
    """Counters of one server process: read by tests, and logged."""

    retried: int = 0  # extra attempts made (a request run three times counts 2)
    gave_up: int = 0  # requests answered 503 after their last attempt
    busy: int = 0  # requests answered 503 for a busy database (timeouts)
    by_sqlstate: Counter[str] = field(default_factory=Counter)


class DatabaseSlots:
    """At most ``size`` requests inside the database at once, the rest queued without threads."""

    def __init__(self, size: int, timeout: float) -> None:
        self.size = size
        self.timeout = timeout
        self._semaphore: anyio.Semaphore | None = None

    @property
    def in_use(self) -> int:
        return 0 if self._semaphore is None else self.size - self._semaphore.value

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        # Created on first use: inside the event loop the server runs.
        if self._semaphore is None:
            self._semaphore = anyio.Semaphore(self.size)
        with anyio.move_on_after(self.timeout) as waited:
            await self._semaphore.acquire()
        if waited.cancelled_caught:
            raise DatabaseBusy(f"no database connection free within {self.timeout:g} s")
        try:
            yield
        finally:
            self._semaphore.release()


async def database_slot(request: Request) -> AsyncIterator[None]:
    """Dependency: hold one of the application's database slots for the unit of work."""
    slots = cast(DatabaseSlots, request.app.state.db_slots)
    async with slots.hold():
        yield


class TransactionRetry:
    """ASGI middleware running a request again after a serialization failure or deadlock.

    The request body is read once (``BodySizeLimit``, outside this middleware, caps it) and
    replayed on each attempt. A retry is possible only while no response has started, which holds
    here: the unit of work commits before the response is sent (api/deps.py). The errors must
    reach this middleware: no exception handler may turn them into responses first.
    """

    def __init__(self, app: ASGIApp, attempts: int, stats: RetryStats) -> None:
        self.app = app
        self.attempts = attempts
        self.stats = stats

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:
            return  # the client went away before sending its body: nothing to run
        attempt = 0
        while True:
            attempt += 1
            started = False
            replay = _replayer(body, receive)

            async def tracking_send(message: Message, retried: int = attempt - 1) -> None:
                nonlocal started
                if message["type"] == "http.response.start":
                    started = True
                    if retried:
                        headers = list(message.get("headers", []))
                        headers.append((RETRIES_HEADER.lower().encode(), str(retried).encode()))
                        message = {**message, "headers": headers}
                await send(message)

            try:
                await self.app(scope, replay, tracking_send)
                return
            except Exception as exc:
                if started:
                    raise
                if is_retryable(exc):
                    self.stats.by_sqlstate[sqlstate(exc) or "?"] += 1
                    if attempt < self.attempts:
                        self.stats.retried += 1
                        # Full jitter: 0-20 ms, then 0-40 ms, ... so the colliding
                        # transactions do not collide again in step.
                        await anyio.sleep(random.uniform(0, 0.02 * 2 ** (attempt - 1)))
                        continue
                    self.stats.gave_up += 1
                    log.warning("transaction aborted %d times, answering 503: %s", attempt, exc)
                    await _unavailable(scope, send, "the database is busy: retry shortly")
                    return
                if isinstance(exc, DatabaseBusy) or is_busy(exc):
                    self.stats.busy += 1
                    log.warning("database busy, answering 503: %s", exc)
                    await _unavailable(scope, send, "the database is busy: retry shortly")
                    return
                raise


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replayer(body: bytes, receive: Receive) -> Receive:
    """The whole body as one message, then the client's own messages (its disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _unavailable(scope: Scope, send: Send, message: str) -> None:
    response = error_response(
        503, "unavailable", message, headers={"Retry-After": str(RETRY_AFTER_S)}
    )

    async def no_body() -> Message:
        return {"type": "http.disconnect"}

    await response(scope, no_body, send)
