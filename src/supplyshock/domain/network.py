"""The supply network: companies, sites, parts, BOM, lanes, inventory, demand, alternates.

Quantities are per day (flows) or units (stocks). A *node* of the network is a (site, part)
pair: a site making, holding or consuming a part. BOM lines are site-independent: wherever a
parent part is made, it needs ``qty`` of each child per unit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from supplyshock.domain.codes import check_country, check_element, check_hs_code
from supplyshock.domain.controls import Source
from supplyshock.domain.problems import Path, Problem

SHARE_TOLERANCE = 1e-6


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NetworkMeta(_Model):
    name: str
    description: str = ""
    synthetic: bool = False
    sector: str | None = None  # e.g. "automotive": the sector carve-outs are checked against
    as_of: str | None = None
    sources: list[Source] = Field(default_factory=list)
    notes: dict[str, str] = Field(default_factory=dict)  # figure -> where it comes from


class Company(_Model):
    id: str
    name: str
    country: str

    _c = field_validator("country")(lambda v: check_country(v))


class Site(_Model):
    """A company's plant or warehouse in a country."""

    id: str
    company: str
    country: str
    name: str = ""
    ttr_days: float | None = Field(default=None, ge=0)  # time to recover after a disruption

    _c = field_validator("country")(lambda v: check_country(v))


class Part(_Model):
    """A part type. ``elements`` is the mass (kg) of each element in one unit."""

    id: str
    name: str = ""
    hs_code: str
    part_number: str | None = None  # manufacturer part number; defaults to ``id``
    maker: str | None = None  # company id of the part's maker (for branded parts)
    family: str | None = None
    unit: str = "piece"
    mass_kg: float | None = Field(default=None, gt=0)
    elements: dict[str, float] = Field(default_factory=dict)
    finished: bool = False  # a product sold to the market (vehicles)

    _hs = field_validator("hs_code", mode="before")(lambda v: check_hs_code(str(v)))

    @field_validator("elements")
    @classmethod
    def _elements(cls, v: dict[str, float]) -> dict[str, float]:
        out: dict[str, float] = {}
        for k, q in v.items():
            if q < 0:
                raise ValueError(f"element {k}: mass must not be negative")
            out[check_element(k)] = q
        return out

    @property
    def pn(self) -> str:
        return self.part_number or self.id


class BomLine(_Model):
    parent: str
    child: str
    qty: float = Field(gt=0)


class Lane(_Model):
    """``supplier`` site ships ``part`` to ``customer`` site.

    ``share`` is the fraction of the customer's supply of that part on this lane (0-1);
    ``capacity_per_day`` the most it can carry; ``lead_time_days`` door to door.
    """

    id: str
    supplier: str
    customer: str
    part: str
    share: float | None = Field(default=None, ge=0, le=1)
    capacity_per_day: float | None = Field(default=None, ge=0)
    lead_time_days: float = Field(default=0, ge=0)


class Inventory(_Model):
    site: str
    part: str
    on_hand: float = Field(ge=0)
    in_transit: float = Field(default=0, ge=0)


class Demand(_Model):
    site: str
    part: str
    per_day: float = Field(ge=0)
    margin_per_unit: float = Field(default=0, ge=0)


class Alternate(_Model):
    """``alternate`` may replace ``part`` (at ``site``, or anywhere) after qualification."""

    part: str
    alternate: str
    qualification_days: float = Field(default=0, ge=0)
    site: str | None = None
    ratio: float = Field(default=1.0, gt=0)  # units of alternate per unit of part


class Production(_Model):
    """A site's capacity to make a part, optionally drawn from a shared capacity group."""

    site: str
    part: str
    capacity_per_day: float | None = Field(default=None, ge=0)
    capacity_group: str | None = None


class CapacityGroup(_Model):
    id: str
    capacity_per_day: float = Field(ge=0)


