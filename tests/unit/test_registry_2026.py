"""Known answers for the changes added on the 2026-12-01 review: before, on and after each.

Every expected value is read off the YAML files under src/supplyshock/data/registry/; the
comment on each test names the events and the arithmetic. "Unconfirmed" means the change was
scheduled and no source on record confirms it happened (``certainty``).
"""

from __future__ import annotations

from datetime import date

import pytest

from supplyshock.data import builtin_registry
from supplyshock.domain.controls import Effect, Item, Registry

D = date.fromisoformat


@pytest.fixture(scope="module")
def reg() -> Registry:
    return builtin_registry()


def fx(
    reg: Registry,
    on: str,
    item: Item,
    origin: str,
    destination: str,
    sector: str | None = None,
    as_of: str | None = None,
) -> dict[str, Effect]:
    found = reg.in_force(
        D(on), item, origin, destination, sector, as_of=D(as_of) if as_of else None
    )
    return {e.measure_id: e for e in found}


def rate(
    reg: Registry, measure: str, on: str, item: Item, o: str, d: str, **kw: str
) -> float | None:
    e = fx(reg, on, item, o, d, **kw).get(measure)
    return None if e is None else e.tariff_rate_pct


ANY = Item(hs_code="940360")  # furniture: reached only by all-goods tariffs
CAR = Item(hs_code="870323")
NDFEB = Item(hs_code="850511", elements={"Nd": 0.29, "Pr": 0.02})
GALLIUM = Item(hs_code="811292", elements={"Ga": None})
NEXPERIA = Item(hs_code="854121", maker="Nexperia", made_in="CN")
CN_DY_MAGNET = Item(hs_code="850511", elements={"Dy": 0.05}, element_origins=frozenset({"CN"}))


# -- IEEPA duties: the November 2025 cut and the end in February 2026 ---------------------


def test_fentanyl_duty_is_halved_on_10_november_2025(reg: Registry) -> None:
    # us-fentanyl-2025-11-cut: 20 -> 10 % from 10 Nov (order of 4 Nov).
    f = "us-fentanyl-tariff-cn"
    assert rate(reg, f, "2025-11-09", ANY, "CN", "US") == 20
    assert rate(reg, f, "2025-11-10", ANY, "CN", "US") == 10
    # Known 4 Nov: asked on 3 Nov, 10 Nov still looked like 20 %.
    assert rate(reg, f, "2025-11-10", ANY, "CN", "US", as_of="2025-11-03") == 20


def test_ieepa_duties_end_on_24_february_2026(reg: Registry) -> None:
    # us-ieepa-2026-02-24-ended-*: ruling and order on 20 Feb, collection stops 24 Feb.
    for m in ("us-fentanyl-tariff-cn", "us-reciprocal-tariff-cn"):
        assert m in fx(reg, "2026-02-23", ANY, "CN", "US")
        assert m not in fx(reg, "2026-02-24", ANY, "CN", "US")
        assert m in fx(reg, "2026-02-24", ANY, "CN", "US", as_of="2026-02-19")
    # Before the ruling the 10 % + 10 % of November 2025 applied: 20 % in all.
    before = fx(reg, "2026-02-23", ANY, "CN", "US")
    assert sum(e.tariff_rate_pct or 0 for e in before.values()) == 20


def test_the_end_of_ieepa_duties_is_confirmed(reg: Registry) -> None:
    st = reg.state(reg.measure("us-fentanyl-tariff-cn"), D("2026-12-01"))
    assert (st.status, st.certainty) == ("lifted", "confirmed")


# -- Section 122 ---------------------------------------------------------------------------


def test_section_122_surcharge_applies_24_february_to_23_july_2026(reg: Registry) -> None:
    s = "us-s122-surcharge-2026"
    assert rate(reg, s, "2026-02-23", ANY, "CN", "US") is None
    assert rate(reg, s, "2026-02-24", ANY, "CN", "US") == 10
    assert rate(reg, s, "2026-02-24", ANY, "DE", "US") == 10  # every origin
    assert rate(reg, s, "2026-07-23", ANY, "CN", "US") == 10
    assert rate(reg, s, "2026-07-24", ANY, "CN", "US") is None


