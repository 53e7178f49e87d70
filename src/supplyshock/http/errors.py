"""The one JSON error shape, ``{"error": {code, message, details}}``, with capped details."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi.responses import JSONResponse

# At most this many problems in one answer: a body of 12,000 unknown fields would otherwise be
# answered with 1.4 MB. The message still gives the total.
MAX_DETAILS = 50


def error_response(
    status: int,
    code: str,
    message: str,
    details: Sequence[Mapping[str, Any]] = (),
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """The JSON error; ``details`` beyond :data:`MAX_DETAILS` become one ``more_problems``
    entry with their ``count``."""
    listed = [dict(d) for d in details[:MAX_DETAILS]]
    if len(details) > MAX_DETAILS:
        rest = len(details) - MAX_DETAILS
        listed.append(
            {
                "field": "",
                "loc": [],
                "message": f"{rest} more problem(s) not listed",
                "type": "more_problems",
                "count": rest,
            }
        )
    body = {"error": {"code": code, "message": message, "details": listed}}
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))
