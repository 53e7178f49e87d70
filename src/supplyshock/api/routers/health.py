"""``GET /health``: is the service up and can it reach its database. No token needed."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text

from supplyshock import __version__
from supplyshock.api.deps import SessionDep

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: Literal["ok"]
    version: str


@router.get("/health", response_model=Health, summary="Liveness and database reachability")
def health(session: SessionDep) -> Health:
    # A failing database raises here and is answered 500, which is what a probe should see.
    session.execute(text("SELECT 1"))
    return Health(status="ok", version=__version__)
