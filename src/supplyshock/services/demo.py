"""Demo data for ``supplyshock run``: an open crisis, three demo members and their tokens.

Idempotent on names: members and the crisis are reused if they exist; new tokens are issued on
every call (the plaintext of an old token cannot be shown again).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from supplyshock.exchange import catalogue, crises, members
from supplyshock.exchange.schemas import (
    CatalogueEntryIn,
    CrisisCreate,
    MemberCreate,
    Principal,
    TokenIssue,
)
from supplyshock.store.db import UnitOfWork

DEMO_CRISIS = "Nexperia chips 2025 (demo)"
DEMO_MEMBERS = (
    ("Demo Carmaker Nordwerk", "purchasing@nordwerk.example", "DE"),
    ("Demo Tier-1 Elektronik", "allocation@tier1.example", "CZ"),
    ("Demo Distributor Hansa", "desk@hansa.example", "NL"),
)


@dataclass(frozen=True)
class DemoSeed:
    """What the seed made: the crisis id and a token per demo member (plus the operator's)."""

    crisis_id: str
    operator_token: str
    member_tokens: dict[str, str] = field(default_factory=dict)  # member name -> token


# The demo crisis's part catalogue (Nexperia parts named in the 2025 shortage reports): listings
# may only name these; the operator adds more with POST /crises/{id}/catalogue.
DEMO_CATALOGUE = (
    ("BC847B,215", "bipolar transistors"),
    ("BC847BW", "bipolar transistors"),
    ("BC847C", "bipolar transistors"),
    ("BC857B", "bipolar transistors"),
    ("PMEG3010,115", "schottky diodes"),
    ("PMEG3020", "schottky diodes"),
    ("BAS16,215", "switching diodes"),
    ("PESD5V0S1BL", "esd protection"),
    ("BZX84-C5V1", "zener diodes"),
    ("PMV16XN", "mosfets"),
    ("PMV20XN", "mosfets"),
    ("BUK7Y4R8-60E", "mosfets"),
)


def _demo_catalogue() -> list[CatalogueEntryIn]:
    return [
        CatalogueEntryIn(part_number=part, maker="Nexperia", part_family=family)
        for part, family in DEMO_CATALOGUE
    ]


def seed_demo(session_factory: sessionmaker[Session], *, days: int = 30) -> DemoSeed:
    """Create (or reuse) the demo crisis and members and issue fresh tokens, in one transaction.

    ``days`` is how long the tokens stay valid. The database must be migrated already.
    """
    op = Principal.local_operator()
    with UnitOfWork(session_factory) as uow:
        s = uow.session
        crisis = next((c for c in crises.list_crises(session=s) if c.name == DEMO_CRISIS), None)
        if crisis is None or crisis.status != "open":
            today = datetime.now(UTC).date()
            name = DEMO_CRISIS if crisis is None else f"{DEMO_CRISIS} {today.isoformat()}"
            crisis = crises.open_crisis(
                session=s,
                actor=op,
                data=CrisisCreate(
                    name=name,
                    scope="Automotive discrete semiconductors (demo data)",
                    makers=["Nexperia"],
                    catalogue=_demo_catalogue(),
                    starts_on=today - timedelta(days=1),
                    ends_on=today + timedelta(days=90),
                ),
            )
        # A demo crisis from before catalogues existed gets its catalogue now (idempotent).
        catalogue.extend_catalogue(
            session=s, actor=op, crisis_id=crisis.id, entries=_demo_catalogue()
        )
        known = {m.name: m for m in members.list_members(session=s, actor=op)}
        tokens: dict[str, str] = {}
        for name, contact, country in DEMO_MEMBERS:
            member = known.get(name) or members.create_member(
                session=s, actor=op, data=MemberCreate(name=name, contact=contact, country=country)
            )
            tokens[name] = members.issue_token(
                session=s,
                actor=op,
                data=TokenIssue(role="member", member_id=member.id, label="demo", days=days),
            ).token
        operator = members.issue_token(
            session=s, actor=op, data=TokenIssue(role="operator", label="demo", days=days)
        ).token
        uow.commit()
    return DemoSeed(crisis_id=crisis.id, operator_token=operator, member_tokens=tokens)
