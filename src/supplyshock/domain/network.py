"""The supply network: companies, sites, parts, BOM, lanes, inventory, demand, alternates.

Quantities are per day (flows) or units (stocks). A *node* of the network is a (site, part)
pair: a site making, holding or consuming a part. BOM lines are site-independent: wherever a
parent part is made, it needs ``qty`` of each child per unit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from functools import cached_property
from typing import Any

from pydantic import Field, model_validator

from supplyshock.domain.network_index import NetworkIndex
from supplyshock.domain.network_records import (
    Alternate,
    BomLine,
    CapacityGroup,
    Company,
    Demand,
    Inventory,
    Lane,
    NetworkMeta,
    Part,
    Production,
    Record,
    Site,
)
from supplyshock.domain.problems import Path, Problem

# Re-exported: the records and the index are imported from here.
__all__ = [
    "SHARE_TOLERANCE",
    "Alternate",
    "BomLine",
    "CapacityGroup",
    "Company",
    "Demand",
    "Inventory",
    "Lane",
    "Network",
    "NetworkIndex",
    "NetworkMeta",
    "Part",
    "Production",
    "Site",
]

SHARE_TOLERANCE = 1e-6
# The largest daily requirement of any node that demand and BOM quantities may imply.
MAX_REQUIREMENT = 1e12


class Network(Record):
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

        # Membership tested inline: a call per field costs seconds on a million rows.
        for i, s in enumerate(self.sites):
            if s.company not in comp:
                ref(("sites", i, "company"), s.company, comp, "company")
        for i, p in enumerate(self.parts):
            ref(("parts", i, "maker"), p.maker, comp, "company")
        bom_seen: dict[tuple[str, str, object], int] = {}
        sited = "site" in BomLine.model_fields  # getattr on a missing field is slow in pydantic
        for i, b in enumerate(self.bom):
            # One line per (parent, child) (per site, where a line names one): a repeated pair
            # is a typo, and the LP's matrix must not hold the same entry twice.
            key = (b.parent, b.child, getattr(b, "site", None) if sited else None)
            if key in bom_seen:
                out.append(
                    Problem(
                        f"BOM line {b.parent} -> {b.child} repeats bom[{bom_seen[key]}]: "
                        "give one line with the total qty",
                        ("bom", i, "child"),
                        code="duplicate_line",
                    )
                )
            bom_seen.setdefault(key, i)
            if b.parent not in parts or b.child not in parts:
                ref(("bom", i, "parent"), b.parent, parts, "part")
                ref(("bom", i, "child"), b.child, parts, "part")
            if b.parent == b.child:
                out.append(
                    Problem("a part cannot contain itself", ("bom", i, "child"), code="cycle")
                )
        for i, ln in enumerate(self.lanes):
            if ln.supplier not in sites or ln.customer not in sites or ln.part not in parts:
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
                if r.site not in sites or r.part not in parts:
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
        if not out:  # requirements need known references and an acyclic BOM
            out += self._requirement_problems()
        return out

    def _requirement_problems(self) -> list[Problem]:
        """Demand times BOM quantities beyond MAX_REQUIREMENT a day at some node.

        Each field is bounded, but their product down a deep BOM is not; past ~1e13 a day the
        survival LP loses precision (HiGHS gives up) and Monte Carlo overflows.
        """
        if not self.demand:
            return []
        req = self.index.requirements()  # cached: the loader returns this very network
        (site, part), q = max(req.items(), key=lambda kv: kv[1], default=(("", ""), 0.0))
        if q <= MAX_REQUIREMENT:
            return []
        i = max(range(len(self.demand)), key=lambda k: self.demand[k].per_day)
        return [
            Problem(
                f"demand times BOM quantities needs {q:.3g} units a day of part {part!r} at "
                f"site {site!r}, more than {MAX_REQUIREMENT:g}: check per_day and BOM qty",
                ("demand", i, "per_day"),
                code="bound",
            )
        ]

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


def _unique(out: list[Problem], section: str, ids: list[str]) -> set[str]:
    seen: set[str] = set()
    for i, x in enumerate(ids):
        if x in seen:
            out.append(
                Problem(f"duplicate id {x!r} in {section}", (section, i, "id"), code="duplicate")
            )
        seen.add(x)
    return seen
