"""The registry's vocabulary: sources, policy acts, country sets, items and item scopes.

Everything here is a value: pydantic models frozen on construction, checked on entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from supplyshock.domain.codes import check_country, check_element, check_hs_prefix, normalise_hs

MeasureKind = Literal["ban", "licence", "quota", "tariff"]
Direction = Literal["export", "re-export", "import"]
EventKind = Literal[
    "announced",
    "in_force",
    "amended",
    "expanded",
    "relaxed",
    "tightened",
    "suspended",
    "resumed",
    "extended",
    "lifted",
    "expired",
]
Status = Literal["unknown", "announced", "in_force", "suspended", "lifted", "expired"]
CarveOutEffect = Literal["exempt", "general_licence", "faster_review", "other_rate"]
EffectKind = Literal["ban", "licence", "quota", "tariff", "exempt"]
# "confirmed": every change behind the state is on record as having happened.
# "scheduled_unconfirmed": the state rests on a change that was only scheduled (a phase-in, the
# end of a suspension) and no source on record confirms it happened as scheduled.
Certainty = Literal["confirmed", "scheduled_unconfirmed"]

# Global Trade Alert intervention types for each (kind, direction).
GTA_TYPES: dict[tuple[str, str], str] = {
    ("ban", "export"): "Export ban",
    ("ban", "re-export"): "Export ban",
    ("ban", "import"): "Import ban",
    ("licence", "export"): "Export licensing requirement",
    ("licence", "re-export"): "Export licensing requirement",
    ("licence", "import"): "Import licensing requirement",
    ("quota", "export"): "Export quota",
    ("quota", "re-export"): "Export quota",
    ("quota", "import"): "Import quota",
    ("tariff", "export"): "Export tax",
    ("tariff", "re-export"): "Export tax",
    ("tariff", "import"): "Import tariff",
}

# The 27 member states, so that a measure or carve-out listing "EU" reaches a shipment from DE.
EU_MEMBERS = frozenset(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split()
)

# Declared sectors that are not civilian use (a carve-out for civilian use never covers them).
MILITARY_SECTORS = frozenset({"military", "defence", "defense"})


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Model):
    """Where a fact comes from."""

    id: str
    publisher: str
    title: str
    published: date
    url: str | None = None
    official: bool = False


class PolicyAct(_Model):
    """One legal instrument (an announcement, a rule, an order); it can hold several measures."""

    id: str
    authority: str
    jurisdiction: str
    title: str
    legal_ref: str | None = None
    announced: date
    sources: list[str] = Field(min_length=1)

    _jur = field_validator("jurisdiction")(lambda v: check_country(v, allow_blocs=True))


class CountrySet(_Model):
    """All countries, only some, or all but some. ``EU`` in the list stands for its members."""

    mode: Literal["all", "only", "except"] = "all"
    countries: list[str] = Field(default_factory=list)

    @field_validator("countries")
    @classmethod
    def _codes(cls, v: list[str]) -> list[str]:
        return [check_country(c, allow_blocs=True) for c in v]

    def contains(self, code: str | None) -> bool:
        if self.mode == "all":
            return True
        if code is None:
            # An unknown country is not in an explicit list, and not excluded by one either.
            return self.mode == "except"
        cc = code.upper()
        inside = cc in self.countries or ("EU" in self.countries and cc in EU_MEMBERS)
        return inside if self.mode == "only" else not inside

    def describe(self) -> str:
        if self.mode == "all":
            return "all"
        return ("" if self.mode == "only" else "all except ") + ", ".join(self.countries)


class MakerRef(_Model):
    """A named company, optionally only for what it makes in some countries."""

    name: str
    made_in: list[str] = Field(default_factory=list)

    _made = field_validator("made_in")(lambda v: [check_country(c) for c in v])


@dataclass(frozen=True)
class Item:
    """What is being shipped, as far as the shipper knows it.

    ``elements`` maps an element symbol to its mass fraction in the item, or ``None`` when the
    item is known to contain the element but not how much. ``element_origins`` are the countries
    the controlled content was produced in, where known.
    """

    hs_code: str | None = None
    part_number: str | None = None
    maker: str | None = None
    made_in: str | None = None
    elements: Mapping[str, float | None] = field(default_factory=dict)
    element_origins: frozenset[str] = frozenset()


class ItemScope(_Model):
    """What a measure reaches. An item is reached if any listed criterion matches.

    ``within_hs`` narrows every criterion to items under those HS headings (a control list's
    reference customs codes): a Dy regime ``within_hs: [2846, 8505]`` reaches Dy oxide and
    Dy-bearing magnets but not a motor that contains such a magnet. An item whose HS code is
    not known is not excluded by it (the conservative reading).
    """

    all_goods: bool = False
    within_hs: list[str] = Field(default_factory=list)
    hs_codes: list[str] = Field(default_factory=list)
    elements: list[str] = Field(default_factory=list)
    part_numbers: list[str] = Field(default_factory=list)
    makers: list[MakerRef] = Field(default_factory=list)
    # Extraterritorial rules: the element must make up at least this mass share of the item...
    min_element_share: float = Field(default=0.0, ge=0.0, le=1.0)
    # ...and have been produced in one of these countries (empty: anywhere).
    element_origins: list[str] = Field(default_factory=list)

    _hs = field_validator("hs_codes", "within_hs")(lambda v: [check_hs_prefix(c) for c in v])
    _el = field_validator("elements")(lambda v: [check_element(e) for e in v])
    _eo = field_validator("element_origins")(lambda v: [check_country(c) for c in v])

    def reached_by(self, item: Item) -> list[str]:
        """Why the item is in scope (empty when it is not)."""
        why: list[str] = []
        if self.within_hs and item.hs_code:
            hs = normalise_hs(item.hs_code)
            if not any(hs.startswith(p) for p in self.within_hs):
                return why
        if self.all_goods:
            why.append("all goods")
        if item.hs_code:
            hs = normalise_hs(item.hs_code)
            why += [f"HS {p}" for p in self.hs_codes if hs.startswith(p)]
        if item.part_number and item.part_number in self.part_numbers:
            why.append(f"part {item.part_number}")
        if item.maker:
            for m in self.makers:
                if m.name.casefold() == item.maker.casefold() and (
                    not m.made_in or (item.made_in or "").upper() in m.made_in
                ):
                    where = f" made in {item.made_in}" if m.made_in else ""
                    why.append(f"maker {m.name}{where}")
        for el in self.elements:
            if el not in item.elements:
                continue
            share = item.elements[el]
            if self.min_element_share > 0 and share is not None and share < self.min_element_share:
                continue
            if (
                self.element_origins
                and item.element_origins
                and not (set(self.element_origins) & item.element_origins)
            ):
                continue
            why.append(f"contains {el}")
        return why

    def merged(self, extra: ItemScope) -> ItemScope:
        return ItemScope(
            all_goods=self.all_goods or extra.all_goods,
            within_hs=self.within_hs + [c for c in extra.within_hs if c not in self.within_hs],
            hs_codes=self.hs_codes + [c for c in extra.hs_codes if c not in self.hs_codes],
            elements=self.elements + [e for e in extra.elements if e not in self.elements],
            part_numbers=self.part_numbers
            + [p for p in extra.part_numbers if p not in self.part_numbers],
            makers=self.makers + [m for m in extra.makers if m not in self.makers],
            min_element_share=self.min_element_share,
            element_origins=self.element_origins,
        )


class MeasureParams(_Model):
    """Kind-specific parameters; an event carries only the ones it changes."""

    approval_share: float | None = Field(default=None, ge=0.0, le=1.0)
    review_days: float | None = Field(default=None, ge=0.0)
    tariff_rate_pct: float | None = Field(default=None, ge=0.0)
    quota_t: float | None = Field(default=None, ge=0.0)

    def updated(self, change: MeasureParams) -> MeasureParams:
        return self.model_copy(update=change.model_dump(exclude_none=True))
