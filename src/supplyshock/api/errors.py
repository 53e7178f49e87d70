"""Every error the API returns, as JSON of one shape: ``{"error": {code, message, details}}``.

Service errors keep their stable codes; the HTTP status comes from their class. Unexpected
errors are logged here and answered with 500 and no traceback, so nothing internal leaks.
Database errors that mean "busy" or "run it again" (deadlock, serialization failure, timeouts)
have no handler here on purpose: http/transactions.py retries them or answers 503.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException

from supplyshock.exchange.errors import (
    Conflict,
    ExchangeError,
    Forbidden,
    NotFound,
    RuleViolation,
    Unauthenticated,
)
from supplyshock.http.errors import error_response
from supplyshock.http.limits import RateLimited

log = logging.getLogger(__name__)

# Most specific first: a subclass of one of these gets its parent's status.
_STATUS: tuple[tuple[type[ExchangeError], int], ...] = (
    (Unauthenticated, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (RuleViolation, 422),
)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    503: "unavailable",
}


class ErrorDetail(BaseModel):
    """The error itself; ``details`` lists per-field problems (``field``, ``message``, ``type``)."""

    code: str
    message: str
    details: list[dict[str, Any]]


class ErrorResponse(BaseModel):
    """The body of every error answer."""

    error: ErrorDetail


def status_of(exc: ExchangeError) -> int:
    for cls, status in _STATUS:
        if isinstance(exc, cls):
            return status
    return 400


def _field_problems(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Pydantic's errors as ``{"field": "body.quantity", "message", "type"}``.

    Pydantic's ``ctx``/``input`` may hold exceptions or the rejected input itself: neither is
    JSON-safe nor worth echoing back, so only the location, message and type go out.
    """
    out: list[dict[str, Any]] = []
    for e in errors:
        loc = [str(p) for p in e.get("loc", ())]
        out.append(
            {
                "field": ".".join(loc),
                "loc": loc,
                "message": str(e.get("msg", "")).removeprefix("Value error, "),
                "type": str(e.get("type", "")),
            }
        )
    return out


async def _exchange_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ExchangeError)
    status = status_of(exc)
    # RFC 9110: a 401 names the scheme the client should use.
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    # Some errors list their problems (a Catena-X payload's, each with its JSON path).
    details: Sequence[Mapping[str, Any]] = getattr(exc, "details", ())
    return error_response(status, exc.code, exc.message, details, headers=headers)


async def _request_invalid(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    found = exc.errors()
    return error_response(
        422,
        "invalid_request",
        f"{len(found)} invalid field(s) in the request",
        _field_problems(found),
    )


async def _model_invalid(_: Request, exc: Exception) -> JSONResponse:
    # A service validating derived input (e.g. a model built from path and body together).
    assert isinstance(exc, ValidationError)
    found = exc.errors()
    return error_response(
        422, "invalid_request", f"{len(found)} invalid field(s)", _field_problems(found)
    )


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return error_response(exc.status_code, code, message, headers=exc.headers)


async def _rate_limited(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RateLimited)
    return error_response(
        429, "rate_limited", str(exc), headers={"Retry-After": str(exc.retry_after)}
    )


async def _integrity_error(_: Request, exc: Exception) -> JSONResponse:
    # A concurrent writer won a unique or foreign-key race the service had checked for; the
    # unit of work has rolled back. The database's own message names tables: keep it in the log.
    log.info("integrity error answered with 409: %s", exc)
    return error_response(409, "conflict", "the request conflicts with a concurrent change")


async def _data_error(_: Request, exc: Exception) -> JSONResponse:
    # A value the schemas let through but the database cannot store (out of range for the
    # column type, say). The unit of work has rolled back; the driver's message stays in the log.
    log.info("data error answered with 422: %s", exc)
    return error_response(422, "invalid_value", "a value in the request cannot be stored")


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "internal error; it has been logged")


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into the JSON error shape."""
    app.add_exception_handler(ExchangeError, _exchange_error)
    app.add_exception_handler(RequestValidationError, _request_invalid)
    app.add_exception_handler(ValidationError, _model_invalid)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RateLimited, _rate_limited)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(Exception, _unexpected)
