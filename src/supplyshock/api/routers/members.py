"""``/members``: the operator administers the organisations on the exchange."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from supplyshock.api.deps import PrincipalDep, SessionDep
from supplyshock.api.pagination import Page, PageDep, paginate
from supplyshock.exchange import members
from supplyshock.exchange.schemas import MemberCreate, MemberPublic

router = APIRouter(prefix="/members", tags=["members (operator)"])

MemberId = Annotated[str, Path(min_length=1, max_length=32)]


@router.post(
    "", response_model=MemberPublic, status_code=status.HTTP_201_CREATED, summary="Add a member"
)
def create_member(data: MemberCreate, session: SessionDep, who: PrincipalDep) -> MemberPublic:
    return members.create_member(session=session, actor=who, data=data)


@router.get("", response_model=Page[MemberPublic], summary="List members, by name")
def list_members(session: SessionDep, who: PrincipalDep, page: PageDep) -> Page[MemberPublic]:
    return paginate(members.list_members(session=session, actor=who), page, lambda m: m.id)


@router.get("/{member_id}", response_model=MemberPublic, summary="One member")
def get_member(session: SessionDep, who: PrincipalDep, member_id: MemberId) -> MemberPublic:
    return members.get_member(session=session, actor=who, member_id=member_id)
