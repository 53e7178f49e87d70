"""FastAPI dependencies: one unit of work per request, and the principal behind a bearer token.

Routes take ``session: SessionDep`` and ``principal: PrincipalDep``; both share the request's
single session, which holds one of the server's database slots (http/transactions.py) from its
first statement to its commit. Authentication and the rate-limit count are a short transaction
of their own, committed before the route starts: the count's row lock must not be held while
the route works, or every request of one token would queue behind the slowest.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, cast

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from supplyshock.exchange.errors import Unauthenticated
from supplyshock.exchange.members import authenticate
from supplyshock.exchange.schemas import Principal
from supplyshock.http.limits import DatabaseRateLimiter
from supplyshock.http.transactions import database_slot
from supplyshock.store.db import UnitOfWork

# auto_error=False: a missing header must give our JSON 401, not FastAPI's own 403.
bearer = HTTPBearer(auto_error=False, description="An API token: `Authorization: Bearer ssx_…`")


def session_factory(request: Request) -> sessionmaker[Session]:
    """The session factory create_app put on the application state."""
    return cast("sessionmaker[Session]", request.app.state.session_factory)


def db_session(
    request: Request, _slot: Annotated[None, Depends(database_slot, scope="function")]
) -> Iterator[Session]:
    """A session inside a unit of work: committed if the route returns, rolled back if it raises.

    Used with ``scope="function"`` (see :data:`SessionDep`) so that the commit happens before the
    response is sent: a commit that fails must turn into an error response, not a lie. The
    request holds one database slot from before the session opens until after it closes.
    """
    with UnitOfWork(session_factory(request)) as uow:
        yield uow.session
        uow.commit()


SessionDep = Annotated[Session, Depends(db_session, scope="function")]


def current_principal(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> Principal:
    """Who is calling, from ``Authorization: Bearer <token>``; then one request of their quota.

    Raises :class:`Unauthenticated` (401) for a missing, malformed, unknown, expired or revoked
    token, and :class:`~supplyshock.http.limits.RateLimited` (429) once the token's quota is used.
    """
    if credentials is None or not credentials.credentials:
        raise Unauthenticated("missing bearer token: send 'Authorization: Bearer <token>'")
    principal = authenticate(credentials.credentials, session=session)
    limiter = cast(DatabaseRateLimiter, request.app.state.rate_limiter)
    assert principal.token_id is not None  # authenticate() always names the token
    limiter.take_and_commit(principal.token_id, session=session)
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]
