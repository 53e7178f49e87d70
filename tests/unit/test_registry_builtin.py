"""The built-in registry: it loads cleanly and answers in-force questions on each key date.

Every expected value below is read off the YAML files under src/supplyshock/data/registry/
(dates, rates, approval shares); the comment on each test names the events involved.
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


def effects(
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


DY_MAGNET = Item(hs_code="850511", elements={"Nd": 0.29, "Dy": 0.05})
ND_MAGNET = Item(hs_code="850511", elements={"Nd": 0.31, "Pr": 0.02})
NEXPERIA_DISCRETE = Item(hs_code="854121", maker="Nexperia", made_in="CN")
HO_ITEM = Item(hs_code="284690", elements={"Ho": 0.9})
CAR_PART = Item(hs_code="870899")


# -- integrity ---------------------------------------------------------------------------


def test_builtin_registry_has_no_reference_problems(reg: Registry) -> None:
    assert reg.problems() == []


def test_every_measure_event_and_observation_names_a_known_source(reg: Registry) -> None:
    known = {s.id for s in reg.sources}
    cited = [s for m in reg.measures for ev in m.events for s in ev.sources]
    cited += [s for m in reg.measures for c in m.carve_outs for ev in c.events for s in ev.sources]
    cited += [s for o in reg.observations for s in o.sources]
    cited += [s for a in reg.acts for s in a.sources]
    assert cited and set(cited) <= known


def test_every_measure_has_a_last_reviewed_date(reg: Registry) -> None:
    missing = [m.id for m in reg.measures if m.last_reviewed is None]
    assert missing == []
    assert max(m.last_reviewed for m in reg.measures if m.last_reviewed) == D("2026-12-01")


def test_no_event_cites_a_source_written_long_after_it_became_known(reg: Registry) -> None:
    # Sources are per event: a source published more than six weeks after an event became
    # known is not evidence of what was known then (a July 2025 article cited for a 2022
    # event was the bug). Confirmations of scheduled changes go in confirmed_by instead.
    published = {s.id: s.published for s in reg.sources}
    late = [
        (ev.id, sid)
        for m in reg.measures
        for ev in [*m.events, *(e for c in m.carve_outs for e in c.events)]
        for sid in ev.sources
        if (published[sid] - ev.known_on).days > 42
    ]
    late += [
        (a.id, sid)
        for a in reg.acts
        for sid in a.sources
        if (published[sid] - a.announced).days > 42
    ]
    assert late == []


def test_confirmations_are_published_on_or_after_the_change(reg: Registry) -> None:
    published = {s.id: s.published for s in reg.sources}
    for m in reg.measures:
        for ev in [*m.events, *(e for c in m.carve_outs for e in c.events)]:
            for sid in ev.confirmed_by:
                assert ev.confirmed is not None and published[sid] <= ev.confirmed, ev.id
                assert published[sid] >= ev.effective or published[sid].day == 1, ev.id


def test_assumed_parameters_are_labelled_as_assumptions(reg: Registry) -> None:
    # The June acceleration's 0.5 approval share and the 63-day review are our assumptions;
    # the event summaries must say so, or users would read them as published figures.
    april = reg.measure("cn-rare-earths-2025-04")
    by_id = {e.id: e for e in april.events}
    assert "ASSUMPTION" in by_id["cn-re-2025-06-london"].summary
    assert "ASSUMPTION" in by_id["cn-re-2025-04-in-force"].summary


def test_derived_observations_show_their_arithmetic(reg: Registry) -> None:
    obs = {o.id: o for o in reg.observations}
    # 790 / (1 + 1.82) = 280.14 -> 280.1 USD/kg
    early_april = obs["obs-dy-oxide-price-eu-2025-04-derived"]
    assert early_april.method == "derived"
    assert early_april.value == pytest.approx(790 / 2.82, abs=0.05)
    # 352.8 / (1 + 6.60) = 46.42 -> 46.4 t
    may_us = obs["obs-cn-magnet-exports-2025-05-us-derived"]
    assert may_us.method == "derived"
    assert may_us.value == pytest.approx(352.8 / 7.6, abs=0.05)
    assert obs["obs-cn-magnet-exports-2025-06-all"].value == 3187.7
    assert obs["obs-cn-magnet-exports-2025-06-us"].dimensions["destination"] == "US"


# -- April 2025 rare-earth regime -------------------------------------------------------


def test_dy_magnet_is_free_the_day_before_the_april_regime(reg: Registry) -> None:
    # cn-re-2025-04-in-force takes effect 2025-04-04.
    assert "cn-rare-earths-2025-04" not in effects(reg, "2025-04-03", DY_MAGNET, "CN", "DE")


def test_dy_magnet_needs_a_licence_from_4_april_at_25_percent(reg: Registry) -> None:
    # cn-re-2025-04-in-force: review_days 63 (= 45 / 5 * 7); cn-re-2025-04-approval-share
    # (effective 4 Apr, known 4 Jun): approval_share 0.25.
    e = effects(reg, "2025-04-04", DY_MAGNET, "CN", "DE")["cn-rare-earths-2025-04"]
    assert e.effect == "licence"
    assert e.approval_share == 0.25
    assert e.review_days == 63
    assert e.reached_by == ("contains Dy",)


def test_approval_share_reported_in_june_is_unknown_as_of_april(reg: Registry) -> None:
    e = effects(reg, "2025-04-10", DY_MAGNET, "CN", "DE", as_of="2025-04-10")[
        "cn-rare-earths-2025-04"
    ]
    assert (e.effect, e.approval_share, e.review_days) == ("licence", None, 63)


def test_neodymium_only_magnet_is_never_reached_by_the_april_regime(reg: Registry) -> None:
    # Nd and Pr are not among Sm, Gd, Tb, Dy, Lu, Sc, Y, and the regime lists no HS codes.
    for day in ["2025-04-04", "2025-07-01", "2025-12-15"]:
        assert "cn-rare-earths-2025-04" not in effects(reg, day, ND_MAGNET, "CN", "DE")


def test_china_export_regime_does_not_reach_shipments_into_china(reg: Registry) -> None:
    # origins: only CN; a DE -> CN shipment of the same magnet is not a Chinese export.
    assert effects(reg, "2025-05-01", DY_MAGNET, "DE", "CN") == {}


def test_june_acceleration_raises_the_assumed_approval_share(reg: Registry) -> None:
    # cn-re-2025-06-london (effective 2025-06-27) sets approval_share 0.5; review unchanged.
    before = effects(reg, "2025-06-26", DY_MAGNET, "CN", "US")["cn-rare-earths-2025-04"]
    after = effects(reg, "2025-06-27", DY_MAGNET, "CN", "US")["cn-rare-earths-2025-04"]
    assert before.approval_share == 0.25
    assert after.approval_share == 0.5
    assert after.review_days == 63


def test_april_regime_stays_in_force_through_the_october_suspension(reg: Registry) -> None:
    # Announcement No. 70 (7 Nov 2025) suspends only the October package.
    assert effects(reg, "2025-12-15", DY_MAGNET, "CN", "DE")["cn-rare-earths-2025-04"].effect == (
        "licence"
    )


# -- October 2025 package and its suspension ------------------------------------------


def test_holmium_item_is_only_announced_in_october(reg: Registry) -> None:
    # Announced 9 Oct, due 8 Nov: on 20 Oct it does not apply yet.
    assert reg.state(reg.measure("cn-rare-earths-2025-10"), D("2025-10-20")).status == "announced"
    assert "cn-rare-earths-2025-10" not in effects(reg, "2025-10-20", HO_ITEM, "CN", "DE")


def test_holmium_item_does_not_apply_on_8_november_because_suspended(reg: Registry) -> None:
    # Suspended 7 Nov (until 2026-11-10), the day before the scheduled 8 Nov start.
    assert "cn-rare-earths-2025-10" not in effects(reg, "2025-11-08", HO_ITEM, "CN", "DE")
    st = reg.state(reg.measure("cn-rare-earths-2025-10"), D("2025-11-08"))
    assert st.status == "suspended"
    assert st.suspended_until == D("2026-11-10")


def test_holmium_item_is_only_scheduled_to_apply_again_when_the_suspension_ends(
    reg: Registry,
) -> None:
    # "Until 10 Nov 2026": from that date the licence is scheduled to return, but no source
    # on record says whether the suspension was extended, so the answer says so.
    assert "cn-rare-earths-2025-10" not in effects(reg, "2026-11-09", HO_ITEM, "CN", "DE")
    e = effects(reg, "2026-11-10", HO_ITEM, "CN", "DE")["cn-rare-earths-2025-10"]
    assert e.effect == "licence" and e.review_days == 63
    assert e.certainty == "scheduled_unconfirmed"
    assert e.uncertainty is not None and "whether the suspension was extended" in e.uncertainty
    assert e.describe().endswith("(scheduled, unconfirmed)")


def test_as_of_before_the_suspension_announcement_still_sees_holmium_apply(reg: Registry) -> None:
    # On 5 Nov nobody knew of the 7 Nov suspension: 10 Nov looked like a licence day.
    assert "cn-rare-earths-2025-10" in effects(
        reg, "2025-11-10", HO_ITEM, "CN", "DE", as_of="2025-11-05"
    )
    assert "cn-rare-earths-2025-10" not in effects(
        reg, "2025-11-10", HO_ITEM, "CN", "DE", as_of="2025-11-08"
    )


def test_extraterritorial_rule_never_applies_during_the_suspension(reg: Registry) -> None:
    # A Japanese motor with 2 % Dy of Chinese origin shipped JP -> US. The 0.1 % rule was due
    # 1 Dec 2025 but suspended from 7 Nov 2025 to 10 Nov 2026.
    motor = Item(hs_code="850131", elements={"Dy": 0.02}, element_origins=frozenset({"CN"}))
    for day in ["2025-10-20", "2025-12-01", "2026-06-01", "2026-11-09"]:
        assert "cn-rare-earths-2025-10-abroad" not in effects(reg, day, motor, "JP", "US")
    e = effects(reg, "2026-11-10", motor, "JP", "US")["cn-rare-earths-2025-10-abroad"]
    assert e.effect == "licence" and e.certainty == "scheduled_unconfirmed"


def test_extraterritorial_rule_ignores_content_below_one_permille(reg: Registry) -> None:
    # min_element_share 0.001: 0.05 % Dy stays below the threshold even after the suspension.
    low = Item(elements={"Dy": 0.0005}, element_origins=frozenset({"CN"}))
    assert "cn-rare-earths-2025-10-abroad" not in effects(reg, "2026-12-01", low, "JP", "US")


def test_battery_items_are_suspended_with_the_october_package(reg: Registry) -> None:
    cell = Item(hs_code="850760")
    assert "cn-batteries-2025-10" not in effects(reg, "2025-11-20", cell, "CN", "DE")
    after = effects(reg, "2026-11-10", cell, "CN", "DE")["cn-batteries-2025-10"]
    assert after.certainty == "scheduled_unconfirmed"


# -- Nexperia --------------------------------------------------------------------------


def test_nexperia_china_parts_are_free_before_the_ban(reg: Registry) -> None:
    assert effects(reg, "2025-10-03", NEXPERIA_DISCRETE, "CN", "DE") == {}


def test_nexperia_china_parts_are_banned_from_4_october(reg: Registry) -> None:
    e = effects(reg, "2025-10-15", NEXPERIA_DISCRETE, "CN", "DE")["cn-nexperia-ban-2025"]
    assert e.effect == "ban"
    assert e.reached_by == ("maker Nexperia made in CN",)


def test_nexperia_parts_made_in_europe_are_not_reached_by_the_china_ban(reg: Registry) -> None:
    # made_in [CN] restricts the maker criterion to Chinese production.
    uk_made = Item(hs_code="854121", maker="Nexperia", made_in="GB")
    assert effects(reg, "2025-10-15", uk_made, "GB", "DE") == {}


def test_automotive_exports_are_exempt_from_november(reg: Registry) -> None:
    # Carve-out cn-nexperia-civilian-exemptions: in force 1 Nov, amended 9 Nov.
    e = effects(reg, "2025-11-10", NEXPERIA_DISCRETE, "CN", "DE", "automotive")[
        "cn-nexperia-ban-2025"
    ]
    assert e.effect == "exempt"
    assert e.carve_out == "cn-nexperia-civilian-exemptions"
    assert e.event == "cn-nexperia-exempt-2025-11-09"
    assert e.sources == ("xinhua-2025-11-09", "nineatlas-2025-11-09", "newsaz-2025-12-19-nexperia")


def test_without_a_sector_the_nexperia_ban_still_applies(reg: Registry) -> None:
    e = effects(reg, "2025-11-10", NEXPERIA_DISCRETE, "CN", "DE")["cn-nexperia-ban-2025"]
    assert e.effect == "ban" and e.carve_out is None


def test_dutch_order_reaches_no_shipment_and_is_suspended_on_19_november(reg: Registry) -> None:
    nl = reg.measure("nl-nexperia-order-2025")
    assert reg.state(nl, D("2025-10-15")).status == "in_force"
    assert reg.state(nl, D("2025-11-19")).status == "suspended"
    # Made public 12 Oct: asking as of 10 Oct, the order was not yet known.
    assert reg.state(nl, D("2025-10-05"), as_of=D("2025-10-10")).status == "unknown"
    nl_made = Item(maker="Nexperia", made_in="NL", hs_code="381800")
    assert "nl-nexperia-order-2025" not in effects(reg, "2025-10-15", nl_made, "NL", "CN")


# -- tariffs -----------------------------------------------------------------------------


def test_us_tariffs_on_chinese_goods_total_145_percent_before_geneva(reg: Registry) -> None:
    # 2025-04-20: reciprocal 125 % (EO 14266, from 10 Apr) + fentanyl 20 % (from 4 Mar) = 145.
    found = effects(reg, "2025-04-20", CAR_PART, "CN", "US")
    assert found["us-reciprocal-tariff-cn"].tariff_rate_pct == 125
    assert sum(e.tariff_rate_pct or 0 for e in found.values()) == 145


def test_geneva_truce_leaves_a_10_percent_reciprocal_tariff(reg: Registry) -> None:
    # From 14 May: reciprocal 10 %; the fentanyl 20 % is untouched, so 30 % in all.
    found = effects(reg, "2025-05-20", CAR_PART, "CN", "US")
    assert found["us-reciprocal-tariff-cn"].tariff_rate_pct == 10
    assert sum(e.tariff_rate_pct or 0 for e in found.values()) == 30


def test_china_tariff_on_us_goods_is_125_then_10_percent(reg: Registry) -> None:
    # Announcement No. 6 (125 % from 12 Apr), Geneva (10 % from 14 May).
    assert effects(reg, "2025-04-20", CAR_PART, "US", "CN")[
        "cn-countertariff-us"
    ].tariff_rate_pct == (125)
    assert effects(reg, "2025-05-20", CAR_PART, "US", "CN")[
        "cn-countertariff-us"
    ].tariff_rate_pct == (10)


def test_tariffs_only_reach_the_bilateral_lane(reg: Registry) -> None:
    # Destinations only US (resp. CN): a CN -> DE shipment pays neither.
    assert effects(reg, "2025-04-20", CAR_PART, "CN", "DE") == {}


def test_us_reciprocal_tariff_is_announced_but_not_applied_on_3_april(reg: Registry) -> None:
    found = effects(reg, "2025-04-03", CAR_PART, "CN", "US")
    assert "us-reciprocal-tariff-cn" not in found
    assert found["us-fentanyl-tariff-cn"].tariff_rate_pct == 20


# -- US chips and EDA -------------------------------------------------------------------


def test_h100_needs_a_licence_for_china_since_august_2022(reg: Registry) -> None:
    h100 = Item(hs_code="854231", part_number="H100", maker="NVIDIA", made_in="TW")
    assert effects(reg, "2022-08-25", h100, "TW", "CN") == {}
    e = effects(reg, "2022-10-07", h100, "TW", "CN")["us-ai-chips-cn-2022"]
    assert e.effect == "licence" and e.approval_share == 0.0
    # Not to Germany.
    assert effects(reg, "2023-01-01", h100, "TW", "DE") == {}


def test_h20_licence_is_required_from_april_with_no_approvals(reg: Registry) -> None:
    h20 = Item(part_number="H20", maker="NVIDIA", made_in="TW")
    assert "us-h20-cn-2025" not in effects(reg, "2025-04-08", h20, "TW", "CN")
    e = effects(reg, "2025-05-01", h20, "TW", "CN")["us-h20-cn-2025"]
    assert (e.effect, e.approval_share) == ("licence", 0.0)


def test_h20_is_relaxed_from_15_july(reg: Registry) -> None:
    h20 = Item(part_number="H20", maker="NVIDIA", made_in="TW")
    assert effects(reg, "2025-07-14", h20, "TW", "CN")["us-h20-cn-2025"].approval_share == 0.0
    e = effects(reg, "2025-07-15", h20, "TW", "CN")["us-h20-cn-2025"]
    assert e.approval_share == 1.0
    assert e.event == "us-h20-2025-resumed-sales"


def test_eda_halt_applies_from_23_may_until_lifted_on_2_july(reg: Registry) -> None:
    # (A US -> CN shipment also meets China's all-goods tariff; only the EDA measure matters.)
    eda = Item(maker="Synopsys", made_in="US")
    assert "us-eda-cn-2025" not in effects(reg, "2025-05-22", eda, "US", "CN")
    assert effects(reg, "2025-06-15", eda, "US", "CN")["us-eda-cn-2025"].effect == "licence"
    assert "us-eda-cn-2025" not in effects(reg, "2025-07-02", eda, "US", "CN")
    assert reg.state(reg.measure("us-eda-cn-2025"), D("2025-07-02")).status == "lifted"


def test_eda_halt_was_unknown_before_it_was_reported(reg: Registry) -> None:
    # Letters dated 23 May, reported 28 May: as of 25 May nothing was known.
    eda = Item(maker="Cadence")
    assert "us-eda-cn-2025" not in effects(reg, "2025-05-26", eda, "US", "CN", as_of="2025-05-25")
    assert "us-eda-cn-2025" in effects(reg, "2025-05-26", eda, "US", "CN", as_of="2025-05-28")


# -- timeline ----------------------------------------------------------------------------


def test_timeline_for_dysprosium_lists_april_regime_and_abroad_rule(reg: Registry) -> None:
    ids = {t.measure_id for t in reg.timeline(element="Dy")}
    assert ids == {
        "cn-rare-earths-2025-04",
        "cn-rare-earths-2025-10-abroad",
        "cn-rare-earths-2025-10-reexport",
    }


def test_timeline_is_in_date_order(reg: Registry) -> None:
    dates = [t.effective for t in reg.timeline()]
    assert dates == sorted(dates)
    assert dates[0] == D("2022-08-26")


# -- reference customs headings (ItemScope.within_hs) -------------------------------------


def test_april_regime_reaches_dy_magnets_but_not_a_motor_containing_them(reg: Registry) -> None:
    # cn-rare-earths-2025-04 lists Dy items within HS 2805/2846/7202/8505. A Dy magnet
    # (850511) is under 8505; a traction motor (850153) with the same Dy inside is not a
    # listed item, so only the magnet needs a licence when shipped out of China.
    motor = Item(hs_code="850153", elements={"Dy": 0.004})
    assert "cn-rare-earths-2025-04" in effects(reg, "2025-06-01", DY_MAGNET, "CN", "DE")
    assert "cn-rare-earths-2025-04" not in effects(reg, "2025-06-01", motor, "CN", "DE")
    # Without an HS code the element alone decides (conservative reading).
    bare = Item(elements={"Dy": None})
    assert "cn-rare-earths-2025-04" in effects(reg, "2025-06-01", bare, "CN", "DE")


def test_timeline_hs_filter_finds_regimes_by_reference_heading(reg: Registry) -> None:
    ids = {t.measure_id for t in reg.timeline(hs_code="850511")}
    assert "cn-rare-earths-2025-04" in ids
    assert "cn-nexperia-ban-2025" not in ids
