"""A crisis's part catalogue: the only parts its listings may name, and each part's family.

The board aggregates per part family. If members could name any part, a coalition could post
invented parts into a family and pad it at will; with a catalogue set by the operator (from the
crisis scope, extended only by the operator) a listing's part and its family are facts the
members do not choose (docs/anonymity.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from supplyshock.exchange import audit, rules
from supplyshock.exchange.errors import Conflict, NotFound, RuleViolation
from supplyshock.exchange.members import require_operator
from supplyshock.exchange.schemas import CatalogueEntryIn, CatalogueEntryPublic, Principal
from supplyshock.store.models import CatalogueEntry, Crisis, utcnow


def _public(entry: CatalogueEntry) -> CatalogueEntryPublic:
    return CatalogueEntryPublic(
        part_number=entry.part_number, maker=entry.maker, part_family=entry.part_family
    )


def check_scope(crisis: Crisis, entries: Sequence[CatalogueEntryIn], where: str) -> None:
    """Every entry's maker and family must lie in the crisis scope (an empty scope allows any).

    Also refuses one part given twice with two families: a part has exactly one family.
    """
    families: dict[str, str] = {}
    for i, entry in enumerate(entries):
        if not rules.in_scope(entry.maker, crisis.makers):
            raise RuleViolation(
                f"{where}[{i}].maker: {entry.maker!r} is outside the scope of crisis "
                f"{crisis.name!r}",
                code="out_of_scope",
            )
        if not rules.in_scope(entry.part_family, crisis.part_families):
            raise RuleViolation(
                f"{where}[{i}].part_family: {entry.part_family!r} is outside the scope of crisis "
                f"{crisis.name!r}",
                code="out_of_scope",
            )
        key = rules.part_key(entry.part_number, entry.maker)
        family = families.setdefault(key, entry.part_family.casefold())
        if family != entry.part_family.casefold():
            raise RuleViolation(
                f"{where}[{i}].part_family: part {entry.part_number!r} is given two families",
                code="invalid",
            )


def insert_entries(
    session: Session, crisis: Crisis, entries: Sequence[CatalogueEntryIn], now: datetime
) -> list[CatalogueEntryPublic]:
    """Add entries (scope already checked); returns those that were new.

    An entry already present with the same family is a no-op, so extending is idempotent; one
    present with another family is refused: moving a part between families would change what
    earlier board readings summed.
    """
    existing = {
        e.part_key: e
        for e in session.scalars(
            select(CatalogueEntry).where(CatalogueEntry.crisis_id == crisis.id)
        )
    }
    added: list[CatalogueEntryPublic] = []
    for i, entry in enumerate(entries):
        key = rules.part_key(entry.part_number, entry.maker)
        old = existing.get(key)
        if old is not None:
            if old.part_family.casefold() != entry.part_family.casefold():
                raise Conflict(
                    f"catalogue[{i}]: part {entry.part_number!r} of {entry.maker!r} is already "
                    f"in family {old.part_family!r}"
                )
            continue
        row = CatalogueEntry(
            crisis_id=crisis.id,
            part_key=key,
            part_number=entry.part_number.strip(),
            maker=entry.maker.strip(),
            part_family=entry.part_family.strip(),
            added_at=now,
        )
        session.add(row)
        existing[key] = row
        added.append(_public(row))
    session.flush()
    return added


def extend_catalogue(
    *,
    session: Session,
    actor: Principal,
    crisis_id: str,
    entries: Sequence[CatalogueEntryIn],
    now: datetime | None = None,
) -> list[CatalogueEntryPublic]:
    """The operator adds parts to a crisis's catalogue; returns the entries that were new."""
    require_operator(actor)
    now = now or utcnow()
    crisis = session.get(Crisis, crisis_id)
    if crisis is None:
        raise NotFound(f"no crisis {crisis_id!r}")
    check_scope(crisis, entries, "entries")
    added = insert_entries(session, crisis, entries, now)
    if added:
        audit.append(
            session=session,
            actor=actor,
            action="crisis.catalogue_extended",
            entity=f"crisis:{crisis.id}",
            payload={"added": [a.model_dump() for a in added]},
            now=now,
        )
    return added


def list_catalogue(*, session: Session, crisis_id: str) -> list[CatalogueEntryPublic]:
    """A crisis's catalogue, by family then part; public to every member, as the crisis is."""
    if session.get(Crisis, crisis_id) is None:
        raise NotFound(f"no crisis {crisis_id!r}")
    rows = session.scalars(
        select(CatalogueEntry)
        .where(CatalogueEntry.crisis_id == crisis_id)
        .order_by(CatalogueEntry.part_family, CatalogueEntry.part_key)
    )
    return [_public(r) for r in rows]


def resolve_parts(
    *,
    session: Session,
    crisis_id: str,
    part_number: str,
    maker: str,
    alternates: list[tuple[str, str]],
    part_family: str | None = None,
) -> str:
    """The catalogue's family for a listing's part, after checking the part and its alternates.

    Parameters
    ----------
    part_number, maker
        The listing's own part.
    alternates
        ``(part_number, maker)`` of each acceptable alternate.
    part_family
        The family the member gave, if any: it must be the catalogue's (any case).

    Raises
    ------
    RuleViolation
        ``not_in_catalogue`` naming the field (``part_number`` or ``alternates[i]``) of the
        first part the catalogue lacks; ``family_mismatch`` if ``part_family`` differs.
    """
    keys = [rules.part_key(part_number, maker)]
    keys += [rules.part_key(p, m) for p, m in alternates]
    found = {
        e.part_key: e
        for e in session.scalars(
            select(CatalogueEntry).where(
                CatalogueEntry.crisis_id == crisis_id, CatalogueEntry.part_key.in_(set(keys))
            )
        )
    }
    fields = ["part_number"] + [f"alternates[{i}]" for i in range(len(alternates))]
    parts = [(part_number, maker), *alternates]
    for field, key, (number, who) in zip(fields, keys, parts, strict=True):
        if key not in found:
            raise RuleViolation(
                f"{field}: part {number!r} of maker {who!r} is not in the crisis's catalogue; "
                "ask the operator to add it",
                code="not_in_catalogue",
            )
    family = found[keys[0]].part_family
    if part_family is not None and part_family.strip().casefold() != family.casefold():
        raise RuleViolation(
            f"part_family: part {part_number!r} is in family {family!r} in the catalogue, "
            f"not {part_family!r}",
            code="family_mismatch",
        )
    return family
