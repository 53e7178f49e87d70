"""Exposure: the measures reaching each plant and product, their paths, and the share at risk.

The method (documented for users in ``docs/exposure.md``):

* A **path** starts at a plant making a finished product and walks upstream: down the BOM at a
  site that makes a part, up the lanes at a site that buys it, until a node has neither (a mine,
  or a part whose supply is not modelled). A node is a (site, part) pair. Each lane crossed is a
  **hop**; hop ``tier`` 1 is the lane into the plant.
* A hop whose supplier and customer are in different countries is a shipment across a border:
  it is checked with :meth:`Registry.in_force` for the shipped item (HS code, part number, maker,
  country made in, element mass fractions, countries the element-bearing content was produced
  in). Domestic lanes are never reached: the measures are export and import measures.
* A hop is **hit** when one of its effects is a ban or a licence (:data:`RISK_EFFECTS`).
  Tariffs and carve-outs that exempt the shipment are reported but put nothing at risk.
* A path's ``share`` is the product of the lanes' supply shares; its ``share_at_risk`` is the
  product up to and including its first hit hop (what is upstream of it is lost anyway). Its
  ``days_of_cover`` adds, over the nodes downstream of that hop (the hop's customer up to the
  plant), the node's inventory (on hand + in transit) divided by its daily requirement.
* A product's share at risk combines per node: a bought part's risk is the share-weighted risk
  of its lanes (1 for a hit lane, else the risk of the supplier's node); a made part's risk is
  the largest risk among its BOM inputs, since every input is needed. This is ``risk(plant,
  product)``; the minimum days of cover is taken over the product's at-risk paths.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

from supplyshock.analysis.shipped import Node, element_origins, shipped_item
from supplyshock.domain.controls import Effect, Item, Registry
from supplyshock.domain.network import Lane, Network

# Re-exported: callers and tests import the shipped item from here.
__all__ = [
    "RISK_EFFECTS",
    "ExposurePath",
    "ExposureReport",
    "Hop",
    "MeasureReach",
    "Node",
    "ProductExposure",
    "element_origins",
    "exposure",
    "shipped_item",
]

RISK_EFFECTS = frozenset({"ban", "licence"})


@dataclass(frozen=True)
class Hop:
    """One lane on a path: ``supplier`` ships ``part`` to ``customer``."""

    tier: int
    customer: str
    customer_country: str
    part: str
    hs_code: str
    lane: str
    supplier: str
    supplier_country: str
    crosses_border: bool
    lane_share: float
    effects: tuple[Effect, ...] = ()

    @property
    def hit(self) -> bool:
        return any(e.effect in RISK_EFFECTS for e in self.effects)


@dataclass(frozen=True)
class ExposurePath:
    """One chain of lanes from a plant up to a source, with what happens on each lane."""

    plant: str
    product: str
    hops: tuple[Hop, ...]
    share: float
    at_risk: bool
    hit_tier: int | None  # the hit hop closest to the plant
    share_at_risk: float
    days_of_cover: float | None  # None when the path is not at risk
    measures: tuple[str, ...]  # ids of the measures with an effect on any hop

    @property
    def reached(self) -> bool:
        return bool(self.measures)


@dataclass(frozen=True)
class MeasureReach:
    """One measure reaching a plant's product: its effects and on how many paths."""

    measure_id: str
    title: str
    jurisdiction: str
    effects: tuple[str, ...]  # effect kinds seen on the paths (ban, licence, tariff, exempt...)
    paths: int
    at_risk_paths: int  # paths on which this measure's ban or licence hits a lane
    carve_outs: tuple[str, ...] = ()
    # Whether the measure's state that day rests on a scheduled change no source confirms
    # (a suspension's end, a phase-in), and whether the day lies past the measure's last
    # review: a plant's plan should not treat either as settled.
    certainty: str = "confirmed"  # or "scheduled_unconfirmed"
    uncertainty: str | None = None
    last_reviewed: date | None = None
    staleness: str = "current"  # "stale" past the last review, or "never_reviewed"
    staleness_warning: str | None = None

    @property
    def unconfirmed(self) -> bool:
        return self.certainty == "scheduled_unconfirmed"

    @property
    def stale(self) -> bool:
        return self.staleness == "stale"

    def caveat(self) -> str:
        """The plain-words note shown next to the measure; empty when there is nothing to say."""
        if not self.unconfirmed and self.staleness == "current":
            return ""
        bits = []
        if self.unconfirmed:
            bits.append(f"scheduled, unconfirmed: {self.uncertainty or 'no source confirms it'}")
        reviewed = self.last_reviewed.isoformat() if self.last_reviewed else "never"
        bits.append(f"last reviewed {reviewed}")
        if self.stale:
            bits.append("the date asked about is past the last review")
        return " — ".join(bits)


