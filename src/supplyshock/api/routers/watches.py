"""``/watches`` and ``/notifications``: a member's watched networks and what reached them.

Members only (403 for others); a member sees its own watches and notifications, never
another's. The webhook secret is in the creation answer and nowhere else.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.exceptions import RequestValidationError

from supplyshock.api.deps import PrincipalDep, SessionDep
from supplyshock.services import registry_watch as service
from supplyshock.services.errors import InvalidRequest
from supplyshock.services.registry_watch import (
    NotificationPublic,
    WatchCreate,
    WatchCreated,
    WatchPublic,
)

router = APIRouter(tags=["notifications"])


@router.post("/watches", status_code=201, response_model=WatchCreated, summary="Watch a network")
def create_watch(data: WatchCreate, who: PrincipalDep, session: SessionDep) -> WatchCreated:
    try:
        return service.create_watch(session=session, actor=who, data=data)
    except InvalidRequest as e:
        raise RequestValidationError(
            [{"loc": ("body", e.field), "msg": e.detail, "type": "value_error"}]
        ) from None


@router.get("/watches", response_model=list[WatchPublic], summary="My watched networks")
def list_watches(who: PrincipalDep, session: SessionDep) -> list[WatchPublic]:
    return service.list_watches(session=session, actor=who)


@router.get("/notifications", response_model=list[NotificationPublic], summary="My notifications")
def list_notifications(who: PrincipalDep, session: SessionDep) -> list[NotificationPublic]:
    return service.list_notifications(session=session, actor=who)