def test_section_122_end_is_reported_as_scheduled_and_unconfirmed(reg: Registry) -> None:
    pending = {p.measure_id: p for p in reg.not_applying(D("2026-12-01"), ANY, "CN", "US")}
    p = pending["us-s122-surcharge-2026"]
    assert (p.status, p.certainty) == ("expired", "scheduled_unconfirmed")
    assert p.uncertainty is not None and "us-s122-2026-07-expiry" in p.uncertainty


def test_cars_and_usmca_goods_are_exempt_from_section_122(reg: Registry) -> None:
    assert fx(reg, "2026-03-01", CAR, "DE", "US")["us-s122-surcharge-2026"].effect == "exempt"
    assert fx(reg, "2026-03-01", ANY, "MX", "US")["us-s122-surcharge-2026"].effect == "exempt"


# -- Section 232 cars and the deal rates ---------------------------------------------------


def test_section_232_car_duty_starts_3_april_2025(reg: Registry) -> None:
    a = "us-s232-autos"
    assert rate(reg, a, "2025-04-02", CAR, "DE", "US") is None
    assert rate(reg, a, "2025-04-03", CAR, "DE", "US") == 25


def test_eu_cars_pay_12_5_percent_from_1_august_2025_as_known_from_24_september(
    reg: Registry,
) -> None:
    # 15 % all-in less the 2.5 % MFN duty on cars = 12.5 % additional, retroactive to 1 Aug.
    a = "us-s232-autos"
    assert rate(reg, a, "2025-07-31", CAR, "DE", "US") == 25
    assert rate(reg, a, "2025-08-01", CAR, "DE", "US") == 12.5
    assert rate(reg, a, "2025-08-01", CAR, "DE", "US", as_of="2025-09-23") == 25
    assert rate(reg, a, "2025-08-01", CAR, "DE", "US", as_of="2025-09-24") == 12.5


def test_japanese_and_korean_cars_get_their_deal_rates(reg: Registry) -> None:
    a = "us-s232-autos"
    assert rate(reg, a, "2025-09-15", CAR, "JP", "US") == 25
    assert rate(reg, a, "2025-09-16", CAR, "JP", "US") == 12.5  # 15 - 2.5
    assert rate(reg, a, "2025-10-31", CAR, "KR", "US") == 25
    assert rate(reg, a, "2025-11-01", CAR, "KR", "US") == 15  # KORUS base 0 %
    # Published 3 Dec, retroactive to 1 Nov: as known on 15 Nov, Korea still paid 25 %.
    assert rate(reg, a, "2025-11-01", CAR, "KR", "US", as_of="2025-11-15") == 25


# -- Section 301 phase-ins -----------------------------------------------------------------


def test_magnet_duty_starts_1_january_2026_and_is_confirmed_in_february(reg: Registry) -> None:
    m = "us-s301-cn-magnets"
    assert rate(reg, m, "2025-12-31", NDFEB, "CN", "US") is None
    e = fx(reg, "2026-01-01", NDFEB, "CN", "US")[m]
    assert (e.tariff_rate_pct, e.certainty) == (25, "confirmed")
    early = fx(reg, "2026-01-01", NDFEB, "CN", "US", as_of="2026-01-15")[m]
    assert early.certainty == "scheduled_unconfirmed"  # confirmation dated 6 Feb 2026


def test_semiconductor_and_graphite_phase_ins_are_unconfirmed(reg: Registry) -> None:
    chip = Item(hs_code="854239")
    assert "us-s301-cn-semiconductors" not in fx(reg, "2024-12-31", chip, "CN", "US")
    semis = fx(reg, "2025-01-01", chip, "CN", "US")["us-s301-cn-semiconductors"]
    assert (semis.tariff_rate_pct, semis.certainty) == (50, "scheduled_unconfirmed")
    graphite = fx(reg, "2026-01-01", Item(hs_code="250410"), "CN", "US")
    assert graphite["us-s301-cn-natural-graphite"].certainty == "scheduled_unconfirmed"