@dataclass(frozen=True)
class ProductExposure:
    """A plant's finished product: the measures reaching it and its paths."""

    plant: str
    plant_country: str
    product: str
    per_day: float
    measures: tuple[MeasureReach, ...]
    share_at_risk: float
    min_days_of_cover: float | None
    paths: tuple[ExposurePath, ...]

    @property
    def at_risk(self) -> bool:
        return self.share_at_risk > 0


@dataclass(frozen=True)
class ExposureReport:
    network: str
    synthetic: bool
    sector: str | None
    on: date
    as_of: date | None
    products: tuple[ProductExposure, ...]


def exposure(
    network: Network,
    registry: Registry,
    on: date,
    *,
    as_of: date | None = None,
    plant: str | None = None,
) -> ExposureReport:
    """Exposure of every plant (site with demand) and finished product on date ``on``.

    Parameters
    ----------
    network : the supply network; its ``meta.sector`` is the sector carve-outs are checked for.
    registry : the measure registry.
    on : the day the measures are evaluated for.
    as_of : only what had been announced by this day counts (``None``: everything known).
    plant : only this plant's products (raises ``KeyError`` naming the plants if unknown).
    """
    idx = network.index
    if plant is not None and plant not in idx.plants():
        known = ", ".join(idx.plants()) or "none"
        raise KeyError(f"unknown plant {plant!r} (plants with demand: {known})")
    walker = _Walker(network, registry, on, as_of)
    products = [
        walker.product(site, part)
        for (site, part) in sorted(idx.demand)
        if plant is None or site == plant
    ]
    return ExposureReport(
        network=network.meta.name,
        synthetic=network.meta.synthetic,
        sector=network.meta.sector,
        on=on,
        as_of=as_of,
        products=tuple(products),
    )


@dataclass
class _Tally:
    """What one measure does across a product's paths (paths counted by their index)."""

    first: Effect
    kinds: set[str] = field(default_factory=set)
    paths: set[int] = field(default_factory=set)
    risk_paths: set[int] = field(default_factory=set)
    carve_outs: set[str] = field(default_factory=set)

    def reach(self) -> MeasureReach:
        e = self.first
        return MeasureReach(
            measure_id=self.first.measure_id,
            title=self.first.title,
            jurisdiction=self.first.jurisdiction,
            effects=tuple(sorted(self.kinds)),
            paths=len(self.paths),
            at_risk_paths=len(self.risk_paths),
            carve_outs=tuple(sorted(self.carve_outs)),
            certainty=e.certainty,
            uncertainty=e.uncertainty,
            last_reviewed=e.last_reviewed,
            staleness=e.staleness,
            staleness_warning=e.staleness_warning,
        )


