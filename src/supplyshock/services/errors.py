"""The one error the analysis services raise for a bad request: it names the field."""

from __future__ import annotations

from supplyshock.exchange.errors import ExchangeError


class InvalidRequest(ExchangeError):
    """A request field that the data refuses (an unknown scenario, measure or node).

    ``field`` is the request field's name as the API body names it (``scenario``, ``only``);
    the CLI shows it as its option, the web page next to its input, the API as a 422 at
    ``body.<field>``.
    """

    code = "invalid_request"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.detail = message
