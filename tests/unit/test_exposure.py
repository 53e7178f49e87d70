"""Exposure on a hand-made network and registry: every expected path and number derived below.

The network (plant P in DE makes 100 cars a day; every lane id is L<n>):

    car = motor x1 + ecu x1                    (made at P)
    P  <-L1- T1 (DE)  motor, share 1.0          T1 makes motor = magnet x1
    T1 <-L2- MCN (CN) magnet, share 0.6         magnets make = dyox x0.1 kg
    T1 <-L3- MJP (JP) magnet, share 0.4
    MCN <-L4- SEP (CN) dyox, share 1.0  (domestic in CN)
    MJP <-L5- SEP (CN) dyox, share 1.0
    P  <-L6- ECU (DE) ecu, share 1.0            ECU makes ecu = chip x10
    ECU <-L7- NXC (CN, Nexperia) chip, 0.75
    ECU <-L8- NXM (MY, Nexperia) chip, 0.25

Requirements (per day): (P,motor)=(T1,motor)=(T1,magnet)=100; (MCN,magnet)=60,
(MJP,magnet)=40; (MCN,dyox)=6, (MJP,dyox)=4; (P,ecu)=(ECU,ecu)=100; (ECU,chip)=1000.
Days of stock: (P,motor) 300/100=3, (T1,motor) 100/100=1, (T1,magnet) 1500/100=15,
(MJP,magnet) 80/40=2, (MJP,dyox) 40/4=10, (MCN,dyox) 60/6=10, (P,ecu) 200/100=2,
(ECU,ecu) 100/100=1, (ECU,chip) 20000/1000=20.

The registry: M-RE, a CN export licence on Dy and HS 2846 (from 2025-04-04); M-NX, a CN export
ban on Nexperia made in CN (from 2025-10-04) with CO-AUTO, an automotive exemption from
2025-11-01; M-TAR, a 10 % DE import tariff on goods from JP; M-LATE, a CN export ban on HS 8505
in force and first known on 2025-10-09.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from supplyshock.analysis.exposure import (
    ExposurePath,
    ProductExposure,
    element_origins,
    exposure,
    shipped_item,
)
from supplyshock.cli import app
from supplyshock.domain.controls import Registry
from supplyshock.domain.network import Network

NETWORK: dict[str, Any] = {
    "meta": {"name": "tiny", "sector": "automotive", "synthetic": True},
    "companies": [
        {"id": "oem", "name": "OEM AG", "country": "DE"},
        {"id": "t1", "name": "Motor GmbH", "country": "DE"},
        {"id": "magcn", "name": "Magnet CN", "country": "CN"},
        {"id": "magjp", "name": "Magnet JP", "country": "JP"},
        {"id": "sep", "name": "Separation CN", "country": "CN"},
        {"id": "ecu", "name": "ECU GmbH", "country": "DE"},
        {"id": "nexperia", "name": "Nexperia", "country": "NL"},
    ],
    "sites": [
        {"id": "P", "company": "oem", "country": "DE"},
        {"id": "T1", "company": "t1", "country": "DE"},
        {"id": "MCN", "company": "magcn", "country": "CN"},
        {"id": "MJP", "company": "magjp", "country": "JP"},
        {"id": "SEP", "company": "sep", "country": "CN"},
        {"id": "ECU", "company": "ecu", "country": "DE"},
        {"id": "NXC", "company": "nexperia", "country": "CN"},
        {"id": "NXM", "company": "nexperia", "country": "MY"},
    ],
    "parts": [
        {"id": "car", "hs_code": "870380", "finished": True},
        {"id": "motor", "hs_code": "850153", "mass_kg": 50},
        {"id": "magnet", "hs_code": "850511", "mass_kg": 2.0, "elements": {"Dy": 0.08, "Nd": 0.5}},
        {"id": "dyox", "hs_code": "284690", "mass_kg": 1, "elements": {"Dy": 0.87}},
        {"id": "ecu", "hs_code": "853710"},
        {"id": "chip", "hs_code": "854129", "maker": "nexperia"},
    ],
    "bom": [
        {"parent": "car", "child": "motor", "qty": 1},
        {"parent": "car", "child": "ecu", "qty": 1},
        {"parent": "motor", "child": "magnet", "qty": 1},
        {"parent": "magnet", "child": "dyox", "qty": 0.1},
        {"parent": "ecu", "child": "chip", "qty": 10},
    ],
    "lanes": [
        {"id": "L1", "supplier": "T1", "customer": "P", "part": "motor", "share": 1.0},
        {"id": "L2", "supplier": "MCN", "customer": "T1", "part": "magnet", "share": 0.6},
        {"id": "L3", "supplier": "MJP", "customer": "T1", "part": "magnet", "share": 0.4},
        {"id": "L4", "supplier": "SEP", "customer": "MCN", "part": "dyox", "share": 1.0},
        {"id": "L5", "supplier": "SEP", "customer": "MJP", "part": "dyox", "share": 1.0},
        {"id": "L6", "supplier": "ECU", "customer": "P", "part": "ecu", "share": 1.0},
        {"id": "L7", "supplier": "NXC", "customer": "ECU", "part": "chip", "share": 0.75},
        {"id": "L8", "supplier": "NXM", "customer": "ECU", "part": "chip", "share": 0.25},
    ],
    "inventory": [
        {"site": "P", "part": "motor", "on_hand": 200, "in_transit": 100},
        {"site": "T1", "part": "motor", "on_hand": 100},
        {"site": "T1", "part": "magnet", "on_hand": 1000, "in_transit": 500},
        {"site": "MJP", "part": "magnet", "on_hand": 80},
        {"site": "MJP", "part": "dyox", "on_hand": 40},
        {"site": "MCN", "part": "dyox", "on_hand": 60},
        {"site": "P", "part": "ecu", "on_hand": 200},
        {"site": "ECU", "part": "ecu", "on_hand": 100},
        {"site": "ECU", "part": "chip", "on_hand": 20000},
    ],
    "demand": [{"site": "P", "part": "car", "per_day": 100, "margin_per_unit": 1000}],
}


def _event(eid: str, day: str, kind: str = "in_force") -> dict[str, Any]:
    return {"id": eid, "kind": kind, "effective": day, "summary": eid, "sources": ["s"]}


REGISTRY: dict[str, Any] = {
    "sources": [{"id": "s", "publisher": "test", "title": "test", "published": "2025-01-01"}],
    "acts": [
        {
            "id": "a",
            "authority": "test",
            "jurisdiction": "CN",
            "title": "test",
            "announced": "2025-01-01",
            "sources": ["s"],
        }
    ],
    "measures": [
        {
            "id": "M-RE",
            "act": "a",
            "title": "Rare-earth licence",
            "jurisdiction": "CN",
            "direction": "export",
            "kind": "licence",
            "scope": {"elements": ["Dy"], "hs_codes": ["2846"]},
            "origins": {"mode": "only", "countries": ["CN"]},
            "params": {"approval_share": 0.25},
            "events": [_event("re-1", "2025-04-04")],
        },
        {
            "id": "M-NX",
            "act": "a",
            "title": "Nexperia ban",
            "jurisdiction": "CN",
            "direction": "export",
            "kind": "ban",
            "scope": {"makers": [{"name": "Nexperia", "made_in": ["CN"]}]},
            "origins": {"mode": "only", "countries": ["CN"]},
            "events": [_event("nx-1", "2025-10-04")],
            "carve_outs": [
                {
                    "id": "CO-AUTO",
                    "title": "Automotive exemption",
                    "effect": "exempt",
                    "sectors": ["automotive"],
                    "events": [_event("nx-co-1", "2025-11-01")],
                }
            ],
        },
        {
            "id": "M-TAR",
            "act": "a",
            "title": "Tariff on JP goods",
            "jurisdiction": "DE",
            "direction": "import",
            "kind": "tariff",
            "scope": {"all_goods": True},
            "origins": {"mode": "only", "countries": ["JP"]},
            "destinations": {"mode": "only", "countries": ["DE"]},
            "params": {"tariff_rate_pct": 10},
            "events": [_event("tar-1", "2025-01-01")],
        },
        {
            "id": "M-LATE",
            "act": "a",
            "title": "Magnet ban",
            "jurisdiction": "CN",
            "direction": "export",
            "kind": "ban",
            "scope": {"hs_codes": ["8505"]},
            "origins": {"mode": "only", "countries": ["CN"]},
            "events": [_event("late-1", "2025-10-09")],
        },
    ],
}


@pytest.fixture(scope="module")
def net() -> Network:
    return Network.model_validate(NETWORK)


@pytest.fixture(scope="module")
def reg() -> Registry:
    return Registry.model_validate(REGISTRY)


def _car(net: Network, reg: Registry, on: str, **kw: Any) -> ProductExposure:
    report = exposure(net, reg, date.fromisoformat(on), **kw)
    assert [(p.plant, p.product) for p in report.products] == [("P", "car")]
    return report.products[0]


def _summary(path: ExposurePath) -> list[tuple[int, str, str, str, str, bool, tuple[str, ...]]]:
    return [
        (
            h.tier,
            h.customer,
            h.part,
            h.lane,
            h.supplier,
            h.crosses_border,
            tuple(f"{e.measure_id}:{e.effect}" for e in h.effects),
        )
        for h in path.hops
    ]


def test_paths_list_every_hop_tier_by_tier_with_border_and_measures(
    net: Network, reg: Registry
) -> None:
    car = _car(net, reg, "2025-10-15")
    # BOM children are walked in id order (ecu before motor), lanes in id order.
    assert [_summary(p) for p in car.paths] == [
        [
            (1, "P", "ecu", "L6", "ECU", False, ()),
            (2, "ECU", "chip", "L7", "NXC", True, ("M-NX:ban",)),
        ],
        [
            (1, "P", "ecu", "L6", "ECU", False, ()),
            (2, "ECU", "chip", "L8", "NXM", True, ()),
        ],
        [
            (1, "P", "motor", "L1", "T1", False, ()),
            (2, "T1", "magnet", "L2", "MCN", True, ("M-LATE:ban", "M-RE:licence")),
            (3, "MCN", "dyox", "L4", "SEP", False, ()),
        ],
        [
            (1, "P", "motor", "L1", "T1", False, ()),
            (2, "T1", "magnet", "L3", "MJP", True, ("M-TAR:tariff",)),
            (3, "MJP", "dyox", "L5", "SEP", True, ("M-RE:licence",)),
        ],
    ]


def test_path_share_and_days_of_cover_downstream_of_the_first_hit(
    net: Network, reg: Registry
) -> None:
    a, b, c, d = _car(net, reg, "2025-10-15").paths
    # A: hit at L7 (tier 2); share 1 x 0.75; cover (P,ecu) 2 + (ECU,ecu) 1 + (ECU,chip) 20 = 23.
    assert (a.at_risk, a.hit_tier, a.share_at_risk, a.days_of_cover) == (True, 2, 0.75, 23.0)
    # B: nothing hits the MY lane; share 0.25, no cover reported.
    assert (b.at_risk, b.hit_tier, b.share, b.share_at_risk, b.days_of_cover) == (
        False,
        None,
        0.25,
        0.0,
        None,
    )
    # C: hit at L2 (tier 2); share 1 x 0.6 x 1 = 0.6; cover (P,motor) 3 + (T1,motor) 1
    # + (T1,magnet) 15 = 19. The domestic L4 upstream adds nothing.
    assert (c.hit_tier, c.share, c.share_at_risk, c.days_of_cover) == (2, 0.6, 0.6, 19.0)
    # D: the tariff on L3 is not a hit; the licence on L5 (tier 3) is; share 0.4;
    # cover 3 + 1 + 15 + (MJP,magnet) 2 + (MJP,dyox) 10 = 31.
    assert (d.hit_tier, d.share_at_risk, d.days_of_cover) == (3, 0.4, 31.0)
    assert d.measures == ("M-RE", "M-TAR")


def test_product_risk_is_the_worst_bom_input_and_cover_the_shortest_path(
    net: Network, reg: Registry
) -> None:
    car = _car(net, reg, "2025-10-15")
    # ecu: 0.75 (L7 hit) + 0.25 x 0 = 0.75; motor: magnet 0.6 x 1 (L2 hit) + 0.4 x 1 (L5 hit
    # upstream of MJP) = 1.0; car = max(0.75, 1.0) = 1.0. Cover = min(23, 19, 31) = 19.
    assert car.share_at_risk == pytest.approx(1.0)
    assert car.min_days_of_cover == 19.0
    reach = {m.measure_id: (m.effects, m.paths, m.at_risk_paths) for m in car.measures}
    assert reach == {
        "M-LATE": (("ban",), 1, 1),
        "M-NX": (("ban",), 1, 1),
        "M-RE": (("licence",), 2, 2),
        "M-TAR": (("tariff",), 1, 0),
    }


def test_a_domestic_lane_is_not_hit_even_when_its_item_is_in_scope(
    net: Network, reg: Registry
) -> None:
    c = _car(net, reg, "2025-10-15").paths[2]
    l4 = c.hops[2]
    # Dy oxide from SEP to MCN is HS 2846 and contains Dy, but both sites are in CN.
    assert (l4.lane, l4.crosses_border, l4.effects) == ("L4", False, ())
    # The same part from the same supplier across the border (L5) is hit.
    l5 = _car(net, reg, "2025-10-15").paths[3].hops[2]
    assert (l5.lane, l5.hit) == ("L5", True)


def test_an_exempt_carve_out_removes_the_risk_but_is_reported(net: Network, reg: Registry) -> None:
    car = _car(net, reg, "2025-11-10")
    a = car.paths[0]
    (eff,) = a.hops[1].effects
    assert (eff.measure_id, eff.effect, eff.carve_out) == ("M-NX", "exempt", "CO-AUTO")
    assert (a.at_risk, a.share_at_risk, a.days_of_cover) == (False, 0.0, None)
    nx = next(m for m in car.measures if m.measure_id == "M-NX")
    assert (nx.effects, nx.at_risk_paths, nx.carve_outs) == (("exempt",), 0, ("CO-AUTO",))
    # The magnets still hit: car risk stays max(0 for ecu, 1.0 for motor) = 1.0.
    assert car.share_at_risk == pytest.approx(1.0)


def test_the_exemption_needs_the_networks_sector(net: Network, reg: Registry) -> None:
    other = net.model_copy(update={"meta": net.meta.model_copy(update={"sector": "medical"})})
    a = _car(other, reg, "2025-11-10").paths[0]
    assert [e.effect for e in a.hops[1].effects] == ["ban"]
    assert a.at_risk


def test_a_measure_known_after_as_of_does_not_appear(net: Network, reg: Registry) -> None:
    # Known on 2025-10-01: M-NX (known 10-04) and M-LATE (known 10-09) are not yet public.
    car = _car(net, reg, "2025-10-15", as_of=date(2025, 10, 1))
    assert [m.measure_id for m in car.measures] == ["M-RE", "M-TAR"]
    a, _b, c, _d = car.paths
    assert (a.at_risk, a.measures) == (False, ())
    assert c.measures == ("M-RE",)
    # Risk: ecu 0; motor 0.6 + 0.4 = 1.0; cover min(19, 31) = 19.
    assert (car.share_at_risk, car.min_days_of_cover) == (pytest.approx(1.0), 19.0)
    later = _car(net, reg, "2025-10-15", as_of=date(2025, 10, 10))
    assert [m.measure_id for m in later.measures] == ["M-LATE", "M-NX", "M-RE", "M-TAR"]


def test_before_any_measure_nothing_is_at_risk(net: Network, reg: Registry) -> None:
    car = _car(net, reg, "2024-12-31")
    assert (car.share_at_risk, car.min_days_of_cover, car.measures) == (0.0, None, ())


def test_shipped_item_carries_mass_fractions_maker_and_element_origins(net: Network) -> None:
    jp = shipped_item(net, "MJP", "magnet")
    # 0.08 kg Dy / 2.0 kg = 0.04; 0.5 kg Nd / 2.0 kg = 0.25. Made in JP from Dy oxide
    # separated in CN: the element-bearing content comes from JP and CN.
    assert jp.elements == {"Dy": pytest.approx(0.04), "Nd": pytest.approx(0.25)}
    assert (jp.maker, jp.made_in, jp.element_origins) == ("Magnet JP", "JP", {"CN", "JP"})
    chip = shipped_item(net, "NXC", "chip")
    # The part's own maker wins over the site's company; no elements, no origins.
    assert (chip.maker, chip.made_in, dict(chip.elements)) == ("Nexperia", "CN", {})
    # A buyer passes on its suppliers' origins: T1's magnets come from MCN (CN) and MJP.
    assert element_origins(net, "T1", "magnet") == {"CN", "JP"}


def test_unknown_plant_is_a_key_error_naming_the_plants(net: Network, reg: Registry) -> None:
    with pytest.raises(KeyError, match="plants with demand: P"):
        exposure(net, reg, date(2025, 10, 15), plant="NOPE")


# -- CLI -------------------------------------------------------------------------------------


@pytest.fixture()
def files(tmp_path: Path) -> tuple[Path, Path]:
    n = tmp_path / "net.yaml"
    r = tmp_path / "reg.yaml"
    n.write_text(yaml.safe_dump(NETWORK, sort_keys=False))
    r.write_text(yaml.safe_dump(REGISTRY, sort_keys=False))
    return n, r


def _run(*args: str) -> Any:
    return CliRunner().invoke(app, ["exposure", *args])


def test_cli_json_reports_the_same_numbers(files: tuple[Path, Path]) -> None:
    n, r = files
    res = _run("--scenario", str(n), "--registry", str(r), "--date", "2025-10-15", "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    (car,) = data["products"]
    assert (car["plant"], car["share_at_risk"], car["min_days_of_cover"]) == ("P", 1.0, 19.0)
    assert [p["days_of_cover"] for p in car["paths"]] == [23.0, None, 19.0, 31.0]


def test_cli_csv_has_one_row_per_hop(files: tuple[Path, Path]) -> None:
    n, r = files
    res = _run("--scenario", str(n), "--registry", str(r), "--date", "2025-11-10", "--csv")
    assert res.exit_code == 0, res.output
    lines = res.stdout.strip().splitlines()
    # 4 paths with 2 + 2 + 3 + 3 hops = 10 rows after the header.
    assert len(lines) == 11
    l7 = next(line for line in lines if ",L7," in line)
    assert "M-NX: exempt via CO-AUTO" in l7


def test_cli_table_names_the_measures_and_the_exempt_path(files: tuple[Path, Path]) -> None:
    n, r = files
    res = _run("--scenario", str(n), "--registry", str(r), "--date", "2025-11-10")
    assert res.exit_code == 0, res.output
    assert "M-NX (exempt)" in res.stdout
    assert "M-RE (licence)" in res.stdout
    assert "100 %" in res.stdout


def test_cli_bad_date_and_unknown_plant_give_clear_errors(files: tuple[Path, Path]) -> None:
    n, r = files
    bad = _run("--scenario", str(n), "--registry", str(r), "--date", "15/10/2025")
    assert bad.exit_code == 2
    assert "is not a date" in bad.output
    assert "Traceback" not in bad.output
    nope = _run("--scenario", str(n), "--registry", str(r), "--date", "2025-10-15", "--plant", "X")
    assert nope.exit_code == 2
    assert "unknown plant 'X'" in nope.output


def test_cli_broken_network_file_lists_problems_with_location(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    _n, r = files
    broken = tmp_path / "broken.yaml"
    broken.write_text("sites:\n  - {id: A, company: nobody, country: XX}\n")
    res = _run("--scenario", str(broken), "--registry", str(r), "--date", "2025-10-15")
    assert res.exit_code == 1
    assert "broken.yaml:2" in res.output
    assert "unknown ISO 3166-1 alpha-2 country code 'XX'" in res.output