class _Walker:
    """Walks a network for one (date, as_of); caches per-lane effects and per-node results."""

    def __init__(self, network: Network, registry: Registry, on: date, as_of: date | None):
        self.net = network
        self.idx = network.index
        self.registry = registry
        self.on = on
        self.as_of = as_of
        self._effects: dict[str, tuple[Effect, ...]] = {}
        self._origins: dict[Node, frozenset[str]] = {}
        self._risk: dict[Node, float] = {}

    @cached_property
    def requirements(self) -> dict[Node, float]:
        return self.idx.requirements()

    # -- one plant's product ---------------------------------------------------------------

    def product(self, site: str, part: str) -> ProductExposure:
        paths = [
            self._path(site, part, nodes, hops, at) for nodes, hops, at in self._walk(site, part)
        ]
        tallies: dict[str, _Tally] = {}
        for n, p in enumerate(paths):
            for hop in p.hops:
                for e in hop.effects:
                    t = tallies.setdefault(e.measure_id, _Tally(e))
                    if e.certainty != "confirmed":
                        t.first = e  # report the doubt if any lane's state rests on it
                    t.kinds.add(e.effect)
                    t.paths.add(n)
                    if e.carve_out:
                        t.carve_outs.add(e.carve_out)
                    if e.effect in RISK_EFFECTS:
                        t.risk_paths.add(n)
        measures = tuple(tallies[mid].reach() for mid in sorted(tallies))
        covers = [p.days_of_cover for p in paths if p.at_risk and p.days_of_cover is not None]
        return ProductExposure(
            plant=site,
            plant_country=self.idx.sites[site].country,
            product=part,
            per_day=self.idx.demand[(site, part)].per_day,
            measures=measures,
            share_at_risk=self.risk((site, part), frozenset()),
            min_days_of_cover=min(covers) if covers else None,
            paths=tuple(paths),
        )

    def _walk(
        self, site: str, part: str
    ) -> Iterator[tuple[tuple[Node, ...], tuple[Hop, ...], tuple[int, ...]]]:
        """Every path from (site, part) upstream: its nodes, hops and each hop's customer node.

        ``at[k]`` is the index in ``nodes`` of hop ``k``'s customer node.
        """
        stack: list[tuple[Node, tuple[Node, ...], tuple[Hop, ...], tuple[int, ...]]] = [
            ((site, part), (), (), ())
        ]
        # Depth-first with an explicit stack, pushing in reverse so paths come out in order.
        while stack:
            node, nodes, hops, at = stack.pop()
            if node in nodes:
                continue  # a lane cycle in the data: stop rather than loop
            nodes = (*nodes, node)
            s, p = node
            lanes = sorted(self.idx.lanes_in.get(node, []), key=lambda ln: ln.id)
            if lanes:
                for ln in reversed(lanes):
                    hop = self._hop(ln, len(hops) + 1)
                    stack.append(((ln.supplier, p), nodes, (*hops, hop), (*at, len(nodes) - 1)))
                continue
            children = sorted(self.idx.children.get(p, []), key=lambda b: b.child)
            if children:
                for b in reversed(children):
                    stack.append(((s, b.child), nodes, hops, at))
            elif hops:
                yield nodes, hops, at

    def _path(
        self,
        plant: str,
        product: str,
        nodes: tuple[Node, ...],
        hops: tuple[Hop, ...],
        at: tuple[int, ...],
    ) -> ExposurePath:
        share = 1.0
        share_at_risk = 0.0
        hit: int | None = None
        for k, hop in enumerate(hops):
            share *= hop.lane_share
            if hit is None and hop.hit:
                hit = k
                share_at_risk = share
        cover = None if hit is None else self._cover(nodes[: at[hit] + 1])
        measures = sorted({e.measure_id for h in hops for e in h.effects})
        return ExposurePath(
            plant=plant,
            product=product,
            hops=hops,
            share=share,
            at_risk=hit is not None,
            hit_tier=None if hit is None else hops[hit].tier,
            share_at_risk=share_at_risk,
            days_of_cover=cover,
            measures=tuple(measures),
        )

    def _cover(self, nodes: tuple[Node, ...]) -> float:
        """Days of stock held at ``nodes``: sum of inventory / daily requirement per node."""
        days = 0.0
        for node in nodes:
            need = self.requirements.get(node, 0.0)
            inv = self.idx.inventory.get(node)
            if need > 0 and inv is not None:
                days += (inv.on_hand + inv.in_transit) / need
        return days

    # -- one lane --------------------------------------------------------------------------

    def _hop(self, ln: Lane, tier: int) -> Hop:
        sup = self.idx.sites[ln.supplier]
        cus = self.idx.sites[ln.customer]
        return Hop(
            tier=tier,
            customer=ln.customer,
            customer_country=cus.country,
            part=ln.part,
            hs_code=self.idx.parts[ln.part].hs_code,
            lane=ln.id,
            supplier=ln.supplier,
            supplier_country=sup.country,
            crosses_border=sup.country != cus.country,
            lane_share=self.idx.supply_share(ln),
            effects=self.effects(ln),
        )

    def effects(self, ln: Lane) -> tuple[Effect, ...]:
        """What the registry does to a lane's shipment; nothing for a domestic lane."""
        if ln.id not in self._effects:
            sup = self.idx.sites[ln.supplier]
            cus = self.idx.sites[ln.customer]
            found: tuple[Effect, ...] = ()
            if sup.country != cus.country:
                found = tuple(
                    sorted(
                        self.registry.in_force(
                            self.on,
                            self.item(ln.supplier, ln.part),
                            origin=sup.country,
                            destination=cus.country,
                            sector=self.net.meta.sector,
                            as_of=self.as_of,
                        ),
                        key=lambda e: e.measure_id,
                    )
                )
            self._effects[ln.id] = found
        return self._effects[ln.id]

    def item(self, supplier: str, part_id: str) -> Item:
        return shipped_item(self.net, supplier, part_id, cache=self._origins)

    # -- combined risk ---------------------------------------------------------------------

    def risk(self, node: Node, trail: frozenset[Node]) -> float:
        """Share of a node's supply at risk: share-weighted over lanes, max over BOM inputs."""
        if node in self._risk:
            return self._risk[node]
        if node in trail:
            return 0.0
        trail = trail | {node}
        site, part = node
        lanes = self.idx.lanes_in.get(node)
        if lanes:
            value = 0.0
            for ln in lanes:
                hit = any(e.effect in RISK_EFFECTS for e in self.effects(ln))
                sub = 1.0 if hit else self.risk((ln.supplier, part), trail)
                value += self.idx.supply_share(ln) * sub
        else:
            value = max(
                (self.risk((site, b.child), trail) for b in self.idx.children.get(part, [])),
                default=0.0,
            )
        value = min(1.0, max(0.0, value))
        self._risk[node] = value
        return value
