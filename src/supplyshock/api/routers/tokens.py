"""``/tokens``: the operator issues, lists and revokes API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from supplyshock.api.deps import PrincipalDep, SessionDep
from supplyshock.api.pagination import Page, PageDep, paginate
from supplyshock.exchange import members
from supplyshock.exchange.schemas import TokenIssue, TokenIssued, TokenPublic

router = APIRouter(prefix="/tokens", tags=["tokens (operator)"])


@router.post(
    "",
    response_model=TokenIssued,
    status_code=status.HTTP_201_CREATED,
    summary="Issue a token; its plaintext is in this answer only",
)
def issue_token(data: TokenIssue, session: SessionDep, who: PrincipalDep) -> TokenIssued:
    return members.issue_token(session=session, actor=who, data=data)


@router.get("", response_model=Page[TokenPublic], summary="List tokens, oldest first")
def list_tokens(
    session: SessionDep,
    who: PrincipalDep,
    page: PageDep,
    member_id: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
) -> Page[TokenPublic]:
    rows = members.list_tokens(session=session, actor=who, member_id=member_id)
    return paginate(rows, page, lambda t: t.id)


@router.post(
    "/{token}/revoke",
    response_model=TokenPublic,
    summary="Revoke a token by id or prefix (revoking twice keeps the first time)",
)
def revoke_token(
    session: SessionDep,
    who: PrincipalDep,
    token: Annotated[str, Path(min_length=1, max_length=64)],
) -> TokenPublic:
    return members.revoke_token(session=session, actor=who, token=token)