# -- China: gallium, the US ban and its suspension -----------------------------------------


def test_gallium_needs_a_licence_from_1_august_2023(reg: Registry) -> None:
    assert "cn-ga-ge-2023" not in fx(reg, "2023-07-31", GALLIUM, "CN", "DE")
    e = fx(reg, "2023-08-01", GALLIUM, "CN", "DE")["cn-ga-ge-2023"]
    assert (e.effect, e.approval_share, e.certainty) == ("licence", None, "confirmed")


def test_graphite_and_antimony_regimes_start_on_their_dates(reg: Registry) -> None:
    graphite, antimony = Item(hs_code="250410"), Item(elements={"Sb": None})
    assert "cn-graphite-2023" not in fx(reg, "2023-11-30", graphite, "CN", "DE")
    assert "cn-graphite-2023" in fx(reg, "2023-12-01", graphite, "CN", "DE")
    assert "cn-antimony-2024" not in fx(reg, "2024-09-14", antimony, "CN", "DE")
    assert "cn-antimony-2024" in fx(reg, "2024-09-15", antimony, "CN", "DE")


def test_us_ban_on_gallium_applies_3_dec_2024_to_8_nov_2025(reg: Registry) -> None:
    b = "cn-us-ban-2024-46"
    assert b not in fx(reg, "2024-12-02", GALLIUM, "CN", "US")
    assert fx(reg, "2024-12-03", GALLIUM, "CN", "US")[b].effect == "ban"
    assert b in fx(reg, "2025-11-08", GALLIUM, "CN", "US")
    assert b not in fx(reg, "2025-11-09", GALLIUM, "CN", "US")
    assert b not in fx(reg, "2024-12-03", GALLIUM, "CN", "DE")  # US only


def test_us_ban_is_only_scheduled_to_return_on_27_november_2026(reg: Registry) -> None:
    b = "cn-us-ban-2024-46"
    assert b not in fx(reg, "2026-11-26", GALLIUM, "CN", "US")
    e = fx(reg, "2026-11-27", GALLIUM, "CN", "US")[b]
    assert (e.effect, e.certainty) == ("ban", "scheduled_unconfirmed")
    # As known on 8 Nov 2025 the suspension did not exist: a plain ban on 1 Dec 2026.
    then = fx(reg, "2026-12-01", GALLIUM, "CN", "US", as_of="2025-11-08")[b]
    assert (then.effect, then.certainty) == ("ban", "confirmed")


def test_gallium_regime_answer_for_today_is_stale(reg: Registry) -> None:
    # cn-ga-ge-2023 last reviewed 2025-11-09: a query for 1 Dec 2026 is past it.
    e = fx(reg, "2026-12-01", GALLIUM, "CN", "US")["cn-ga-ge-2023"]
    assert e.staleness == "stale" and "2025-11-09" in (e.staleness_warning or "")


# -- China: the October 2025 package --------------------------------------------------------


def test_reexport_of_chinese_rare_earths_applied_9_oct_to_6_nov_2025(reg: Registry) -> None:
    # No. 61 part 3: in force on publication, suspended by No. 70 on 7 Nov.
    r = "cn-rare-earths-2025-10-reexport"
    assert r not in fx(reg, "2025-10-08", CN_DY_MAGNET, "JP", "US")
    assert fx(reg, "2025-10-09", CN_DY_MAGNET, "JP", "US")[r].effect == "licence"
    assert r in fx(reg, "2025-11-06", CN_DY_MAGNET, "JP", "US")
    assert r not in fx(reg, "2025-11-07", CN_DY_MAGNET, "JP", "US")
    assert fx(reg, "2026-11-10", CN_DY_MAGNET, "JP", "US")[r].certainty == "scheduled_unconfirmed"


