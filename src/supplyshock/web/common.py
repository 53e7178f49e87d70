"""What every page shares: templates, the unit of work, form bodies, the sign-in cookie."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, cast
from urllib.parse import parse_qsl

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker
from starlette.responses import Response

from supplyshock.exchange.errors import ExchangeError
from supplyshock.exchange.members import authenticate
from supplyshock.exchange.schemas import Principal
from supplyshock.http.limits import DatabaseRateLimiter
from supplyshock.store.db import UnitOfWork

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals["inf"] = float("inf")

COOKIE = "supplyshock_token"
MAX_FORM_BYTES = 64 * 1024


def plotly_js_path() -> Path:
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def figure_json(fig: Any) -> str:
    """A plotly figure as JSON that is safe inside a ``<script>`` element."""
    text = cast(str, fig.to_json())
    return text.replace("</", "<\\/")


@contextmanager
def unit_of_work(request: Request) -> Iterator[UnitOfWork]:
    factory = cast("sessionmaker[Session]", request.app.state.session_factory)
    with UnitOfWork(factory) as uow:
        yield uow


async def _form(request: Request) -> dict[str, str]:
    # A URL-encoded body parsed here: the pages need no multipart support.
    body = (await request.body())[:MAX_FORM_BYTES]
    out: dict[str, str] = {}
    for key, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
        out[key] = f"{out[key]},{value}" if key in out else value
    return out


FormDep = Annotated[dict[str, str], Depends(_form)]


def principal_from_cookie(
    request: Request, session: Session, role: str | None = None
) -> Principal | None:
    """Who is signed in, from the HttpOnly cookie; None if nobody, the token is no good, or
    (when ``role`` is given) the principal holds another role."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    try:
        principal = authenticate(token, session=session)
    except ExchangeError:  # an expired or revoked token just means "signed out"
        return None
    if principal.token_id is not None:
        # The same per-token quota as the API: pages are no way around the rate limit (429).
        limiter = cast(DatabaseRateLimiter, request.app.state.rate_limiter)
        limiter.take_and_commit(principal.token_id, session=session)
    if role is not None and principal.role != role:
        return None
    return principal


def set_token_cookie(response: Response, token: str) -> None:
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", max_age=8 * 3600)


def field_errors(exc: ValidationError) -> dict[str, str]:
    """Pydantic's errors by form field; model-level errors go under the field they name."""
    out: dict[str, str] = {}
    for err in exc.errors():
        loc = [str(x) for x in err["loc"]]
        msg = str(err["msg"]).removeprefix("Value error, ")
        field = loc[0] if loc else "__all__"
        if not loc:
            field = next((f for f in ("window_end", "price_per_unit") if f in msg), "__all__")
        out.setdefault(field, msg)
    return out


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    return templates.TemplateResponse(request, name, context, status_code=status_code)
