"""The records a supply network is made of: companies, sites, parts, BOM lines, lanes,
inventory, demand, alternates, production and capacity groups (see ``network.py``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from supplyshock.domain.codes import check_country, check_element, check_hs_code
from supplyshock.domain.controls import Source

# Physical bounds (docs/formats.md, "Bounds"). Beyond them a value is a typo or an attack, and
# products of them (demand x BOM qty x depth) would overflow the LP and Monte Carlo.
MAX_PER_DAY = 1e9  # units per day: demand, lane and production capacity
MAX_STOCK = 1e12  # units held or in transit (a thousand days of the largest flow)
MAX_DAYS = 3650.0  # lead, qualification and recovery times: ten years
MAX_QTY = 1e6  # BOM quantity and alternate ratio per unit of the parent
MAX_MARGIN = 1e7  # currency per unit sold
MAX_KG = 1e6  # kg per unit: part mass and element content


class Record(BaseModel):
    """A network record: immutable, unknown fields are an error, numbers must be finite."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class NetworkMeta(Record):
    name: str
    description: str = ""
    synthetic: bool = False
    sector: str | None = None  # e.g. "automotive": the sector carve-outs are checked against
    as_of: str | None = None
    sources: list[Source] = Field(default_factory=list)
    notes: dict[str, str] = Field(default_factory=dict)  # figure -> where it comes from


class Company(Record):
    id: str
    name: str
    country: str

    _c = field_validator("country")(lambda v: check_country(v))


class Site(Record):
    """A company's plant or warehouse in a country."""

    id: str
    company: str
    country: str
    name: str = ""
    ttr_days: float | None = Field(
        default=None, ge=0, le=MAX_DAYS
    )  # time to recover after a disruption

    _c = field_validator("country")(lambda v: check_country(v))


class Part(Record):
    """A part type. ``elements`` is the mass (kg) of each element in one unit."""

    id: str
    name: str = ""
    hs_code: str
    part_number: str | None = None  # manufacturer part number; defaults to ``id``
    maker: str | None = None  # company id of the part's maker (for branded parts)
    family: str | None = None
    unit: str = "piece"
    mass_kg: float | None = Field(default=None, gt=0, le=MAX_KG)
    elements: dict[str, float] = Field(default_factory=dict)
    finished: bool = False  # a product sold to the market (vehicles)

    _hs = field_validator("hs_code", mode="before")(lambda v: check_hs_code(str(v)))

    @field_validator("elements")
    @classmethod
    def _elements(cls, v: dict[str, float]) -> dict[str, float]:
        out: dict[str, float] = {}
        for k, q in v.items():
            if not 0 <= q <= MAX_KG:  # also refuses NaN
                raise ValueError(f"element {k}: mass must be between 0 and {MAX_KG:g} kg")
            out[check_element(k)] = q
        return out

    @property
    def pn(self) -> str:
        return self.part_number or self.id


class BomLine(Record):
    parent: str
    child: str
    qty: float = Field(gt=0, le=MAX_QTY)


class Lane(Record):
    """``supplier`` site ships ``part`` to ``customer`` site.

    ``share`` is the fraction of the customer's supply of that part on this lane (0-1);
    ``capacity_per_day`` the most it can carry; ``lead_time_days`` door to door.
    """

    id: str
    supplier: str
    customer: str
    part: str
    share: float | None = Field(default=None, ge=0, le=1)
    capacity_per_day: float | None = Field(default=None, ge=0, le=MAX_PER_DAY)
    lead_time_days: float = Field(default=0, ge=0, le=MAX_DAYS)


class Inventory(Record):
    site: str
    part: str
    on_hand: float = Field(ge=0, le=MAX_STOCK)
    in_transit: float = Field(default=0, ge=0, le=MAX_STOCK)


class Demand(Record):
    site: str
    part: str
    per_day: float = Field(ge=0, le=MAX_PER_DAY)
    margin_per_unit: float = Field(default=0, ge=0, le=MAX_MARGIN)


class Alternate(Record):
    """``alternate`` may replace ``part`` (at ``site``, or anywhere) after qualification."""

    part: str
    alternate: str
    qualification_days: float = Field(default=0, ge=0, le=MAX_DAYS)
    site: str | None = None
    ratio: float = Field(default=1.0, gt=0, le=MAX_QTY)  # units of alternate per unit of part


class Production(Record):
    """A site's capacity to make a part, optionally drawn from a shared capacity group."""

    site: str
    part: str
    capacity_per_day: float | None = Field(default=None, ge=0, le=MAX_PER_DAY)
    capacity_group: str | None = None


class CapacityGroup(Record):
    id: str
    capacity_per_day: float = Field(ge=0, le=MAX_PER_DAY)
