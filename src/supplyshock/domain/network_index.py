"""Lookups of a supply network built once per (immutable) network: by id, by node, by part,
and the quantities derived from them (supply shares, element content, requirements)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from supplyshock.domain.network_records import (
    Alternate,
    BomLine,
    Company,
    Demand,
    Inventory,
    Lane,
    Part,
    Site,
)

if TYPE_CHECKING:
    from supplyshock.domain.network import Network


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
                # A derived sum, not input: each row was bounded, the total may exceed the bound.
                else Inventory.model_construct(
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
