"""``/board``: the anonymous board of a crisis — safe aggregates only, the same for every caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from supplyshock.api.deps import PrincipalDep, SessionDep
from supplyshock.exchange import board
from supplyshock.exchange.board import BoardBy, BoardPublic

router = APIRouter(prefix="/board", tags=["board"])


@router.get(
    "/{crisis_id}",
    response_model=BoardPublic,
    summary="Need and offer per part or per part family, with suppressed cells marked",
)
def get_board(
    session: SessionDep,
    who: PrincipalDep,
    crisis_id: Annotated[str, Path(min_length=1, max_length=32)],
    by: Annotated[BoardBy, Query(description="one row per part, or per part family")] = "part",
) -> BoardPublic:
    return board.get_board(session=session, actor=who, crisis_id=crisis_id, by=by)
