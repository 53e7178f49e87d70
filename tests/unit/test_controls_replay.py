"""Replay semantics of measure events and in-force queries, on small hand-made measures."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supplyshock.domain.controls import (
    CarveOut,
    CountrySet,
    Item,
    ItemScope,
    Measure,
    MeasureEvent,
    MeasureParams,
    PolicyAct,
    Registry,
    Source,
    replay,
)

D = date.fromisoformat
SRC = Source(id="s", publisher="Gazette", title="Notice", published=D("2025-01-01"), official=True)
ACT = PolicyAct(
    id="a",
    authority="Ministry",
    jurisdiction="CN",
    title="Act",
    announced=D("2025-01-01"),
    sources=["s"],
)


def ev(id: str, kind: str, effective: str, **kw: Any) -> MeasureEvent:
    if "known" in kw:
        kw["known"] = D(kw["known"])
    if "until" in kw:
        kw["until"] = D(kw["until"])
    kw.setdefault("sources", ["s"])
    return MeasureEvent(id=id, kind=kind, effective=D(effective), summary=id, **kw)  # type: ignore[arg-type]


def status(events: list[MeasureEvent], on: str, as_of: str | None = None) -> str:
    return replay(
        events, on=D(on), as_of=D(as_of) if as_of else None, params=MeasureParams()
    ).status


def measure(**kw: Any) -> Measure:
    base: dict[str, Any] = {
        "id": "m",
        "act": "a",
        "title": "M",
        "jurisdiction": "CN",
        "direction": "export",
        "kind": "licence",
        "scope": ItemScope(elements=["Dy"]),
        "events": [ev("m-in", "in_force", "2025-03-01")],
    }
    base.update(kw)
    return Measure(**base)


def registry(*measures: Measure, sources: list[Source] | None = None) -> Registry:
    return Registry(sources=sources or [SRC], acts=[ACT], measures=list(measures))


DY = Item(elements={"Dy": 0.05})


# -- replay ------------------------------------------------------------------------------


def test_measure_announced_before_it_takes_effect_is_announced_not_in_force() -> None:
    events = [ev("in", "in_force", "2025-03-01", known="2025-02-01")]
    assert status(events, "2025-01-15") == "unknown"  # before anyone knew
    assert status(events, "2025-02-15") == "announced"
    assert status(events, "2025-03-01") == "in_force"


def test_suspension_with_until_ends_on_that_date() -> None:
    events = [
        ev("in", "in_force", "2025-01-01"),
        ev("sus", "suspended", "2025-06-01", until="2025-09-01"),
    ]
    assert status(events, "2025-05-31") == "in_force"
    assert status(events, "2025-06-01") == "suspended"
    assert status(events, "2025-08-31") == "suspended"
    assert status(events, "2025-09-01") == "in_force"


def test_scheduled_start_inside_a_suspension_is_deferred_to_its_end() -> None:
    # Announced 1 Oct to start 8 Nov; suspended 7 Nov until 1 Feb: not in force in between.
    events = [
        ev("ann", "announced", "2025-10-01"),
        ev("in", "in_force", "2025-11-08", known="2025-10-01"),
        ev("sus", "suspended", "2025-11-07", until="2026-02-01"),
    ]
    assert status(events, "2025-11-08") == "suspended"
    assert status(events, "2026-01-31") == "suspended"
    assert status(events, "2026-02-01") == "in_force"
    # The suspension, not the deferred start, is what explains the state on 8 Nov.
    st = replay(events, on=D("2025-11-08"), params=MeasureParams())
    assert st.last_event is not None and st.last_event.id == "sus"


def test_suspension_of_a_measure_never_in_force_returns_to_announced() -> None:
    # Suspended before its start date, and the suspension ends before that date.
    events = [
        ev("ann", "announced", "2025-10-01"),
        ev("in", "in_force", "2025-12-01", known="2025-10-01"),
        ev("sus", "suspended", "2025-10-15", until="2025-11-01"),
    ]
    assert status(events, "2025-11-15") == "announced"
    assert status(events, "2025-12-01") == "in_force"


def test_open_ended_suspension_lasts_until_resumed() -> None:
    events = [
        ev("in", "in_force", "2025-01-01"),
        ev("sus", "suspended", "2025-02-01"),
        ev("res", "resumed", "2025-05-01"),
    ]
    assert status(events, "2025-04-30") == "suspended"
    assert status(events, "2025-05-01") == "in_force"


def test_lifted_measure_no_longer_applies() -> None:
    reg = registry(
        measure(events=[ev("in", "in_force", "2025-03-01"), ev("off", "lifted", "2025-07-02")])
    )
    assert reg.in_force(D("2025-07-01"), DY, "CN", "DE")
    assert reg.in_force(D("2025-07-02"), DY, "CN", "DE") == []


def test_parameter_changes_accumulate_in_date_order() -> None:
    # Rate 34 -> 84 -> 125 -> 10; review_days set once and kept.
    events = [
        ev("e1", "in_force", "2025-04-09", params=MeasureParams(tariff_rate_pct=34, review_days=5)),
        ev("e3", "tightened", "2025-04-12", params=MeasureParams(tariff_rate_pct=125)),
        ev("e2", "tightened", "2025-04-10", params=MeasureParams(tariff_rate_pct=84)),
        ev("e4", "relaxed", "2025-05-14", params=MeasureParams(tariff_rate_pct=10)),
    ]

    def rate(on: str) -> tuple[float | None, float | None]:
        st = replay(events, on=D(on), params=MeasureParams())
        return st.params.tariff_rate_pct, st.params.review_days

    assert rate("2025-04-09") == (34, 5)
    assert rate("2025-04-11") == (84, 5)
    assert rate("2025-04-20") == (125, 5)
    assert rate("2025-05-14") == (10, 5)


def test_as_of_hides_events_that_became_known_later() -> None:
    events = [
        ev("in", "in_force", "2025-01-01"),
        ev("sus", "suspended", "2025-11-07", known="2025-11-07"),
    ]
    assert status(events, "2025-11-10", as_of="2025-11-05") == "in_force"
    assert status(events, "2025-11-10", as_of="2025-11-07") == "suspended"


def test_event_with_later_known_date_is_not_applied_retroactively_under_as_of() -> None:
    # In force from 26 Aug, disclosed 31 Aug: as of 28 Aug the measure is unknown.
    events = [ev("in", "in_force", "2022-08-26", known="2022-08-31")]
    assert status(events, "2022-08-28", as_of="2022-08-28") == "unknown"
    assert status(events, "2022-08-28") == "in_force"


def test_expanded_event_adds_scope_and_new_destinations_replace_old() -> None:
    m = measure(
        destinations=CountrySet(mode="only", countries=["US"]),
        events=[
            ev("in", "in_force", "2025-03-01"),
            ev(
                "exp",
                "expanded",
                "2025-06-01",
                scope_add=ItemScope(elements=["Ho"]),
                destinations=CountrySet(mode="all"),
            ),
        ],
    )
    reg = registry(m)
    ho = Item(elements={"Ho": 0.01})
    assert reg.in_force(D("2025-05-01"), ho, "CN", "US") == []
    assert reg.in_force(D("2025-05-01"), DY, "CN", "DE") == []  # DE not yet a destination
    assert [e.reached_by for e in reg.in_force(D("2025-06-01"), ho, "CN", "DE")] == [
        ("contains Ho",)
    ]


# -- carve-outs --------------------------------------------------------------------------


def carve(effect: str, params: MeasureParams | None = None, **kw: Any) -> CarveOut:
    return CarveOut(
        id=f"c-{effect}",
        title=effect,
        effect=effect,  # type: ignore[arg-type]
        params=params or MeasureParams(),
        events=[ev(f"c-{effect}-in", "in_force", "2025-05-01")],
        **kw,
    )


def licence_measure(*carve_outs: CarveOut) -> Measure:
    quarter = MeasureParams(approval_share=0.25, review_days=63)
    return measure(
        events=[ev("m-in", "in_force", "2025-03-01", params=quarter)], carve_outs=list(carve_outs)
    )


def test_exempt_carve_out_applies_only_to_its_sector_and_from_its_date() -> None:
    reg = registry(licence_measure(carve("exempt", sectors=["automotive"])))
    before = reg.in_force(D("2025-04-30"), DY, "CN", "DE", "automotive")[0]
    assert before.effect == "licence"
    e = reg.in_force(D("2025-05-01"), DY, "CN", "DE", "Automotive")[0]
    assert (e.effect, e.carve_out, e.event) == ("exempt", "c-exempt", "c-exempt-in")
    assert e.approval_share is None
    assert reg.in_force(D("2025-05-01"), DY, "CN", "DE", "aerospace")[0].effect == "licence"


def test_general_licence_carve_out_means_certain_approval() -> None:
    # No review_days on the carve-out: the general licence is immediate (0 days).
    reg = registry(licence_measure(carve("general_licence")))
    e = reg.in_force(D("2025-06-01"), DY, "CN", "DE")[0]
    assert (e.effect, e.approval_share, e.review_days) == ("licence", 1.0, 0.0)


def test_faster_review_carve_out_shortens_review_and_keeps_base_share() -> None:
    reg = registry(licence_measure(carve("faster_review", MeasureParams(review_days=20))))
    e = reg.in_force(D("2025-06-01"), DY, "CN", "DE")[0]
    assert (e.effect, e.approval_share, e.review_days) == ("licence", 0.25, 20)


def test_other_rate_carve_out_replaces_the_tariff_rate() -> None:
    m = measure(
        kind="tariff",
        scope=ItemScope(all_goods=True),
        events=[ev("t-in", "in_force", "2025-03-01", params=MeasureParams(tariff_rate_pct=125))],
        carve_outs=[
            carve(
                "other_rate",
                MeasureParams(tariff_rate_pct=20),
                scope=ItemScope(hs_codes=["8542"]),
            )
        ],
    )
    reg = registry(m)
    chip = reg.in_force(D("2025-06-01"), Item(hs_code="854231"), "CN", "DE")[0]
    other = reg.in_force(D("2025-06-01"), Item(hs_code="870899"), "CN", "DE")[0]
    assert (chip.tariff_rate_pct, chip.carve_out) == (20, "c-other_rate")
    assert (other.tariff_rate_pct, other.carve_out) == (125, None)


def test_carve_out_limited_to_destinations() -> None:
    only_de = carve("exempt", destinations=CountrySet(mode="only", countries=["DE"]))
    reg = registry(licence_measure(only_de))
    assert reg.in_force(D("2025-06-01"), DY, "CN", "DE")[0].effect == "exempt"
    assert reg.in_force(D("2025-06-01"), DY, "CN", "FR")[0].effect == "licence"


# -- country sets and item scopes -------------------------------------------------------


def test_country_set_only_and_except() -> None:
    only = CountrySet(mode="only", countries=["cn"])
    excl = CountrySet(mode="except", countries=["CN"])
    assert only.countries == ["CN"]
    assert only.contains("CN") and not only.contains("DE")
    assert excl.contains("DE") and not excl.contains("CN")
    # Unknown country: never in an explicit list, never excluded by one.
    assert not only.contains(None) and excl.contains(None)
    assert excl.describe() == "all except CN"


def test_country_set_rejects_unknown_codes() -> None:
    with pytest.raises(ValueError, match="XX"):
        CountrySet(mode="only", countries=["XX"])


def test_hs_prefix_reaches_every_code_below_it() -> None:
    scope = ItemScope(hs_codes=["85", "8505", "850511"])
    assert scope.reached_by(Item(hs_code="8505.11")) == ["HS 85", "HS 8505", "HS 850511"]
    assert scope.reached_by(Item(hs_code="850519")) == ["HS 85", "HS 8505"]
    assert scope.reached_by(Item(hs_code="870899")) == []


def test_malformed_hs_prefix_in_a_scope_is_rejected() -> None:
    with pytest.raises(ValueError, match="malformed HS code"):
        ItemScope(hs_codes=["85051"])


def test_maker_made_in_limits_which_plants_are_reached() -> None:
    scope = ItemScope(makers=[{"name": "Nexperia", "made_in": ["CN"]}])  # type: ignore[list-item]
    assert scope.reached_by(Item(maker="nexperia", made_in="CN")) == ["maker Nexperia made in CN"]
    assert scope.reached_by(Item(maker="Nexperia", made_in="DE")) == []
    assert scope.reached_by(Item(maker="Nexperia")) == []  # plant unknown: not this plant


def test_min_element_share_with_unknown_share_is_reached() -> None:
    # Known to contain Dy, amount unknown: we cannot rule the threshold out, so it is reached.
    scope = ItemScope(elements=["Dy"], min_element_share=0.001)
    assert scope.reached_by(Item(elements={"Dy": None})) == ["contains Dy"]
    assert scope.reached_by(Item(elements={"Dy": 0.001})) == ["contains Dy"]
    assert scope.reached_by(Item(elements={"Dy": 0.0009})) == []


def test_element_origins_must_overlap_when_both_are_known() -> None:
    scope = ItemScope(elements=["Dy"], element_origins=["CN"])
    assert scope.reached_by(Item(elements={"Dy": 0.05}, element_origins=frozenset({"AU"}))) == []
    assert scope.reached_by(Item(elements={"Dy": 0.05}, element_origins=frozenset({"CN"})))
    assert scope.reached_by(Item(elements={"Dy": 0.05}))  # origin unknown: reached


def test_origin_filter_keeps_other_countries_exports_out() -> None:
    reg = registry(measure(origins=CountrySet(mode="only", countries=["CN"])))
    assert reg.in_force(D("2025-06-01"), DY, "CN", "DE")
    assert reg.in_force(D("2025-06-01"), DY, "DE", "CN") == []


# -- timeline ------------------------------------------------------------------------------


def test_timeline_issuer_code_matches_jurisdiction_not_substrings_of_authorities() -> None:
    customs = PolicyAct(
        id="t",
        authority="Customs Tariff Commission",
        jurisdiction="CN",
        title="Tariff",
        announced=D("2025-04-04"),
        sources=["s"],
    )
    cn = measure(id="cn", act="t")
    us = measure(id="us", jurisdiction="US", events=[ev("us-in", "in_force", "2025-04-09")])
    reg = Registry(sources=[SRC], acts=[ACT, customs], measures=[cn, us])
    assert [t.measure_id for t in reg.timeline(issuer="us")] == ["us"]
    assert [t.measure_id for t in reg.timeline(issuer="tariff commission")] == ["cn"]


# -- registry problems ------------------------------------------------------------------


def test_duplicate_event_ids_are_reported_with_their_path() -> None:
    a = measure(id="m1", events=[ev("same", "in_force", "2025-01-01")])
    b = measure(id="m2", events=[ev("same", "in_force", "2025-02-01")])
    probs = registry(a, b).problems()
    assert [(p.message, p.path, p.code) for p in probs] == [
        ("duplicate event id 'same'", ("measures", 1, "events", 0, "id"), "duplicate")
    ]


def test_unknown_source_reference_is_reported_with_its_path() -> None:
    m = measure(events=[ev("e", "in_force", "2025-01-01", sources=["s", "nowhere"])])
    probs = registry(m).problems()
    assert [(p.message, p.path) for p in probs] == [
        ("unknown source 'nowhere'", ("measures", 0, "events", 0, "sources", 1))
    ]


def test_unknown_act_reference_is_reported() -> None:
    probs = registry(measure(act="no-such-act")).problems()
    assert [p.message for p in probs] == ["unknown act 'no-such-act'"]


def test_until_is_only_allowed_on_suspensions() -> None:
    with pytest.raises(ValueError, match="until"):
        ev("x", "lifted", "2025-01-01", until="2025-06-01")


# -- honest uncertainty: scheduled changes and suspensions' ends --------------------------


def state(events: list[MeasureEvent], on: str, as_of: str | None = None) -> Any:
    return replay(events, on=D(on), as_of=D(as_of) if as_of else None, params=MeasureParams())


def test_a_scheduled_start_without_confirmation_is_scheduled_unconfirmed() -> None:
    # Announced 1 Feb for 1 Mar; nothing on record says it started.
    st = state([ev("in", "in_force", "2025-03-01", known="2025-02-01")], "2025-04-01")
    assert (st.status, st.certainty) == ("in_force", "scheduled_unconfirmed")
    assert "event in" in st.uncertainty and "no source on record confirms" in st.uncertainty


def test_a_confirmed_scheduled_start_is_confirmed_but_only_once_the_confirmation_is_known() -> None:
    events = [
        ev("in", "in_force", "2025-03-01", known="2025-02-01", confirmed=D("2025-03-10"),
           confirmed_by=["s"]),
    ]  # fmt: skip
    assert state(events, "2025-04-01").certainty == "confirmed"
    # Asked on 5 Mar (before the 10 Mar confirmation), the start was still only a plan.
    assert state(events, "2025-04-01", as_of="2025-03-05").certainty == "scheduled_unconfirmed"
    assert state(events, "2025-04-01", as_of="2025-03-10").certainty == "confirmed"


def test_an_event_known_the_day_it_takes_effect_needs_no_confirmation() -> None:
    st = state([ev("in", "in_force", "2025-03-01")], "2025-04-01")
    assert (st.status, st.certainty, st.uncertainty) == ("in_force", "confirmed", None)


def test_a_suspension_is_certain_but_its_end_is_not() -> None:
    events = [
        ev("in", "in_force", "2025-01-01"),
        ev("sus", "suspended", "2025-02-01", until="2025-06-01"),
    ]
    during = state(events, "2025-05-31")
    assert (during.status, during.certainty) == ("suspended", "confirmed")
    after = state(events, "2025-06-01")
    assert (after.status, after.certainty) == ("in_force", "scheduled_unconfirmed")
    assert "whether the suspension was extended" in after.uncertainty
    assert "2025-06-01" in after.uncertainty


def test_a_recorded_resumption_confirms_the_end_of_a_suspension() -> None:
    events = [
        ev("in", "in_force", "2025-01-01"),
        ev("sus", "suspended", "2025-02-01", until="2025-06-01"),
        ev("back", "resumed", "2025-06-01"),
    ]
    assert (state(events, "2025-07-01").status, state(events, "2025-07-01").certainty) == (
        "in_force",
        "confirmed",
    )


def test_an_extension_with_a_new_end_keeps_the_measure_suspended() -> None:
    events = [
        ev("in", "in_force", "2025-01-01"),
        ev("sus", "suspended", "2025-02-01", until="2025-06-01"),
        ev("ext", "extended", "2025-05-20", until="2026-06-01"),
    ]
    st = state(events, "2025-07-01")
    assert (st.status, st.suspended_until, st.certainty) == (
        "suspended",
        D("2026-06-01"),
        "confirmed",
    )
    assert state(events, "2026-06-01").certainty == "scheduled_unconfirmed"


def test_a_start_deferred_by_a_suspension_adds_no_doubt_while_suspended() -> None:
    # No. 57's pattern: due 8 Nov, suspended 7 Nov until 10 Nov 2026.
    events = [
        ev("ann", "announced", "2025-10-09"),
        ev("in", "in_force", "2025-11-08", known="2025-10-09"),
        ev("sus", "suspended", "2025-11-07", until="2026-11-10"),
    ]
    assert state(events, "2026-01-01").certainty == "confirmed"
    assert state(events, "2026-11-10").certainty == "scheduled_unconfirmed"


def test_a_scheduled_expiry_without_confirmation_is_flagged_on_the_expired_state() -> None:
    events = [
        ev("in", "in_force", "2026-02-24"),
        ev("end", "expired", "2026-07-24", known="2026-02-20"),
    ]
    st = state(events, "2026-12-01")
    assert (st.status, st.certainty) == ("expired", "scheduled_unconfirmed")


def test_confirmed_needs_its_sources_and_comes_after_the_change() -> None:
    with pytest.raises(ValueError, match="go together"):
        ev("x", "in_force", "2025-03-01", known="2025-02-01", confirmed=D("2025-03-02"))
    with pytest.raises(ValueError, match="before 'effective'"):
        ev("x", "in_force", "2025-03-01", known="2025-02-01", confirmed=D("2025-02-15"),
           confirmed_by=["s"])  # fmt: skip


# -- staleness -----------------------------------------------------------------------------


def test_a_query_past_the_last_review_carries_a_staleness_warning() -> None:
    reg = registry(measure(last_reviewed=D("2025-06-30")))
    (on_review,) = reg.in_force(D("2025-06-30"), DY, "CN", "DE")
    (after,) = reg.in_force(D("2025-07-01"), DY, "CN", "DE")
    assert (on_review.staleness, on_review.staleness_warning) == ("current", None)
    assert after.staleness == "stale"
    assert after.staleness_warning is not None and "2025-06-30" in after.staleness_warning


def test_an_as_of_query_is_stale_past_its_as_of_date() -> None:
    # Reviewed 30 Jun, but asked as known on 1 Apr about 1 May: cover ends on 1 Apr.
    reg = registry(measure(last_reviewed=D("2025-06-30")))
    (e,) = reg.in_force(D("2025-05-01"), DY, "CN", "DE", as_of=D("2025-04-01"))
    assert e.staleness == "stale" and "2025-04-01" in (e.staleness_warning or "")
    (same_day,) = reg.in_force(D("2025-04-01"), DY, "CN", "DE", as_of=D("2025-04-01"))
    assert same_day.staleness == "current"


def test_a_measure_without_a_review_date_is_never_reviewed() -> None:
    (e,) = registry(measure()).in_force(D("2025-04-01"), DY, "CN", "DE")
    assert e.staleness == "never_reviewed"


def test_not_applying_lists_an_unconfirmed_expiry() -> None:
    m = measure(
        kind="tariff",
        events=[
            ev("in", "in_force", "2026-02-24", params=MeasureParams(tariff_rate_pct=10)),
            ev("end", "expired", "2026-07-24", known="2026-02-20"),
        ],
    )
    reg = registry(m)
    assert reg.in_force(D("2026-12-01"), DY, "CN", "DE") == []
    (p,) = reg.not_applying(D("2026-12-01"), DY, "CN", "DE")
    assert (p.status, p.certainty) == ("expired", "scheduled_unconfirmed")


# -- carve-outs by end use and by origin ----------------------------------------------------


def test_civilian_end_use_carve_out_covers_any_declared_non_military_sector() -> None:
    c = CarveOut(
        id="civ", title="civilian", effect="exempt", end_uses=["civilian"],
        events=[ev("civ-in", "in_force", "2025-03-01")],
    )  # fmt: skip
    reg = registry(measure(kind="ban", carve_outs=[c]))
    effect = {s: reg.in_force(D("2025-04-01"), DY, "CN", "DE", s)[0].effect
              for s in ("automotive", "civilian", "military", None)}  # fmt: skip
    assert effect == {"automotive": "exempt", "civilian": "exempt", "military": "ban", None: "ban"}


def test_carve_out_for_eu_origin_covers_a_german_shipment_only() -> None:
    c = CarveOut(
        id="eu", title="EU rate", effect="other_rate",
        origins=CountrySet(mode="only", countries=["EU"]),
        params=MeasureParams(tariff_rate_pct=12.5), events=[ev("eu-in", "in_force", "2025-08-01")],
    )  # fmt: skip
    m = measure(
        kind="tariff", scope=ItemScope(hs_codes=["8703"]), carve_outs=[c],
        events=[ev("in", "in_force", "2025-04-03", params=MeasureParams(tariff_rate_pct=25))],
    )  # fmt: skip
    reg = registry(m)
    car = Item(hs_code="870323")
    assert reg.in_force(D("2025-09-01"), car, "DE", "US")[0].tariff_rate_pct == 12.5
    assert reg.in_force(D("2025-09-01"), car, "JP", "US")[0].tariff_rate_pct == 25
    assert reg.in_force(D("2025-07-31"), car, "DE", "US")[0].tariff_rate_pct == 25


# -- property: an as-of replay never uses an event known after its as-of date --------------


_KINDS = ["announced", "in_force", "amended", "relaxed", "tightened", "suspended", "resumed",
          "lifted", "expired"]  # fmt: skip
_DAY0 = D("2025-01-01")


@st.composite
def _events(draw: Any) -> list[MeasureEvent]:
    n = draw(st.integers(min_value=1, max_value=8))
    out = []
    for i in range(n):
        eff = _DAY0 + timedelta(days=draw(st.integers(0, 400)))
        known = eff - timedelta(days=draw(st.integers(-60, 120)))
        kind = draw(st.sampled_from(_KINDS))
        kw: dict[str, Any] = {"known": known.isoformat()}
        if kind == "suspended" and draw(st.booleans()):
            kw["until"] = (eff + timedelta(days=draw(st.integers(1, 200)))).isoformat()
        rate = draw(st.one_of(st.none(), st.integers(0, 200)))
        out.append(ev(f"e{i}", kind, eff.isoformat(),
                      params=MeasureParams(tariff_rate_pct=rate), **kw))  # fmt: skip
    return out


@settings(max_examples=300, deadline=None)
@given(events=_events(), on_days=st.integers(0, 600), as_of_days=st.integers(0, 600))
def test_replay_as_of_k_ignores_every_event_known_after_k(
    events: list[MeasureEvent], on_days: int, as_of_days: int
) -> None:
    # Replaying as of K must equal replaying only the events known by K (with no as-of at
    # all, except that confirmations dated after K still do not count), and the reported
    # event is never one known after K.
    on, k = _DAY0 + timedelta(days=on_days), _DAY0 + timedelta(days=as_of_days)
    full = replay(events, on=on, as_of=k, params=MeasureParams())
    known_by_k = [e for e in events if e.known_on <= k]
    only = replay(known_by_k, on=on, as_of=k, params=MeasureParams())
    assert full == only
    if full.last_event is not None:
        assert full.last_event.known_on <= k
