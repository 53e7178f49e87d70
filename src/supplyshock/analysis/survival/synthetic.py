"""Seeded synthetic supply networks for survival tests and benchmarks (not real data).

The default size follows what was published for Ford's network (Simchi-Levi et al., 2015):
about 4,400 supplier sites over up to 10 tiers, 50 plants and tens of thousands of part-site
nodes. Tier-k parts are made by tier-k suppliers from tier-(k+1) parts; some parts have a
second source, some sites a capacity shared between their parts, some parts a qualified
alternate supplied over a lane that carries nothing today.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from typing import Any

from supplyshock.domain.network import Network

_COUNTRIES = ["DE", "CN", "US", "JP", "MX", "KR", "CZ", "PL", "IN", "FR", "ES", "TH"]


def synthetic_network(
    *,
    suppliers: int = 4400,
    plants: int = 50,
    tiers: int = 10,
    parts_per_supplier: float = 2.5,
    second_source: float = 0.3,
    alternates: float = 0.03,
    seed: int = 0,
    short_share: float = 0.0,
) -> Network:
    """A random but reproducible network; the same arguments give the same network.

    ``short_share`` > 0 gives the *crisis* variant: that share of the capacity rows
    (production capacities and capacity groups) is cut to 60-90 % of what it was; those that
    fall below today's need make the network short before anything fails
    (``crisis_network``: 5 % cut; at the default size 411 rows, 4.3 % of capacity rows, end
    up short).
    """
    if suppliers < tiers or plants < 1 or tiers < 1:
        raise ValueError("need at least one plant, one tier and one supplier per tier")
    rng = random.Random(seed)
    data: dict[str, list[dict[str, Any]]] = defaultdict(list)
    data["companies"].append({"id": "oem", "name": "OEM", "country": "DE"})
    tier_sites: list[list[str]] = [[] for _ in range(tiers + 1)]
    for i in range(plants):
        sid = f"P{i:03d}"
        data["sites"].append(
            {
                "id": sid,
                "company": "oem",
                "country": rng.choice(_COUNTRIES[:6]),
                "ttr_days": float(rng.randint(5, 30)),
            }
        )
        tier_sites[0].append(sid)
    for i in range(suppliers):
        tier = 1 + i * tiers // suppliers
        sid = f"S{i:05d}"
        country = rng.choice(_COUNTRIES)
        data["companies"].append({"id": sid, "name": f"Supplier {i}", "country": country})
        data["sites"].append(
            {"id": sid, "company": sid, "country": country, "ttr_days": float(rng.randint(5, 90))}
        )
        tier_sites[tier].append(sid)

    # Parts per tier; tier 0 are vehicles (one or two models per plant).
    tier_parts: list[list[str]] = [[] for _ in range(tiers + 1)]
    makers: dict[str, list[str]] = {}
    made_at: dict[str, str] = {}  # vehicle -> plant
    for plant in tier_sites[0]:
        for k in range(rng.randint(1, 2)):
            pid = f"V{plant[1:]}{k}"
            tier_parts[0].append(pid)
            made_at[pid] = plant
            data["parts"].append({"id": pid, "hs_code": "870380", "finished": True})
    for tier in range(1, tiers + 1):
        n = max(2, round(parts_per_supplier * len(tier_sites[tier]) / (1 + second_source)))
        for j in range(n):
            pid = f"C{tier:02d}-{j:05d}"
            tier_parts[tier].append(pid)
            src = [rng.choice(tier_sites[tier])]
            if rng.random() < second_source and len(tier_sites[tier]) > 1:
                src.append(rng.choice([s for s in tier_sites[tier][:50] if s != src[0]]))
            makers[pid] = src
            data["parts"].append({"id": pid, "hs_code": "870899", "maker": src[0]})

    # BOM: every part of tier k+1 has a parent in tier k, plus a few more links.
    children: dict[str, dict[str, int]] = defaultdict(dict)
    for tier in range(tiers):
        parents, kids = tier_parts[tier], tier_parts[tier + 1]

        # Deep BOMs multiply quantities: keep them near 1 below the vehicle.
        def qty() -> int:
            return rng.randint(1, 4) if tier == 0 else rng.choice([1, 1, 1, 1, 2])  # noqa: B023

        for c in kids:
            children[rng.choice(parents)][c] = qty()
        extra = 20 if tier == 0 else 1
        for p in parents:
            for c in rng.sample(kids, min(len(kids), rng.randint(0, extra))):
                children[p].setdefault(c, qty())
    for p, kids_q in children.items():
        for c, q in kids_q.items():
            data["bom"].append({"parent": p, "child": c, "qty": q})

    # Lanes: every site making a part buys its children from their makers.
    lanes: set[tuple[str, str, str]] = set()
    for tier in range(tiers):
        for p in tier_parts[tier]:
            sites = [made_at[p]] if tier == 0 else makers[p]
            for site in sites:
                for c in children.get(p, {}):
                    for k, sup in enumerate(makers[c]):
                        if (sup, site, c) in lanes:
                            continue
                        lanes.add((sup, site, c))
                        share = 1.0 if len(makers[c]) == 1 else (0.7 if k == 0 else 0.3)
                        data["lanes"].append(
                            {
                                "id": f"L{len(data['lanes'])}",
                                "supplier": sup,
                                "customer": site,
                                "part": c,
                                "share": share,
                                "lead_time_days": rng.randint(1, 30),
                            }
                        )
    for v, plant in made_at.items():
        data["demand"].append(
            {
                "site": plant,
                "part": v,
                "per_day": float(rng.randint(200, 1000)),
                "margin_per_unit": float(rng.randint(1000, 5000)),
            }
        )
    # Alternates: another part of the same tier, qualified after weeks, over a lane that is
    # empty today from a maker with spare capacity.
    spare_makers: set[tuple[str, str]] = set()
    buyers: dict[str, list[str]] = defaultdict(list)
    for _sup, site, c in sorted(lanes):
        buyers[c].append(site)
    for tier in range(2, tiers + 1):
        for p in tier_parts[tier]:
            if rng.random() >= alternates:
                continue
            alt = rng.choice(tier_parts[tier])
            users = buyers.get(p, [])[:1]
            if alt == p or not users:
                continue
            site = users[0]
            sup = makers[alt][0]
            if (sup, site, alt) not in lanes:
                lanes.add((sup, site, alt))
                data["lanes"].append(
                    {
                        "id": f"L{len(data['lanes'])}",
                        "supplier": sup,
                        "customer": site,
                        "part": alt,
                        "share": 0.0,
                    }
                )
            spare_makers.add((sup, alt))
            data["alternates"].append(
                {
                    "part": p,
                    "alternate": alt,
                    "site": site,
                    "qualification_days": float(rng.choice([14, 30, 45, 60])),
                }
            )
    base = Network.model_validate(
        {"meta": {"name": f"synthetic-{seed}", "synthetic": True}, **data}
    )

    from supplyshock.analysis.survival.model import requirements

    req = requirements(base)
    lanes_in = {(c, s) for (_sup, s, c) in lanes}
    for (site, part), rate in sorted(req.items()):
        if rate <= 0:
            continue
        if (part, site) in lanes_in:
            data["inventory"].append(
                {
                    "site": site,
                    "part": part,
                    "on_hand": round(rate * rng.uniform(0, 12), 1),
                    "in_transit": round(rate * rng.uniform(0, 4), 1),
                }
            )
        elif part in made_at and rng.random() < 0.5:
            data["inventory"].append({"site": site, "part": part, "on_hand": round(rate * 2, 1)})
    site_parts: dict[str, list[str]] = defaultdict(list)
    for p, ss in makers.items():
        for s in ss:
            site_parts[s].append(p)
    groups = 0
    for tier_list in tier_sites[1:]:
        for s in tier_list:
            made = [(s, p) for p in site_parts[s]]
            spare = rng.random()
            if len(made) > 1 and spare < 0.2:
                cap = sum(req.get(node, 0.0) for node in made) * rng.uniform(1.0, 1.4)
                gid = f"G{groups}"
                groups += 1
                data["capacity_groups"].append({"id": gid, "capacity_per_day": _up(cap)})
                for site, part in made:
                    data["production"].append({"site": site, "part": part, "capacity_group": gid})
            else:
                for site, part in made:
                    factor = 1.5 if (site, part) in spare_makers else rng.choice([1.0, 1.1, 1.3])
                    data["production"].append(
                        {
                            "site": site,
                            "part": part,
                            "capacity_per_day": _up(req.get((site, part), 0.0) * factor),
                        }
                    )
    if short_share > 0:
        # A separate stream, so the healthy network (short_share 0) stays as it was.
        capped = [p for p in data["production"] if "capacity_per_day" in p]
        _make_short(capped + data["capacity_groups"], short_share, random.Random(seed + 7919))
    return Network.model_validate(
        {"meta": {"name": f"synthetic-{seed}", "synthetic": True}, **data}
    )


def crisis_network(*, seed: int = 0, short_share: float = 0.05, **kw: Any) -> Network:
    """The Ford-scale network with ``short_share`` of its capacity rows short (5 %)."""
    return synthetic_network(seed=seed, short_share=short_share, **kw)


def _make_short(records: list[dict[str, Any]], share: float, rng: random.Random) -> None:
    """Cut ``share`` of the capacity records (``capacity_per_day`` > 0) to 60-90 % of what
    they were (a capacity that had spare may stay above today's need)."""
    live = [r for r in records if r["capacity_per_day"] > 0]
    for r in rng.sample(live, round(share * len(live))):
        r["capacity_per_day"] = round(r["capacity_per_day"] * rng.uniform(0.6, 0.9), 6)


def three_tier_network(
    *,
    products: int = 50,
    tier2: int = 100,
    tier3: int = 200,
    plants: int = 5,
    short_share: float = 0.1,
    seed: int = 0,
) -> Network:
    """A three-tier network (finished products at plants; tier-2 and tier-3 suppliers, one
    node each: 350 nodes by default) in which ``short_share`` of the suppliers' capacity
    rows is cut to 60-90 % of what it was (5-50 % above today's need before), which leaves
    most of them short before anything fails (26 of 350 capacity rows at the defaults).

    A fifth of the parts of each supplier tier have a second source (sites beyond the
    number of parts make a part again); every plant keeps some stock of its inputs.
    """
    rng = random.Random(seed)
    data: dict[str, list[dict[str, Any]]] = defaultdict(list)
    data["companies"].append({"id": "oem", "name": "OEM", "country": "DE"})
    for k in range(plants):
        data["sites"].append({"id": f"P{k}", "company": "oem", "country": "DE", "ttr_days": 10.0})
    makers: dict[str, list[str]] = defaultdict(list)
    tiers: list[list[str]] = []
    for name, n_sites in (("T2", tier2), ("T3", tier3)):
        n_parts = max(1, round(n_sites * 0.8))
        tiers.append([f"{name}P{j:03d}" for j in range(n_parts)])
        for i in range(n_sites):
            sid = f"{name}-{i:03d}"
            country = rng.choice(_COUNTRIES)
            data["companies"].append({"id": sid, "name": sid, "country": country})
            data["sites"].append(
                {
                    "id": sid,
                    "company": sid,
                    "country": country,
                    "ttr_days": float(rng.randint(5, 60)),
                }
            )
            makers[tiers[-1][i % n_parts]].append(sid)
    finished = [f"F{j:02d}" for j in range(products)]
    made_at = {f: f"P{j % plants}" for j, f in enumerate(finished)}
    for f in finished:
        data["parts"].append({"id": f, "hs_code": "870380", "finished": True})
    for tier in tiers:
        for p in tier:
            data["parts"].append({"id": p, "hs_code": "870899", "maker": makers[p][0]})
    children: dict[str, dict[str, int]] = defaultdict(dict)
    for parents, kids, per in ((finished, tiers[0], 3), (tiers[0], tiers[1], 2)):
        for c in kids:  # every part has a parent
            children[rng.choice(parents)][c] = rng.randint(1, 2)
        for p in parents:
            for c in rng.sample(kids, per):
                children[p].setdefault(c, rng.randint(1, 2))
    for p, kq in children.items():
        for c, q in kq.items():
            data["bom"].append({"parent": p, "child": c, "qty": q})
    for p in finished + tiers[0]:
        for site in [made_at[p]] if p in made_at else makers[p]:
            for c in children[p]:
                for k, sup in enumerate(makers[c]):
                    share = 1.0 if len(makers[c]) == 1 else (0.6 if k == 0 else 0.4)
                    data["lanes"].append(
                        {"id": f"L{len(data['lanes'])}", "supplier": sup, "customer": site,
                         "part": c, "share": share}
                    )  # fmt: skip
    for f in finished:
        data["demand"].append(
            {
                "site": made_at[f],
                "part": f,
                "per_day": float(rng.randint(50, 200)),
                "margin_per_unit": float(rng.randint(1000, 5000)),
            }
        )
    base = Network.model_validate({"meta": {"name": f"three-tier-{seed}"}, **data})
    from supplyshock.analysis.survival.model import requirements

    req = requirements(base)
    supplier_made = {(s, p) for p, ss in makers.items() for s in ss}
    for (site, part), rate in sorted(req.items()):
        if rate <= 0:
            continue
        if (site, part) in supplier_made or part in made_at:
            cap = rate * (1.2 if part in made_at else rng.uniform(1.05, 1.5))
            data["production"].append({"site": site, "part": part, "capacity_per_day": _up(cap)})
        else:  # an input at its buyer: some stock
            data["inventory"].append(
                {"site": site, "part": part, "on_hand": round(rate * rng.uniform(0, 10), 1)}
            )
    suppliers = [p for p in data["production"] if p["part"] not in made_at]
    _make_short(suppliers, short_share, rng)
    meta = {"name": f"three-tier-{seed}", "synthetic": True}
    return Network.model_validate({"meta": meta, **data})


def _up(x: float) -> float:
    """Round a capacity up (6 decimals) so rounding never leaves it below today's need."""
    return math.ceil(x * 1e6) / 1e6
