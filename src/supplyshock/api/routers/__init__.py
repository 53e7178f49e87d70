"""Every router of the API, in the order their endpoints appear in the OpenAPI document.

Adding a router: import its module below and append its ``router`` to :data:`ROUTERS`.
"""

from __future__ import annotations

from fastapi import APIRouter

from supplyshock.api.routers import (
    board,
    catenax,
    crises,
    exposure,
    health,
    jobs,
    listings,
    matches,
    members,
    registry,
    registry_edit,
    tokens,
    watches,
)

ROUTERS: list[APIRouter] = [
    health.router,
    members.router,
    tokens.router,
    crises.router,
    listings.router,
    matches.router,
    board.router,
    catenax.router,
    registry.router,
    registry_edit.router,
    watches.router,
    exposure.router,
    jobs.router,
]
