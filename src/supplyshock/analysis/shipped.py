"""The item as the registry sees a shipment: HS code, maker, where it was made, what it holds.

Shared by the exposure walk (``exposure.py``), the Monte Carlo gates and the survival measure
sweep, so all three ask the registry about the same item for the same lane.
"""

from __future__ import annotations

from supplyshock.domain.controls import Item
from supplyshock.domain.network import Network

Node = tuple[str, str]  # (site id, part id)


def shipped_item(
    network: Network,
    supplier: str,
    part_id: str,
    *,
    cache: dict[Node, frozenset[str]] | None = None,
) -> Item:
    """The item as shipped from ``supplier``: who made it where, and what it contains.

    The maker is the part's own maker company (branded parts), else the supplier's company;
    ``elements`` are mass fractions (element kg per unit / unit mass), ``None`` where the unit
    mass is unknown.
    """
    idx = network.index
    part = idx.parts[part_id]
    site = idx.sites[supplier]
    company = idx.companies.get(part.maker or site.company)
    content = idx.element_content(part_id)
    elements: dict[str, float | None] = {
        el: (kg / part.mass_kg if part.mass_kg else None)
        for el, kg in sorted(content.items())
        if kg > 0
    }
    return Item(
        hs_code=part.hs_code,
        part_number=part.pn,
        maker=company.name if company else None,
        made_in=site.country,
        elements=elements,
        element_origins=element_origins(network, supplier, part_id, cache=cache),
    )


def element_origins(
    network: Network, site: str, part: str, *, cache: dict[Node, frozenset[str]] | None = None
) -> frozenset[str]:
    """Countries where the element-bearing content of (site, part) was made or processed.

    A site that makes the part adds its own country and those of its element-bearing BOM
    inputs; a site that buys it passes on its suppliers' countries. A part without element
    content has no origins.
    """
    return _origins_of(network, (site, part), frozenset(), {} if cache is None else cache)


def _origins_of(
    network: Network, node: Node, trail: frozenset[Node], cache: dict[Node, frozenset[str]]
) -> frozenset[str]:
    if node in cache:
        return cache[node]
    idx = network.index
    site, part = node
    if node in trail or not idx.element_content(part):
        return frozenset()
    trail = trail | {node}
    lanes = idx.lanes_in.get(node)
    out: set[str] = set()
    if lanes:
        for ln in lanes:
            out |= _origins_of(network, (ln.supplier, part), trail, cache)
    else:
        out.add(idx.sites[site].country)
        for b in idx.children.get(part, []):
            out |= _origins_of(network, (site, b.child), trail, cache)
    cache[node] = frozenset(out)
    return cache[node]
