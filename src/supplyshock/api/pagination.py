"""Pages of list answers: ``?limit&cursor`` (or ``?offset``) in, ``{"items", "next"}`` out.

The cursor names the last item handed out, so a walk neither repeats nor skips an item when
rows are added before it meanwhile (new listings come first); it falls back to the position it
also records if that item has gone. Cursors are opaque to clients: base64url of a small JSON.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel

from supplyshock.exchange.errors import ExchangeError

T = TypeVar("T")

MAX_LIMIT = 200
DEFAULT_LIMIT = 50


class InvalidCursor(ExchangeError):
    code = "invalid_cursor"


class Page(BaseModel, Generic[T]):
    """One page of a list; ``next`` is the cursor of the following page, null on the last."""

    items: list[T]
    next: str | None


@dataclass(frozen=True)
class PageParams:
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None
    offset: int | None = None


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")] = (
        DEFAULT_LIMIT
    ),
    cursor: Annotated[
        str | None, Query(max_length=200, description="The `next` of the previous page.")
    ] = None,
    offset: Annotated[
        int | None, Query(ge=0, le=1_000_000, description="Skip this many items (no cursor).")
    ] = None,
) -> PageParams:
    if cursor is not None and offset is not None:
        raise InvalidCursor("give cursor or offset, not both")
    return PageParams(limit=limit, cursor=cursor, offset=offset)


PageDep = Annotated[PageParams, Depends(page_params)]


def encode_cursor(after: str, position: int) -> str:
    raw = json.dumps({"a": after, "p": position}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        after, position = data["a"], data["p"]
    except (binascii.Error, ValueError, KeyError, TypeError) as e:
        raise InvalidCursor("malformed cursor: pass the `next` of a previous page") from e
    if not isinstance(after, str) or not isinstance(position, int) or position < 0:
        raise InvalidCursor("malformed cursor: pass the `next` of a previous page")
    return after, position


def paginate(items: Sequence[T], params: PageParams, key: Callable[[T], str]) -> Page[T]:
    """The page of ``items`` (in their given, stable order) that ``params`` asks for."""
    start = params.offset or 0
    if params.cursor is not None:
        after, position = decode_cursor(params.cursor)
        keys = [key(x) for x in items]
        start = keys.index(after) + 1 if after in keys else position
    chunk = list(items[start : start + params.limit])
    end = start + len(chunk)
    more = end < len(items)
    nxt = encode_cursor(key(chunk[-1]), end) if more and chunk else None
    return Page[T](items=chunk, next=nxt)
