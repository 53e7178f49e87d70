"""Request limits: a per-token rate limiter, a request-body size cap, and no NUL characters.

The server counts requests in the database (:class:`DatabaseRateLimiter`), so the limit holds
across every worker process and host; :class:`RateLimiter` is the same rule in one process's
memory, for embedding without a shared database.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy import case, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from supplyshock.http.errors import error_response
from supplyshock.store.models import RateLimit


class RateLimited(Exception):
    """A caller used up its requests; ``retry_after`` is in whole seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"rate limit exceeded: retry in {retry_after} s")
        self.retry_after = retry_after


class TooLarge(HTTPException):
    """A request body is larger than the configured maximum.

    An HTTPException, because FastAPI turns any other error met while reading a body into 400.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than {limit} bytes")


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """A token bucket per key: ``per_minute`` requests, refilled continuously.

    A bucket holds at most ``per_minute`` requests, so a quiet caller may burst up to that many
    at once and is then held to the steady rate. ``clock`` is injectable for tests.
    """

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # requests per second
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        # Routes run in a thread pool: two requests of one token must not both take the last unit.
        self._lock = threading.Lock()

    def take(self, key: str) -> None:
        """Spend one request of ``key``'s bucket, or raise :class:`RateLimited`."""
        with self._lock:
            now = self._clock()
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(tokens=self.capacity, at=now)
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return
            wait = (1.0 - bucket.tokens) / self.rate
        raise RateLimited(max(1, math.ceil(wait)))


class DatabaseRateLimiter:
    """:class:`RateLimiter`'s rule, kept in table ``rate_limits``: one UPSERT per request.

    The generic cell rate algorithm (GCRA, ITU-T I.371) is the token bucket written as one
    number per key, the theoretical arrival time :math:`t_a`. With emission interval
    :math:`T = 60 / r` seconds for :math:`r` requests a minute and a bucket of :math:`r`
    requests (:math:`r T = 60` s), a request at time :math:`t` is accepted iff

    .. math:: t_a' = \\max(t_a, t) + T \\le t + 60,

    and then :math:`t_a \\gets t_a'`; otherwise it is refused for :math:`t_a' - t - 60` seconds.
    A new key starts with a full bucket (:math:`t_a = t`). The test and the update are one
    statement (``INSERT ... ON CONFLICT DO UPDATE ... WHERE ... RETURNING``), so two workers
    cannot both take the last unit. ``clock`` is wall-clock seconds (workers on several hosts
    need synchronised clocks); it is injectable for tests.
    """

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.time) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.interval = 60.0 / per_minute
        self.window = 60.0
        self._clock = clock

    def take(self, key: str, *, session: Session) -> None:
        """Spend one request of ``key``'s quota in ``session``'s transaction, or raise."""
        now = self._clock()
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        tat = RateLimit.tat
        next_tat = case((tat > now, tat), else_=now) + self.interval
        # 1 µs of slack: float sums such as 1000.0 + 3 * 20.0 must not refuse an exact fit.
        stmt = (
            insert(RateLimit)
            .values(key=key, tat=now + self.interval)
            .on_conflict_do_update(
                index_elements=[RateLimit.key],
                set_={"tat": next_tat},
                where=next_tat <= now + self.window + 1e-6,
            )
            .returning(tat)
        )
        if session.execute(stmt).first() is not None:
            return
        current = session.scalar(select(tat).where(RateLimit.key == key)) or now
        wait = max(current, now) + self.interval - now - self.window
        raise RateLimited(max(1, math.ceil(wait - 1e-6)))

    def take_and_commit(self, key: str, *, session: Session) -> None:
        """:meth:`take`, then commit ``session``'s transaction (authentication, typically).

        The count must outlive a request that only reads (and never commits), and its row lock
        must not be held while the request works, or every request of one token would queue
        behind its slowest. On PostgreSQL the commit does not wait for its WAL flush: losing
        the last counts in a crash is harmless, waiting for them costs every request.
        """
        self.take(key, session=session)
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SET LOCAL synchronous_commit = off"))
        session.commit()


class BodySizeLimit:
    """ASGI middleware refusing bodies over ``max_bytes`` with 413.

    The declared Content-Length is checked first; a body sent without one (chunked) is counted
    as it streams in, so a client cannot get round the limit by not announcing the size.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    await self._refuse(scope, receive, send)
                    return
        received = 0
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise TooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except TooLarge:
            if response_started:
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(
            413, "too_large", f"request body larger than {self.max_bytes} bytes"
        )
        await response(scope, receive, send)


# A JSON string can carry NUL only as the escape \u0000, preceded by an even number of
# backslashes (an odd number would make it a literal backslash followed by "u0000").
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


async def refuse_nul(request: Request) -> None:
    """Refuse NUL characters anywhere in the input, on every route, with 422.

    PostgreSQL cannot store NUL in text and SQLite can: refusing it here makes both backends
    answer alike, and no service has to think about it. FastAPI has already read (and cached)
    the body when dependencies run, so this costs one scan of at most ``max_request_bytes``.
    """
    problems: list[dict[str, object]] = []
    for name, value in request.path_params.items():
        if "\x00" in str(value):
            problems.append(_nul(("path", name)))
    for name, value in request.query_params.multi_items():
        if "\x00" in name or "\x00" in value:
            problems.append(_nul(("query", name)))
    if request.method in ("POST", "PUT", "PATCH") and _JSON_NUL.search(await request.body()):
        problems.append(_nul(("body",)))
    if problems:
        raise RequestValidationError(problems)


def _nul(loc: tuple[str, ...]) -> dict[str, object]:
    return {"loc": loc, "msg": "NUL characters are not allowed", "type": "nul_character"}