class Network(_Model):
    meta: NetworkMeta
    companies: list[Company] = Field(default_factory=list)
    sites: list[Site] = Field(default_factory=list)
    parts: list[Part] = Field(default_factory=list)
    bom: list[BomLine] = Field(default_factory=list)
    lanes: list[Lane] = Field(default_factory=list)
    inventory: list[Inventory] = Field(default_factory=list)
    demand: list[Demand] = Field(default_factory=list)
    alternates: list[Alternate] = Field(default_factory=list)
    production: list[Production] = Field(default_factory=list)
    capacity_groups: list[CapacityGroup] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _default_meta(cls, data: Any) -> Any:
        if isinstance(data, dict) and "meta" not in data:
            data = {**data, "meta": {"name": "unnamed"}}
        return data

    # -- validation ------------------------------------------------------------------------

    def problems(self) -> list[Problem]:
        """Every semantic problem: duplicates, unknown references, BOM cycles, over-full shares."""
        out: list[Problem] = []
        comp = _unique(out, "companies", [c.id for c in self.companies])
        sites = _unique(out, "sites", [s.id for s in self.sites])
        parts = _unique(out, "parts", [p.id for p in self.parts])
        _unique(out, "lanes", [ln.id for ln in self.lanes])
        groups = _unique(out, "capacity_groups", [g.id for g in self.capacity_groups])

        def ref(path: Path, value: str | None, known: set[str], what: str) -> None:
            if value is not None and value not in known:
                out.append(Problem(f"unknown {what} {value!r}", path, code="ref"))

        for i, s in enumerate(self.sites):
            ref(("sites", i, "company"), s.company, comp, "company")
        for i, p in enumerate(self.parts):
            ref(("parts", i, "maker"), p.maker, comp, "company")
        for i, b in enumerate(self.bom):
            ref(("bom", i, "parent"), b.parent, parts, "part")
            ref(("bom", i, "child"), b.child, parts, "part")
            if b.parent == b.child:
                out.append(
                    Problem("a part cannot contain itself", ("bom", i, "child"), code="cycle")
                )
        for i, ln in enumerate(self.lanes):
            ref(("lanes", i, "supplier"), ln.supplier, sites, "site")
            ref(("lanes", i, "customer"), ln.customer, sites, "site")
            ref(("lanes", i, "part"), ln.part, parts, "part")
            if ln.supplier == ln.customer:
                out.append(
                    Problem("a lane must join two different sites", ("lanes", i, "customer"))
                )
        located: list[tuple[str, Sequence[Inventory | Demand | Production]]] = [
            ("inventory", self.inventory),
            ("demand", self.demand),
            ("production", self.production),
        ]
        for sec, rows in located:
            for i, r in enumerate(rows):
                ref((sec, i, "site"), r.site, sites, "site")
                ref((sec, i, "part"), r.part, parts, "part")
        for i, pr in enumerate(self.production):
            ref(("production", i, "capacity_group"), pr.capacity_group, groups, "capacity group")
        for i, a in enumerate(self.alternates):
            ref(("alternates", i, "part"), a.part, parts, "part")
            ref(("alternates", i, "alternate"), a.alternate, parts, "part")
            ref(("alternates", i, "site"), a.site, sites, "site")
        out += self._share_problems()
        out += self._cycle_problems(parts)
        return out

    def _share_problems(self) -> list[Problem]:
        total: dict[tuple[str, str], float] = defaultdict(float)
        first: dict[tuple[str, str], int] = {}
        for i, ln in enumerate(self.lanes):
            if ln.share is not None:
                total[(ln.customer, ln.part)] += ln.share
                first.setdefault((ln.customer, ln.part), i)
        return [
            Problem(
                f"shares of part {part!r} supplied to site {site!r} add up to "
                f"{s * 100:.1f} %, more than 100 %",
                ("lanes", first[(site, part)], "share"),
                code="share",
            )
            for (site, part), s in total.items()
            if s > 1 + SHARE_TOLERANCE
        ]

    def _cycle_problems(self, parts: set[str]) -> list[Problem]:
        children: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for i, b in enumerate(self.bom):
            if b.parent != b.child:
                children[b.parent].append((b.child, i))
        colour: dict[str, int] = {}
        out: list[Problem] = []
        reported: set[frozenset[str]] = set()

        def visit(start: str) -> None:
            # Iterative DFS: deep BOMs must not hit Python's recursion limit.
            stack: list[tuple[str, int]] = [(start, 0)]
            trail: list[str] = []
            while stack:
                node, k = stack.pop()
                if k == 0:
                    colour[node] = 1
                    trail.append(node)
                kids = children.get(node, [])
                if k < len(kids):
                    stack.append((node, k + 1))
                    child, line = kids[k]
                    c = colour.get(child, 0)
                    if c == 0:
                        stack.append((child, 0))
                    elif c == 1:
                        cyc = trail[trail.index(child) :] + [child]
                        key = frozenset(cyc)
                        if key not in reported:
                            reported.add(key)
                            out.append(
                                Problem(
                                    "BOM cycle: " + " -> ".join(cyc),
                                    ("bom", line, "child"),
                                    code="cycle",
                                )
                            )
                else:
                    colour[node] = 2
                    trail.pop()

        for p in sorted(children):
            if colour.get(p, 0) == 0:
                visit(p)
        return out

    # -- derived views ---------------------------------------------------------------------

    @cached_property
    def index(self) -> NetworkIndex:
        return NetworkIndex.build(self)


