"""What goes into and comes out of the exchange services: validated, size-limited pydantic models.

Names follow the habit ``XCreate / XUpdate / XPublic``. ``ListingPublic`` is the owner's own
view of a listing; what other members may see of it is a later, narrower schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from supplyshock.domain import text
from supplyshock.domain.codes import check_country
from supplyshock.exchange import rules

Role = Literal["operator", "member", "editor"]
ListingKind = Literal["offer", "need"]
ListingStatus = Literal["open", "withdrawn", "expired", "closed"]

# Free text: one validated type per kind of field (domain/text.py: no control, bidi or
# zero-width characters, nothing that reads as a price, part numbers in their own alphabet).
Name = text.Name
PartNumber = text.PartNumber
Maker = text.MakerName
Family = text.FamilyName


def _no_bool(value: Any) -> Any:
    # JSON true is a Python bool, which is an int: without this, ``quantity: true`` is 1.
    if isinstance(value, bool):
        raise PydanticCustomError(
            "bool_is_not_a_number", "a boolean is not a number: send a number such as 1"
        )
    return value


NotBool = BeforeValidator(_no_bool)
# Whole numbers: JSON integers and digit strings (HTML forms and query strings send text);
# never a boolean. Measures: the same, with decimals.
Count = Annotated[int, NotBool]
Measure = Annotated[float, NotBool]

# Quantities are stored as 32-bit integers (listings.quantity, matches.quantity): refuse more in
# the schema, with a message, rather than let the database refuse it (or SQLite accept it).
MAX_QUANTITY = 2**31 - 1
Quantity = Annotated[
    int,
    NotBool,
    Field(gt=0, le=MAX_QUANTITY, description=f"units, at most {MAX_QUANTITY:,} (32-bit column)"),
]


@dataclass(frozen=True)
class Principal:
    """Who is calling: the role and, for a member, which member; from a token or the local CLI."""

    role: Role
    member_id: str | None = None
    token_id: str | None = None

    @classmethod
    def local_operator(cls) -> Principal:
        """The operator at the command line: whoever can reach the database runs the platform."""
        return cls(role="operator")

    @property
    def actor(self) -> str:
        """How the audit log names this principal."""
        via = f"token:{self.token_id}" if self.token_id else "cli"
        if self.role == "member":
            return f"member:{self.member_id}:{via}"
        if self.role == "editor":
            return f"editor:{via}"
        return f"operator:{via}"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True, frozen=True)


# --- members and tokens ---------------------------------------------------------------------


class MemberCreate(_In):
    name: Name
    contact: text.Contact
    country: str

    _country = field_validator("country")(lambda v: check_country(v))


class MemberPublic(_Out):
    """The operator's view of a member; members never see each other's."""

    id: str
    name: str
    contact: str
    country: str
    created_at: datetime


class TokenIssue(_In):
    role: Role = "member"
    member_id: str | None = None
    label: text.Label = ""
    days: Annotated[Count, Field(ge=1, le=366)] = 90

    @model_validator(mode="after")
    def _member_needs_member(self) -> Self:
        if self.role == "member" and not self.member_id:
            raise ValueError("a member token needs member_id")
        return self


class TokenPublic(_Out):
    id: str
    prefix: str
    role: Role
    member_id: str | None
    label: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


class TokenIssued(BaseModel):
    """A new token: ``token`` is the only time the plaintext exists outside its holder."""

    token: str
    info: TokenPublic


# --- crises ---------------------------------------------------------------------------------


class CatalogueEntryIn(_In):
    """One part of a crisis's catalogue (docs/anonymity.md: why listings need one)."""

    part_number: PartNumber
    maker: Maker
    part_family: Family


class CatalogueEntryPublic(_Out):
    part_number: str
    maker: str
    part_family: str


# A catalogue is set once per crisis and read on every listing write: bounded like any input.
MAX_CATALOGUE = 5000


class CrisisCreate(_In):
    name: Name
    scope: text.ScopeText = ""
    makers: Annotated[list[Maker], Field(max_length=100)] = []
    part_families: Annotated[list[Family], Field(max_length=100)] = []
    starts_on: date
    ends_on: date
    allow_prices: StrictBool = False
    retention_days: Annotated[Count, Field(ge=0, le=3650)] = 90
    # The parts listings may name; the operator extends it later (POST /crises/{id}/catalogue).
    catalogue: Annotated[list[CatalogueEntryIn], Field(max_length=MAX_CATALOGUE)] = []

    @model_validator(mode="after")
    def _lifetime(self) -> Self:
        rules.check_crisis_window(self.starts_on, self.ends_on)
        return self


