"""``/board``: the anonymous board of a crisis — safe aggregates only, the same for every caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from supplyshock.api.deps import PrincipalDep, SessionDep
from supplyshock.exchange import board
from supplyshock.exchange.board import BoardBy, BoardPublic
from supplyshock.exchange.disclosure import Policy
from supplyshock.settings import Settings

router = APIRouter(prefix="/board", tags=["board"])


@router.get(
    "/{crisis_id}",
    response_model=BoardPublic,
    summary="Need and offer per part or per part family, with suppressed cells marked",
)
def get_board(
    request: Request,
    session: SessionDep,
    who: PrincipalDep,
    crisis_id: Annotated[str, Path(min_length=1, max_length=32)],
    by: Annotated[BoardBy, Query(description="one row per part, or per part family")] = "part",
) -> BoardPublic:
    settings: Settings = request.app.state.settings
    policy = Policy(epoch_seconds=settings.board_epoch_seconds)
    return board.get_board(session=session, actor=who, crisis_id=crisis_id, by=by, policy=policy)