@dataclass
class NetworkIndex:
    """Lookups a network needs again and again; built once per (immutable) network."""

    sites: dict[str, Site]
    parts: dict[str, Part]
    companies: dict[str, Company]
    children: dict[str, list[BomLine]]  # parent part -> BOM lines
    parents: dict[str, list[BomLine]]
    lanes_in: dict[tuple[str, str], list[Lane]]  # (customer site, part) -> lanes
    lanes_out: dict[tuple[str, str], list[Lane]]  # (supplier site, part) -> lanes
    inventory: dict[tuple[str, str], Inventory]
    demand: dict[tuple[str, str], Demand]
    alternates: dict[str, list[Alternate]] = field(default_factory=dict)

    @classmethod
    def build(cls, net: Network) -> NetworkIndex:
        children: dict[str, list[BomLine]] = defaultdict(list)
        parents: dict[str, list[BomLine]] = defaultdict(list)
        for b in net.bom:
            children[b.parent].append(b)
            parents[b.child].append(b)
        lanes_in: dict[tuple[str, str], list[Lane]] = defaultdict(list)
        lanes_out: dict[tuple[str, str], list[Lane]] = defaultdict(list)
        for ln in net.lanes:
            lanes_in[(ln.customer, ln.part)].append(ln)
            lanes_out[(ln.supplier, ln.part)].append(ln)
        inv: dict[tuple[str, str], Inventory] = {}
        for r in net.inventory:
            prev = inv.get((r.site, r.part))
            inv[(r.site, r.part)] = (
                r
                if prev is None
                else Inventory(
                    site=r.site,
                    part=r.part,
                    on_hand=prev.on_hand + r.on_hand,
                    in_transit=prev.in_transit + r.in_transit,
                )
            )
        alts: dict[str, list[Alternate]] = defaultdict(list)
        for a in net.alternates:
            alts[a.part].append(a)
        return cls(
            sites={s.id: s for s in net.sites},
            parts={p.id: p for p in net.parts},
            companies={c.id: c for c in net.companies},
            children=dict(children),
            parents=dict(parents),
            lanes_in=dict(lanes_in),
            lanes_out=dict(lanes_out),
            inventory=inv,
            demand={(d.site, d.part): d for d in net.demand},
            alternates=dict(alts),
        )

    def supply_share(self, lane: Lane) -> float:
        """The share of the customer's supply of the part that comes over ``lane``.

        Lanes with an explicit share keep it; the rest of 100 % is split among lanes without one
        in proportion to their capacity (equally if none has a capacity).
        """
        lanes = self.lanes_in[(lane.customer, lane.part)]
        if lane.share is not None:
            return lane.share
        rest = max(0.0, 1.0 - sum(ln.share for ln in lanes if ln.share is not None))
        open_ = [ln for ln in lanes if ln.share is None]
        caps = [ln.capacity_per_day for ln in open_]
        if all(c is not None for c in caps) and sum(c or 0 for c in caps) > 0:
            return rest * (lane.capacity_per_day or 0) / sum(c or 0 for c in caps)
        return rest / len(open_)

    def element_content(self, part_id: str) -> dict[str, float]:
        """kg of each element in one unit: declared content, else rolled up through the BOM."""
        return self._content(part_id, frozenset())

    def _content(self, part_id: str, seen: frozenset[str]) -> dict[str, float]:
        part = self.parts[part_id]
        if part.elements or part_id in seen:
            return dict(part.elements)
        total: dict[str, float] = defaultdict(float)
        for b in self.children.get(part_id, []):
            for el, kg in self._content(b.child, seen | {part_id}).items():
                total[el] += b.qty * kg
        return dict(total)

    def requirements(self) -> dict[tuple[str, str], float]:
        """Daily requirement of every (site, part) node implied by finished-goods demand.

        Demand at a plant needs BOM children at that plant; a site's need of a part is split over
        the lanes feeding it by their supply share and becomes the supplier's requirement of the
        same part. Requirements are propagated in topological order of the BOM.
        """
        # Grouped by part, so a network with thousands of parts does not pay parts x nodes.
        by_part: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for d in self.demand.values():
            by_part[d.part][d.site] += d.per_day
        lanes_of: dict[str, list[Lane]] = defaultdict(list)
        for lanes in self.lanes_in.values():
            for ln in lanes:
                lanes_of[ln.part].append(ln)
        for part in self.topological_parts():
            here = by_part[part]
            self._push_lanes(part, lanes_of.get(part, []), here)
            for site, q in list(here.items()):
                # A node fed by lanes buys the part; a node without lanes makes it from children.
                if q > 0 and (site, part) not in self.lanes_in:
                    for b in self.children.get(part, []):
                        by_part[b.child][site] += q * b.qty
        return {(s, p): q for p, sites in by_part.items() for s, q in sites.items()}

    def _push_lanes(self, part: str, lanes: list[Lane], here: dict[str, float]) -> None:
        """Move requirements of ``part`` from customers to suppliers along its lanes.

        Sites are processed customers-first (Kahn's order on the part's lane graph), so a
        distributor passes on its whole requirement, not the part it had seen so far.
        """
        if not lanes:
            return
        waiting: dict[str, int] = defaultdict(int)  # site -> customer lanes not yet processed
        for ln in lanes:
            waiting[ln.supplier] += 1
        ready = sorted({ln.customer for ln in lanes} - set(waiting))
        while ready:
            site = ready.pop()
            q = here.get(site, 0.0)
            for ln in self.lanes_in.get((site, part), []):
                if q:
                    here[ln.supplier] += q * self.supply_share(ln)
                waiting[ln.supplier] -= 1
                if waiting[ln.supplier] == 0:
                    ready.append(ln.supplier)

    def topological_parts(self) -> list[str]:
        """Parts ordered parents before children (finished goods first)."""
        indeg: dict[str, int] = dict.fromkeys(self.parts, 0)
        for lines in self.children.values():
            for b in lines:
                indeg[b.child] += 1
        ready = sorted(p for p, d in indeg.items() if d == 0)
        order: list[str] = []
        while ready:
            p = ready.pop(0)
            order.append(p)
            for b in self.children.get(p, []):
                indeg[b.child] -= 1
                if indeg[b.child] == 0:
                    ready.append(b.child)
        return order

    def plants(self) -> list[str]:
        """Sites with finished-goods demand."""
        return sorted({s for (s, _p) in self.demand})


def _unique(out: list[Problem], section: str, ids: list[str]) -> set[str]:
    seen: set[str] = set()
    for i, x in enumerate(ids):
        if x in seen:
            out.append(
                Problem(f"duplicate id {x!r} in {section}", (section, i, "id"), code="duplicate")
            )
        seen.add(x)
    return seen
