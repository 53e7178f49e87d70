"""Errors the exchange services raise, each with a stable code the API and CLI can show."""

from __future__ import annotations


class ExchangeError(Exception):
    """A refused request. ``code`` is stable and machine-readable; the message is for people."""

    code = "exchange_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class Unauthenticated(ExchangeError):
    code = "unauthenticated"


class Forbidden(ExchangeError):
    code = "forbidden"


class NotFound(ExchangeError):
    """Also raised for other members' rows, so that their existence does not leak."""

    code = "not_found"


class Conflict(ExchangeError):
    """Someone else changed the row first (version mismatch) or a unique name is taken."""

    code = "conflict"


class RuleViolation(ExchangeError):
    """A competition-law safeguard or exchange rule refuses the request (see docs/exchange.md)."""

    code = "rule_violation"
