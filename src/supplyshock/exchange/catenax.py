"""Catena-X import: members feed the exchange with the payloads their systems already send.

- **Material twins**: a member maps each ``materialGlobalAssetId`` it uses to a manufacturer
  part number and maker, once; the mapping is private to the member.
- **Item Stock** (CX-0122, ``io.catenax.item_stock:2.0.0``) becomes an **offer**: the sum of
  the allocated stocks that are not blocked.
- **Short-Term Material Demand** (CX-0120, ``io.catenax.short_term_material_demand:1.0.0``)
  becomes a **need**: the demand summed over the listing's window.
- **Days of Supply** (CX-0145, ``io.catenax.days_of_supply:2.0.0``) sets a need's
  ``days_of_supply``: the smallest current value over the stock locations.

Payloads are validated against the official JSON Schemas (:mod:`supplyshock.formats.catenax`,
which also holds the pure mapping); every problem
is reported at once with its path, e.g. ``positions[0].allocatedStocks[0].isBlocked``. Business
partner numbers (BPNS/BPNA), order references and timestamps are read by the schema check only
and never stored, logged or returned (docs/catena-x.md).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from supplyshock.domain import text
from supplyshock.exchange import audit, policy, rules
from supplyshock.exchange.errors import NotFound, RuleViolation
from supplyshock.exchange.listings import create_listing, load_own, update_listing
from supplyshock.exchange.schemas import (
    Count,
    Family,
    ListingCreate,
    ListingPublic,
    ListingUpdate,
    Maker,
    Measure,
    PartNumber,
    PartRef,
    Principal,
    Quantity,
)
from supplyshock.formats.catenax import (
    ASPECTS,
    Problem,
    current_days_of_supply,
    demand_quantity,
    normalise_asset_id,
    stock_quantity,
    validate,
)
from supplyshock.store.models import Crisis, Listing, MaterialTwin, utcnow

MAX_PROBLEMS = 100  # a huge broken payload must not produce a huge answer


class PayloadInvalid(RuleViolation):
    """A Catena-X payload that fails its schema or cannot be mapped; ``details`` lists all."""

    code = "invalid_payload"

    def __init__(self, aspect: str, problems: list[Problem]) -> None:
        shown = problems[:MAX_PROBLEMS]
        listed = "; ".join(f"{p.path}: {p.message}" for p in shown)
        more = f" (and {len(problems) - len(shown)} more)" if len(problems) > len(shown) else ""
        super().__init__(f"{len(problems)} problem(s) in the {aspect} payload: {listed}{more}")
        self.problems = shown
        self.details = [p.as_dict() for p in shown]


# --- material twins -------------------------------------------------------------------------


class TwinCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    global_asset_id: Annotated[str, Field(min_length=36, max_length=45)]
    part_number: PartNumber
    maker: Maker

    @field_validator("global_asset_id")
    @classmethod
    def _uuid(cls, v: str) -> str:
        norm = normalise_asset_id(v)
        if norm is None:
            raise ValueError("must be a UUID, optionally prefixed by urn:uuid:")
        return norm


class TwinsCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    twins: Annotated[list[TwinCreate], Field(min_length=1, max_length=1000)]


class TwinPublic(BaseModel):
    """A member's own twin mapping (never shown to anyone else)."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    global_asset_id: str
    part_number: str
    maker: str
    created_at: datetime


def _member_of(actor: Principal) -> str:
    return policy.member_of(actor, to="map material twins and import Catena-X payloads")


def register_twins(
    *, session: Session, actor: Principal, data: TwinsCreate, now: datetime | None = None
) -> list[TwinPublic]:
    """Map the caller's twin ids to parts; mapping an id again replaces its part."""
    member_id = _member_of(actor)
    now = now or utcnow()
    out: list[TwinPublic] = []
    for twin in {t.global_asset_id: t for t in data.twins}.values():  # the last one wins
        row = session.scalar(
            select(MaterialTwin).where(
                MaterialTwin.member_id == member_id,
                MaterialTwin.global_asset_id == twin.global_asset_id,
            )
        )
        if row is None:
            row = MaterialTwin(
                member_id=member_id,
                global_asset_id=twin.global_asset_id,
                part_number=twin.part_number,
                maker=twin.maker,
                created_at=now,
            )
            session.add(row)
        else:
            row.part_number, row.maker = twin.part_number, twin.maker
        session.flush()
        audit.append(
            session=session,
            actor=actor,
            action="twin.registered",
            entity=f"twin:{row.id}",
            payload=twin.model_dump(),
            now=now,
        )
        out.append(TwinPublic.model_validate(row))
    return out


