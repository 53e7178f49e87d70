"""The built-in synthetic scenario auto-2025: it loads, says it is synthetic, cites its figures,
and (with the built-in registry) shows the 2025 Nexperia ban and rare-earth licences."""

from __future__ import annotations

import re
from datetime import date

import pytest

from supplyshock.analysis.exposure import ExposureReport, Hop, exposure
from supplyshock.data import builtin_network, builtin_registry, registry_files
from supplyshock.domain.controls import Registry
from supplyshock.domain.network import Network

DISCRETES = {"nx-mosfet", "nx-diode"}
TRACTION_MAGNETS = {"magnet-nw", "magnet-hs"}
EV_PRODUCTS = {"nw-bev", "hs-bev"}


@pytest.fixture(scope="module")
def net() -> Network:
    return builtin_network("auto-2025")


@pytest.fixture(scope="module")
def reg() -> Registry:
    assert registry_files(), "the built-in registry (data/registry/*.yaml) has no files"
    return builtin_registry()


def test_auto2025_loads_and_is_marked_synthetic_automotive(net: Network) -> None:
    assert net.meta.name == "auto-2025"
    assert net.meta.synthetic is True
    assert net.meta.sector == "automotive"
    assert "synthetic" in net.meta.description.casefold()
    assert net.problems() == []


def test_auto2025_has_car_plants_in_de_us_and_jp(net: Network) -> None:
    idx = net.index
    countries = {idx.sites[s].country for s in idx.plants()}
    assert countries == {"DE", "US", "JP"}
    assert all(idx.parts[p].finished for (_s, p) in idx.demand)


def test_every_source_cited_in_the_notes_is_listed(net: Network) -> None:
    listed = {s.id for s in net.meta.sources}
    cited = {c for note in net.meta.notes.values() for c in re.findall(r"\[([a-z0-9-]+)\]", note)}
    assert cited, "the notes cite no source at all"
    assert cited <= listed
    # Every listed source is used, and every note says whether its figure is sourced or assumed.
    assert listed <= cited
    for figure, note in net.meta.notes.items():
        assert "[" in note or "Assumption" in note or "Derived" in note, figure


def test_nexperia_wafers_come_from_nl_and_gb_and_are_packaged_in_cn(net: Network) -> None:
    idx = net.index
    assert idx.companies["nexperia"].name == "Nexperia"
    wafer_from = {idx.sites[ln.supplier].country for ln in net.lanes if ln.part == "nx-wafer"}
    assert wafer_from == {"NL", "GB"}
    assert idx.sites["NX-DGN"].country == "CN"
    assert {idx.parts[p].maker for p in DISCRETES} == {"nexperia"}


def test_traction_magnets_carry_a_few_percent_dy(net: Network) -> None:
    for pid in TRACTION_MAGNETS:
        part = net.index.parts[pid]
        assert part.mass_kg is not None
        share = part.elements["Dy"] / part.mass_kg
        assert 0.01 <= share <= 0.05, (pid, share)


def _hops(report: ExposureReport, plant: str, parts: set[str]) -> list[Hop]:
    return [
        h
        for pe in report.products
        if pe.plant == plant
        for path in pe.paths
        for h in path.hops
        if h.part in parts
    ]


def _nexperia_effects(hop: Hop) -> list[str]:
    return [e.effect for e in hop.effects if any("Nexperia" in r for r in e.reached_by)]


def test_nexperia_ban_reaches_every_plant_through_the_discretes(
    net: Network, reg: Registry
) -> None:
    report = exposure(net, reg, date(2025, 10, 15))
    for plant in net.index.plants():
        hops = _hops(report, plant, DISCRETES)
        banned = [h for h in hops if "ban" in _nexperia_effects(h)]
        assert banned, f"{plant}: no discretes lane hit by the Nexperia ban"
        assert all(h.supplier_country == "CN" for h in banned)
    assert all(pe.at_risk for pe in report.products)


def test_automotive_exemption_lifts_the_chip_risk_but_not_the_rare_earth_licence(
    net: Network, reg: Registry
) -> None:
    report = exposure(net, reg, date(2025, 11, 10))
    for plant in net.index.plants():
        hops = _hops(report, plant, DISCRETES)
        reported = [_nexperia_effects(h) for h in hops if _nexperia_effects(h)]
        assert reported and all(effs == ["exempt"] for effs in reported), plant
        assert not any(h.hit for h in hops), plant
    for pe in report.products:
        if pe.product not in EV_PRODUCTS:
            continue
        magnet_hits = [
            e
            for path in pe.paths
            if path.at_risk
            for h in path.hops
            if h.hit
            for e in h.effects
            if e.effect == "licence" and h.part in TRACTION_MAGNETS | {"dy-oxide"}
        ]
        assert magnet_hits, f"{pe.plant}/{pe.product}: the EV motor path is not under licence"
        assert pe.share_at_risk > 0
