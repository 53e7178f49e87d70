"""A synthetic layered supply network and registry of any size, for the benchmark and tests.

Made-up data, not a model of any industry: plants buy modules, module makers buy components,
component makers buy materials, material makers buy raw stock from mines. A third of the
material makers are in CN; a CN export licence reaches materials (HS 2846) and a CN ban
reaches the components of one maker. Every site holds ``cover_days`` of each input and lanes
carry their pipeline in transit, so nothing stops unless a measure bites.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from supplyshock.domain.controls import Registry
from supplyshock.domain.network import Inventory, Network
from supplyshock.formats.network import network_from_data
from supplyshock.formats.registry import registry_from_data

_TIERS = ("plant", "module", "component", "material", "mine")
_HS = {"plant": "870380", "module": "853710", "component": "854129", "material": "284690"}
_COUNTRIES = ("DE", "US", "JP", "KR", "MY", "CN")


def layered_network(
    sites: int = 500, *, seed: int = 0, cover_days: float = 20.0, dual_share: float = 0.3
) -> Network:
    """A network of about ``sites`` sites in five tiers (4 %, 16 %, 30 %, 30 %, 20 %).

    Each plant makes one car from 4 module types; each module type needs 3 component types,
    each component 2 materials, each material 1 raw stock. A node buys each input from one
    supplier of the right type, or from two (60/40) with probability ``dual_share``.
    """
    rng = np.random.default_rng(seed)
    shares = (0.04, 0.16, 0.30, 0.30, 0.20)
    counts = [max(1, round(sites * s)) for s in shares]
    types = {"module": 4, "component": 10, "material": 6, "mine": 4}
    tier_sites: dict[str, list[tuple[str, str, str]]] = {}  # tier -> (site, country, part)
    companies, site_rows, parts = [], [], []
    for tier, n in zip(_TIERS, counts, strict=True):
        rows = []
        for i in range(n):
            sid = f"{tier[:3].upper()}-{i:03d}"
            country = "CN" if tier == "material" and i % 3 == 0 else _COUNTRIES[i % 5]
            part = f"car-{i}" if tier == "plant" else f"{tier}-{i % types[tier]}"
            rows.append((sid, country, part))
            companies.append({"id": sid.lower(), "name": f"Company {sid}", "country": country})
            site_rows.append({"id": sid, "company": sid.lower(), "country": country})
        tier_sites[tier] = rows
    for _sid, _c, part in tier_sites["plant"]:
        parts.append({"id": part, "hs_code": _HS["plant"], "finished": True})
    for tier in ("module", "component", "material"):
        for k in range(types[tier]):
            elements = {"Dy": 0.1} if tier == "material" else {}
            parts.append(
                {"id": f"{tier}-{k}", "hs_code": _HS[tier], "mass_kg": 1.0, "elements": elements}
            )
    for k in range(types["mine"]):
        parts.append({"id": f"mine-{k}", "hs_code": "253090"})
    bom = []
    for _sid, _c, part in tier_sites["plant"]:
        bom += [{"parent": part, "child": f"module-{k}", "qty": 1} for k in range(4)]
    for k in range(types["module"]):
        bom += [
            {"parent": f"module-{k}", "child": f"component-{(3 * k + j) % 10}", "qty": 2}
            for j in range(3)
        ]
    for k in range(types["component"]):
        bom += [
            {"parent": f"component-{k}", "child": f"material-{(k + j) % 6}", "qty": 0.5}
            for j in range(2)
        ]
    for k in range(types["material"]):
        bom.append({"parent": f"material-{k}", "child": f"mine-{k % 4}", "qty": 1.5})
    children: dict[str, list[str]] = {}
    for b in bom:
        children.setdefault(str(b["parent"]), []).append(str(b["child"]))
    makers: dict[str, list[str]] = {}
    for tier in ("module", "component", "material", "mine"):
        for sid, _c, part in tier_sites[tier]:
            makers.setdefault(part, []).append(sid)
    lanes: list[dict[str, Any]] = []
    for tier in ("plant", "module", "component", "material"):
        for sid, _c, part in tier_sites[tier]:
            for child in children[part]:
                options = makers[child]
                if len(options) > 1 and rng.random() < dual_share:
                    picks = rng.choice(len(options), 2, replace=False)
                    split = [(options[int(picks[0])], 0.6), (options[int(picks[1])], 0.4)]
                else:
                    split = [(options[int(rng.integers(len(options)))], 1.0)]
                for sup, share in split:
                    lanes.append(
                        {
                            "id": f"L{len(lanes):05d}",
                            "supplier": sup,
                            "customer": sid,
                            "part": child,
                            "share": share,
                            "lead_time_days": int(rng.integers(2, 21)),
                        }
                    )
    demand = [
        {"site": sid, "part": part, "per_day": 100.0, "margin_per_unit": 2000.0}
        for sid, _c, part in tier_sites["plant"]
    ]
    net = network_from_data(
        {
            "meta": {"name": f"layered-{sites}", "synthetic": True, "sector": "automotive"},
            "companies": companies,
            "sites": site_rows,
            "parts": parts,
            "bom": bom,
            "lanes": lanes,
            "demand": demand,
        }
    )
    # Stock: cover_days of every bought input, and each lane's pipeline in transit.
    req = net.index.requirements()
    inventory = []
    for (site, part), need in sorted(req.items()):
        lanes_in = net.index.lanes_in.get((site, part), [])
        if need <= 0 or not lanes_in:
            continue
        pipe = sum(
            need * net.index.supply_share(ln) * max(1, round(ln.lead_time_days)) for ln in lanes_in
        )
        inventory.append(
            Inventory(site=site, part=part, on_hand=need * cover_days, in_transit=pipe)
        )
    # A fresh model, not model_copy: the copy would keep the index cached without inventory.
    fields = {k: getattr(net, k) for k in Network.model_fields}
    return Network.model_validate({**fields, "inventory": inventory})


def layered_registry() -> Registry:
    """A CN export licence on Dy-bearing materials and a CN ban on one component maker."""
    src = [
        {
            "id": "synthetic",
            "publisher": "supplyshock",
            "title": "made up",
            "published": "2025-01-01",
        }
    ]
    acts = [
        {
            "id": "act",
            "authority": "Synthetic",
            "jurisdiction": "CN",
            "title": "Synthetic act",
            "announced": "2025-01-01",
            "sources": ["synthetic"],
        }
    ]
    event = {
        "kind": "in_force",
        "effective": "2025-01-01",
        "summary": "in force",
        "sources": ["synthetic"],
    }
    measures = [
        {
            "id": "syn-licence",
            "act": "act",
            "title": "Licence on Dy-bearing materials",
            "jurisdiction": "CN",
            "direction": "export",
            "kind": "licence",
            "origins": {"mode": "only", "countries": ["CN"]},
            "scope": {"elements": ["Dy"], "within_hs": ["2846"]},
            "params": {"approval_share": 0.5, "review_days": 30},
            "events": [{**event, "id": "lic-in-force"}],
        },
        {
            "id": "syn-ban",
            "act": "act",
            "title": "Ban on one maker's components",
            "jurisdiction": "CN",
            "direction": "export",
            "kind": "ban",
            "scope": {"makers": [{"name": "Company COM-005"}]},
            "events": [{**event, "id": "ban-in-force"}],
        },
    ]
    return registry_from_data({"sources": src, "acts": acts, "measures": measures})