def list_twins(*, session: Session, actor: Principal) -> list[TwinPublic]:
    member_id = _member_of(actor)
    rows = session.scalars(
        select(MaterialTwin)
        .where(MaterialTwin.member_id == member_id)
        .order_by(MaterialTwin.part_number, MaterialTwin.global_asset_id)
    )
    return [TwinPublic.model_validate(r) for r in rows]


def _check(
    session: Session, member_id: str, aspect: str, payload: Any
) -> tuple[dict[str, Any], MaterialTwin | None, list[Problem], bool]:
    """The payload, the caller's twin, the problems so far, and whether the payload is valid
    against its schema (only then can it be mapped; an unknown twin does not stop the mapping,
    so that every problem is reported at once)."""
    if not isinstance(payload, dict):
        return {}, None, [Problem("$", "the payload must be a JSON object")], False
    problems = validate(aspect, payload)
    if problems:
        return payload, None, problems, False
    asset = normalise_asset_id(payload["materialGlobalAssetId"]) or ""
    twin = session.scalar(
        select(MaterialTwin).where(
            MaterialTwin.member_id == member_id, MaterialTwin.global_asset_id == asset
        )
    )
    if twin is None:
        problems.append(
            Problem(
                "materialGlobalAssetId",
                f"no material twin {payload['materialGlobalAssetId']} is mapped for your "
                "organisation: register it first (POST /catenax/twins)",
            )
        )
    return payload, twin, problems, True


# --- listings from payloads -----------------------------------------------------------------