class CrisisPublic(_Out):
    id: str
    name: str
    scope: str
    makers: list[str]
    part_families: list[str]
    starts_on: date
    ends_on: date
    allow_prices: bool
    retention_days: int
    status: Literal["open", "closed"]
    created_at: datetime
    closed_at: datetime | None
    purged_at: datetime | None


# --- listings -------------------------------------------------------------------------------


class PartRef(_In):
    part_number: PartNumber
    maker: Maker


class PartRefPublic(_Out):
    """A part as stored: read back as it is, not validated again (rules may tighten later)."""

    part_number: str
    maker: str


class _ListingFields(_In):
    """Fields a listing's owner may set on creation and change later."""

    alternates: Annotated[list[PartRef], Field(max_length=20)] = []
    quantity: Quantity
    date_code: text.PlainText | None = None  # offers: oldest date code held; needs: oldest
    max_lots: Annotated[Count | None, Field(ge=1, le=10_000)] = None
    authorised_channel: StrictBool = False  # offers: bought through one; needs: required
    original_packaging: StrictBool = False
    traceability: StrictBool = False
    region: text.PlainText
    window_start: date
    window_end: date
    expires_at: datetime | None = None  # default: the end of the crisis
    days_of_supply: Annotated[Measure | None, Field(ge=0, le=10_000)] = None  # needs only
    margin_per_unit: Annotated[Measure | None, Field(ge=0, le=10**9)] = None  # needs only
    price_per_unit: Annotated[Decimal | None, Field(ge=0, max_digits=14, decimal_places=4)] = None
    currency: Annotated[str | None, Field(pattern=r"^[A-Z]{3}$")] = None

    _region = field_validator("region")(lambda v: rules.check_region(v))
    _date_code = field_validator("date_code")(
        lambda v: None if v is None else rules.check_date_code(v)
    )

    @field_validator("expires_at")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("expires_at needs a time zone, e.g. 2025-12-31T00:00:00Z")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.window_end < self.window_start:
            raise ValueError("window_end is before window_start")
        if (self.price_per_unit is None) != (self.currency is None):
            raise ValueError("price_per_unit and currency go together")
        return self


class ListingCreate(_ListingFields):
    kind: ListingKind
    crisis_id: Annotated[str, Field(min_length=1, max_length=32)]
    part_number: PartNumber
    maker: Maker
    part_family: Family | None = None

    @model_validator(mode="after")
    def _need_only(self) -> Self:
        if self.kind == "offer" and (
            self.days_of_supply is not None or self.margin_per_unit is not None
        ):
            raise ValueError("days_of_supply and margin_per_unit belong to needs, not offers")
        return self


class ListingUpdate(_In):
    """A partial change: only the fields given are changed. ``version`` is the one last read."""

    version: Count | None = None
    alternates: Annotated[list[PartRef] | None, Field(max_length=20)] = None
    quantity: Quantity | None = None
    date_code: text.PlainText | None = None
    max_lots: Annotated[Count | None, Field(ge=1, le=10_000)] = None
    authorised_channel: StrictBool | None = None
    original_packaging: StrictBool | None = None
    traceability: StrictBool | None = None
    region: text.PlainText | None = None
    window_start: date | None = None
    window_end: date | None = None
    expires_at: datetime | None = None
    days_of_supply: Annotated[Measure | None, Field(ge=0, le=10_000)] = None
    margin_per_unit: Annotated[Measure | None, Field(ge=0, le=10**9)] = None
    price_per_unit: Annotated[Decimal | None, Field(ge=0, max_digits=14, decimal_places=4)] = None
    currency: Annotated[str | None, Field(pattern=r"^[A-Z]{3}$")] = None

    _region = field_validator("region")(lambda v: None if v is None else rules.check_region(v))
    _date_code = field_validator("date_code")(
        lambda v: None if v is None else rules.check_date_code(v)
    )

    @field_validator("expires_at")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("expires_at needs a time zone, e.g. 2025-12-31T00:00:00Z")
        return v

    def changes(self) -> dict[str, Any]:
        """The fields the caller set, as plain data (``version`` is a precondition, not one)."""
        return self.model_dump(mode="python", exclude_unset=True, exclude={"version"})


class ListingPublic(_Out):
    """A listing as its owner sees it."""

    id: str
    kind: ListingKind
    crisis_id: str
    member_id: str
    part_number: str
    maker: str
    part_family: str | None
    alternates: list[PartRefPublic]
    quantity: int
    quantity_open: int
    date_code: str | None
    max_lots: int | None
    authorised_channel: bool
    original_packaging: bool
    traceability: bool
    region: str
    window_start: date
    window_end: date
    expires_at: datetime
    status: ListingStatus
    version: int
    days_of_supply: float | None
    margin_per_unit: float | None
    price_per_unit: Decimal | None
    currency: str | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