def test_rare_earth_technology_rule_reaches_no_shipment_but_has_a_timeline(reg: Registry) -> None:
    kinds = [t.event_kind for t in reg.timeline() if t.measure_id == "cn-re-tech-2025-10"]
    assert kinds == ["in_force", "suspended"]


def test_general_licence_holders_ship_without_a_per_shipment_licence(reg: Registry) -> None:
    # cn-re-general-licences-2025-12-02: approval 1, no review wait, for the named makers.
    jl = Item(hs_code="850511", elements={"Dy": 0.05}, maker="JL Mag Rare Earth", made_in="CN")
    before = fx(reg, "2025-12-01", jl, "CN", "DE")["cn-rare-earths-2025-04"]
    on = fx(reg, "2025-12-02", jl, "CN", "DE")["cn-rare-earths-2025-04"]
    assert (before.approval_share, before.review_days) == (0.5, 63)
    assert (on.approval_share, on.review_days, on.carve_out) == (
        1.0,
        0.0,
        "cn-re-2025-12-general-licences",
    )


# -- Nexperia --------------------------------------------------------------------------------


def test_nexperia_civilian_exports_are_exempt_from_1_november_military_never(
    reg: Registry,
) -> None:
    b = "cn-nexperia-ban-2025"
    assert fx(reg, "2025-10-31", NEXPERIA, "CN", "DE", "civilian")[b].effect == "ban"
    for day in ["2025-11-01", "2026-12-01"]:
        assert fx(reg, day, NEXPERIA, "CN", "DE", "civilian")[b].effect == "exempt"
        assert fx(reg, day, NEXPERIA, "CN", "DE", "industrial")[b].effect == "exempt"
        assert fx(reg, day, NEXPERIA, "CN", "DE", "military")[b].effect == "ban"


# -- US chips and the affiliates rule ---------------------------------------------------------


def test_h200_is_named_from_15_january_2026_with_case_by_case_review_from_the_us(
    reg: Registry,
) -> None:
    h200 = Item(part_number="H200")
    a = "us-ai-chips-cn-2022"
    assert a not in fx(reg, "2026-01-14", h200, "US", "CN")
    from_us = fx(reg, "2026-01-15", h200, "US", "CN")[a]
    assert (from_us.effect, from_us.carve_out) == ("licence", "us-h200-case-by-case")
    from_tw = fx(reg, "2026-01-15", h200, "TW", "CN")[a]  # re-exports keep presumed denial
    assert (from_tw.effect, from_tw.carve_out, from_tw.approval_share) == ("licence", None, 0.0)


def test_affiliates_rule_is_suspended_and_only_scheduled_to_return(reg: Registry) -> None:
    m = reg.measure("us-bis-affiliates-rule-2025")
    assert reg.state(m, D("2025-09-28")).status == "unknown"
    assert reg.state(m, D("2025-09-29")).status == "in_force"
    assert reg.state(m, D("2025-11-10")).status == "suspended"
    back = reg.state(m, D("2026-11-10"))
    assert (back.status, back.certainty) == ("in_force", "scheduled_unconfirmed")


def test_october_2023_and_december_2024_chip_rules_are_on_the_timeline(reg: Registry) -> None:
    ids = {t.event_id: t.effective for t in reg.timeline(issuer="BIS")}
    assert ids["us-ai-chips-2023-10-rule"] == D("2023-11-17")
    assert ids["us-ai-chips-2024-12-rule"] == D("2024-12-02")


# -- China's counter-tariff ----------------------------------------------------------------------


def test_china_counter_tariff_is_only_scheduled_to_rise_to_34_percent(reg: Registry) -> None:
    # 24 points suspended until 10 Nov 2026; our reading: 10 + 24 = 34 % after, unconfirmed.
    c = "cn-countertariff-us"
    assert rate(reg, c, "2026-11-09", ANY, "US", "CN") == 10
    e = fx(reg, "2026-11-10", ANY, "US", "CN")[c]
    assert (e.tariff_rate_pct, e.certainty, e.staleness) == (34, "scheduled_unconfirmed", "stale")