class ImportOptions(BaseModel):
    """What a Catena-X payload does not say but a listing needs (all but region optional)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    crisis_id: Annotated[str, Field(min_length=1, max_length=32)]
    region: text.PlainText
    part_family: Family | None = None
    alternates: Annotated[list[PartRef], Field(max_length=20)] = []
    quantity: Quantity | None = None  # at most this many
    window_start: date | None = None
    window_end: date | None = None
    expires_at: datetime | None = None
    date_code: text.PlainText | None = None
    max_lots: Annotated[Count | None, Field(ge=1, le=10_000)] = None
    authorised_channel: StrictBool = False
    original_packaging: StrictBool = False
    traceability: StrictBool = False
    margin_per_unit: Annotated[Measure | None, Field(ge=0, le=10**9)] = None  # needs only

    _region = field_validator("region")(lambda v: rules.check_region(v))
    _date_code = field_validator("date_code")(
        lambda v: None if v is None else rules.check_date_code(v)
    )


def _listing(
    kind: str, twin: MaterialTwin, quantity: int, start: date, end: date, opts: ImportOptions
) -> ListingCreate:
    fields = opts.model_dump(exclude={"quantity", "window_start", "window_end"})
    if kind == "offer":
        fields.pop("margin_per_unit")
    return ListingCreate.model_validate(
        {
            **fields,
            "kind": kind,
            "part_number": twin.part_number,
            "maker": twin.maker,
            "quantity": min(quantity, opts.quantity or quantity),
            "window_start": start,
            "window_end": end,
        }
    )


def _imported(
    session: Session, actor: Principal, listing: ListingPublic, aspect: str, twin: MaterialTwin
) -> None:
    # Which standard payload a listing came from; nothing of the payload itself (BPNs!).
    audit.append(
        session=session,
        actor=actor,
        action="listing.imported",
        entity=f"listing:{listing.id}",
        payload={"aspect": ASPECTS[aspect][1], "twin": twin.global_asset_id},
    )


def offer_from_item_stock(
    *,
    session: Session,
    actor: Principal,
    payload: Any,
    options: ImportOptions,
    now: datetime | None = None,
) -> ListingPublic:
    """An offer of the caller's unblocked stock of one material (both directions: a supplier's
    stock for customers, OUTBOUND, and a customer's stock of bought parts, INBOUND, are stock the
    member holds). Window: ``window_start`` (default today) to ``window_end`` (default the
    crisis's end, via the listing's expiry)."""
    member_id = _member_of(actor)
    now = now or utcnow()
    body, twin, problems, valid = _check(session, member_id, "item_stock", payload)
    quantity = 0
    if valid:
        quantity, more = stock_quantity(body)
        problems += more
    if problems:
        raise PayloadInvalid("Item Stock", problems)
    assert twin is not None
    start = options.window_start or now.date()
    end = options.window_end or _crisis_end(session, options.crisis_id, start)
    listing = create_listing(
        session=session,
        actor=actor,
        data=_listing("offer", twin, quantity, start, end, options),
        now=now,
    )
    _imported(session, actor, listing, "item_stock", twin)
    return listing


def need_from_short_term_demand(
    *,
    session: Session,
    actor: Principal,
    payload: Any,
    options: ImportOptions,
    now: datetime | None = None,
) -> ListingPublic:
    """A need for the caller's demand of one material over the window (default: the payload's
    first to last demand day)."""
    member_id = _member_of(actor)
    now = now or utcnow()
    body, twin, problems, valid = _check(session, member_id, "short_term_material_demand", payload)
    quantity, start, end = 0, options.window_start, options.window_end
    if valid:
        quantity, start, end, more = demand_quantity(body, start, end)
        problems += more
    if problems:
        raise PayloadInvalid("Short-Term Material Demand", problems)
    assert twin is not None and start is not None and end is not None
    listing = create_listing(
        session=session,
        actor=actor,
        data=_listing("need", twin, quantity, start, end, options),
        now=now,
    )
    _imported(session, actor, listing, "short_term_material_demand", twin)
    return listing


def attach_days_of_supply(
    *,
    session: Session,
    actor: Principal,
    payload: Any,
    listing_id: str | None = None,
    crisis_id: str | None = None,
    now: datetime | None = None,
) -> ListingPublic:
    """Set ``days_of_supply`` on the caller's open need for the payload's material: the need
    ``listing_id``, or else the one open need for that part in ``crisis_id``."""
    member_id = _member_of(actor)
    now = now or utcnow()
    body, twin, problems, valid = _check(session, member_id, "days_of_supply", payload)
    days = 0.0
    if valid:
        days, more = current_days_of_supply(body, now)
        problems += more
    if problems:
        raise PayloadInvalid("Days of Supply", problems)
    assert twin is not None
    need = _need_for(session, actor, twin, listing_id, crisis_id)
    listing = update_listing(
        session=session,
        actor=actor,
        listing_id=need.id,
        data=ListingUpdate(days_of_supply=round(days, 2)),
        now=now,
    )
    _imported(session, actor, listing, "days_of_supply", twin)
    return listing


def _need_for(
    session: Session,
    actor: Principal,
    twin: MaterialTwin,
    listing_id: str | None,
    crisis_id: str | None,
) -> Listing:
    key = rules.part_key(twin.part_number, twin.maker)
    if listing_id is not None:
        need = load_own(session, actor, listing_id)
        if need.kind != "need":
            raise RuleViolation("days of supply belong to needs, not offers", code="not_a_need")
        if rules.part_key(need.part_number, need.maker) != key:
            raise RuleViolation(
                f"listing {listing_id} is for {need.part_number}, but the twin maps to "
                f"{twin.part_number}",
                code="twin_mismatch",
            )
        return need
    if crisis_id is None:
        raise RuleViolation("give listing_id or crisis_id", code="required")
    needs = [
        n
        for n in session.scalars(
            select(Listing).where(
                Listing.member_id == twin.member_id,
                Listing.crisis_id == crisis_id,
                Listing.kind == "need",
                Listing.status == "open",
            )
        )
        if rules.part_key(n.part_number, n.maker) == key
    ]
    if not needs:
        raise NotFound(f"you have no open need for {twin.part_number} in crisis {crisis_id!r}")
    if len(needs) > 1:
        raise RuleViolation(
            f"you have {len(needs)} open needs for {twin.part_number}: give listing_id",
            code="ambiguous",
        )
    return needs[0]


def _crisis_end(session: Session, crisis_id: str, start: date) -> date:
    crisis = session.get(Crisis, crisis_id)
    # An unknown crisis is reported by create_listing; any valid window will do until then.
    return max(crisis.ends_on, start) if crisis is not None else start
