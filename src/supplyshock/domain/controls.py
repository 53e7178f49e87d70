"""The export-control registry: sources, policy acts, measures, carve-outs, events, observations.

A measure's state on a date is the replay of its append-only events. Every event has the date
it takes effect and the date it became known, so the registry answers both "what applied on D"
and "what did we know on K about D" (``as_of``): an event announced after K is invisible.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from supplyshock.domain.codes import check_country, check_element, check_hs_prefix, normalise_hs
from supplyshock.domain.problems import Path, Problem

MeasureKind = Literal["ban", "licence", "quota", "tariff"]
Direction = Literal["export", "re-export", "import"]
EventKind = Literal[
    "announced",
    "in_force",
    "amended",
    "expanded",
    "relaxed",
    "tightened",
    "suspended",
    "resumed",
    "extended",
    "lifted",
    "expired",
]
Status = Literal["unknown", "announced", "in_force", "suspended", "lifted", "expired"]
CarveOutEffect = Literal["exempt", "general_licence", "faster_review", "other_rate"]
EffectKind = Literal["ban", "licence", "quota", "tariff", "exempt"]

# Global Trade Alert intervention types for each (kind, direction).
GTA_TYPES: dict[tuple[str, str], str] = {
    ("ban", "export"): "Export ban",
    ("ban", "re-export"): "Export ban",
    ("ban", "import"): "Import ban",
    ("licence", "export"): "Export licensing requirement",
    ("licence", "re-export"): "Export licensing requirement",
    ("licence", "import"): "Import licensing requirement",
    ("quota", "export"): "Export quota",
    ("quota", "re-export"): "Export quota",
    ("quota", "import"): "Import quota",
    ("tariff", "export"): "Export tax",
    ("tariff", "re-export"): "Export tax",
    ("tariff", "import"): "Import tariff",
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Model):
    """Where a fact comes from."""

    id: str
    publisher: str
    title: str
    published: date
    url: str | None = None
    official: bool = False


class PolicyAct(_Model):
    """One legal instrument (an announcement, a rule, an order); it can hold several measures."""

    id: str
    authority: str
    jurisdiction: str
    title: str
    legal_ref: str | None = None
    announced: date
    sources: list[str] = Field(min_length=1)

    _jur = field_validator("jurisdiction")(lambda v: check_country(v, allow_blocs=True))


class CountrySet(_Model):
    """All countries, only some, or all but some."""

    mode: Literal["all", "only", "except"] = "all"
    countries: list[str] = Field(default_factory=list)

    @field_validator("countries")
    @classmethod
    def _codes(cls, v: list[str]) -> list[str]:
        return [check_country(c, allow_blocs=True) for c in v]

    def contains(self, code: str | None) -> bool:
        if self.mode == "all":
            return True
        if code is None:
            # An unknown country is not in an explicit list, and not excluded by one either.
            return self.mode == "except"
        inside = code.upper() in self.countries
        return inside if self.mode == "only" else not inside

    def describe(self) -> str:
        if self.mode == "all":
            return "all"
        return ("" if self.mode == "only" else "all except ") + ", ".join(self.countries)


class MakerRef(_Model):
    """A named company, optionally only for what it makes in some countries."""

    name: str
    made_in: list[str] = Field(default_factory=list)

    _made = field_validator("made_in")(lambda v: [check_country(c) for c in v])


@dataclass(frozen=True)
class Item:
    """What is being shipped, as far as the shipper knows it.

    ``elements`` maps an element symbol to its mass fraction in the item, or ``None`` when the
    item is known to contain the element but not how much. ``element_origins`` are the countries
    the controlled content was produced in, where known.
    """

    hs_code: str | None = None
    part_number: str | None = None
    maker: str | None = None
    made_in: str | None = None
    elements: Mapping[str, float | None] = field(default_factory=dict)
    element_origins: frozenset[str] = frozenset()


class ItemScope(_Model):
    """What a measure reaches. An item is reached if any listed criterion matches.

    ``within_hs`` narrows every criterion to items under those HS headings (a control list's
    reference customs codes): a Dy regime ``within_hs: [2846, 8505]`` reaches Dy oxide and
    Dy-bearing magnets but not a motor that contains such a magnet. An item whose HS code is
    not known is not excluded by it (the conservative reading).
    """

    all_goods: bool = False
    within_hs: list[str] = Field(default_factory=list)
    hs_codes: list[str] = Field(default_factory=list)
    elements: list[str] = Field(default_factory=list)
    part_numbers: list[str] = Field(default_factory=list)
    makers: list[MakerRef] = Field(default_factory=list)
    # Extraterritorial rules: the element must make up at least this mass share of the item...
    min_element_share: float = Field(default=0.0, ge=0.0, le=1.0)
    # ...and have been produced in one of these countries (empty: anywhere).
    element_origins: list[str] = Field(default_factory=list)

    _hs = field_validator("hs_codes", "within_hs")(lambda v: [check_hs_prefix(c) for c in v])
    _el = field_validator("elements")(lambda v: [check_element(e) for e in v])
    _eo = field_validator("element_origins")(lambda v: [check_country(c) for c in v])

    def reached_by(self, item: Item) -> list[str]:
        """Why the item is in scope (empty when it is not)."""
        why: list[str] = []
        if self.within_hs and item.hs_code:
            hs = normalise_hs(item.hs_code)
            if not any(hs.startswith(p) for p in self.within_hs):
                return why
        if self.all_goods:
            why.append("all goods")
        if item.hs_code:
            hs = normalise_hs(item.hs_code)
            why += [f"HS {p}" for p in self.hs_codes if hs.startswith(p)]
        if item.part_number and item.part_number in self.part_numbers:
            why.append(f"part {item.part_number}")
        if item.maker:
            for m in self.makers:
                if m.name.casefold() == item.maker.casefold() and (
                    not m.made_in or (item.made_in or "").upper() in m.made_in
                ):
                    where = f" made in {item.made_in}" if m.made_in else ""
                    why.append(f"maker {m.name}{where}")
        for el in self.elements:
            if el not in item.elements:
                continue
            share = item.elements[el]
            if self.min_element_share > 0 and share is not None and share < self.min_element_share:
                continue
            if (
                self.element_origins
                and item.element_origins
                and not (set(self.element_origins) & item.element_origins)
            ):
                continue
            why.append(f"contains {el}")
        return why

    def merged(self, extra: ItemScope) -> ItemScope:
        return ItemScope(
            all_goods=self.all_goods or extra.all_goods,
            within_hs=self.within_hs + [c for c in extra.within_hs if c not in self.within_hs],
            hs_codes=self.hs_codes + [c for c in extra.hs_codes if c not in self.hs_codes],
            elements=self.elements + [e for e in extra.elements if e not in self.elements],
            part_numbers=self.part_numbers
            + [p for p in extra.part_numbers if p not in self.part_numbers],
            makers=self.makers + [m for m in extra.makers if m not in self.makers],
            min_element_share=self.min_element_share,
            element_origins=self.element_origins,
        )


class MeasureParams(_Model):
    """Kind-specific parameters; an event carries only the ones it changes."""

    approval_share: float | None = Field(default=None, ge=0.0, le=1.0)
    review_days: float | None = Field(default=None, ge=0.0)
    tariff_rate_pct: float | None = Field(default=None, ge=0.0)
    quota_t: float | None = Field(default=None, ge=0.0)

    def updated(self, change: MeasureParams) -> MeasureParams:
        return self.model_copy(update=change.model_dump(exclude_none=True))


class MeasureEvent(_Model):
    """One entry of a measure's (or carve-out's) append-only change log."""

    id: str
    kind: EventKind
    effective: date
    known: date | None = None  # when it became public; defaults to ``effective``
    until: date | None = None  # for ``suspended``: the suspension ends on this date
    params: MeasureParams = MeasureParams()
    scope_add: ItemScope | None = None
    destinations: CountrySet | None = None  # replaces the destinations from this date
    summary: str
    sources: list[str] = Field(min_length=1)

    @property
    def known_on(self) -> date:
        return self.known or self.effective

    @model_validator(mode="after")
    def _until(self) -> MeasureEvent:
        if self.until is not None and self.kind != "suspended":
            raise ValueError("'until' is only meaningful on a 'suspended' event")
        if self.until is not None and self.until <= self.effective:
            raise ValueError("'until' must be after 'effective'")
        return self


class CarveOut(_Model):
    """A child of a measure with its own scope, effect and dates (e.g. automotive exemptions)."""

    id: str
    title: str
    effect: CarveOutEffect
    sectors: list[str] = Field(default_factory=list)
    end_uses: list[str] = Field(default_factory=list)
    scope: ItemScope | None = None
    destinations: CountrySet = CountrySet()
    params: MeasureParams = MeasureParams()
    events: list[MeasureEvent] = Field(min_length=1)

    def covers(self, item: Item, destination: str | None, sector: str | None) -> bool:
        if self.sectors and (sector is None or sector.casefold() not in self._sectors_cf):
            return False
        if self.scope is not None and not self.scope.reached_by(item):
            return False
        return self.destinations.contains(destination)

    @property
    def _sectors_cf(self) -> set[str]:
        return {s.casefold() for s in self.sectors}


class Measure(_Model):
    """One restriction."""

    id: str
    act: str
    title: str
    jurisdiction: str
    direction: Direction
    kind: MeasureKind
    scope: ItemScope
    origins: CountrySet = CountrySet()
    destinations: CountrySet = CountrySet()
    params: MeasureParams = MeasureParams()
    events: list[MeasureEvent] = Field(min_length=1)
    carve_outs: list[CarveOut] = Field(default_factory=list)

    _jur = field_validator("jurisdiction")(lambda v: check_country(v, allow_blocs=True))

    @property
    def gta_type(self) -> str:
        return GTA_TYPES[(self.kind, self.direction)]


@dataclass(frozen=True)
class State:
    """A measure's (or carve-out's) state on a date, from replaying its events."""

    status: Status
    params: MeasureParams
    scope: ItemScope | None
    destinations: CountrySet | None
    last_event: MeasureEvent | None
    suspended_until: date | None = None

    @property
    def applies(self) -> bool:
        return self.status == "in_force"


def replay(
    events: Iterable[MeasureEvent],
    *,
    on: date,
    as_of: date | None = None,
    params: MeasureParams,
    scope: ItemScope | None = None,
    destinations: CountrySet | None = None,
) -> State:
    """Replay events that took effect on or before ``on`` and were known by ``as_of``."""
    status: Status = "unknown"
    before_suspension: Status = "unknown"
    until: date | None = None
    last: MeasureEvent | None = None
    ordered = sorted(events, key=lambda e: (e.effective, e.known_on, e.id))
    for ev in ordered:
        if as_of is not None and ev.known_on > as_of:
            continue
        # An event is known before it takes effect: an announcement of a future date.
        if ev.known_on <= on < ev.effective and status == "unknown":
            status = "announced"
        if ev.effective > on:
            continue
        if until is not None and ev.effective >= until:
            status, until = before_suspension, None
        prev, last = last, ev
        params = params.updated(ev.params)
        if ev.scope_add is not None and scope is not None:
            scope = scope.merged(ev.scope_add)
        if ev.destinations is not None:
            destinations = ev.destinations
        match ev.kind:
            case "announced":
                if status == "unknown":
                    status = "announced"
            case "in_force" if status == "suspended":
                # A scheduled entry into force that falls inside a suspension is deferred (MOFCOM
                # No. 70 suspended No. 57 the day before its 8 Nov 2025 start): only a
                # ``resumed`` event or the end of the suspension brings the measure into force.
                before_suspension = "in_force"
                last = prev  # the suspension is still what sets the state we report
            case "in_force" | "resumed":
                status, until = "in_force", None
            case "suspended":
                if status != "suspended":
                    before_suspension = status
                status, until = "suspended", ev.until
            case "lifted":
                status = "lifted"
            case "expired":
                status = "expired"
            case _:
                pass  # amended/expanded/relaxed/tightened/extended change parameters only
    if status == "suspended" and until is not None and on >= until:
        status, until = before_suspension, None
    return State(status, params, scope, destinations, last, until)


@dataclass(frozen=True)
class Effect:
    """What one measure does to one shipment on one date."""

    measure_id: str
    title: str
    jurisdiction: str
    measure_kind: MeasureKind
    effect: EffectKind
    reached_by: tuple[str, ...]
    approval_share: float | None = None
    review_days: float | None = None
    tariff_rate_pct: float | None = None
    quota_t: float | None = None
    carve_out: str | None = None
    event: str | None = None  # the event that set the state we report
    sources: tuple[str, ...] = ()

    def describe(self) -> str:
        match self.effect:
            case "licence":
                bits = []
                if self.approval_share is not None:
                    bits.append(f"~{self.approval_share:.0%} approved")
                if self.review_days is not None:
                    bits.append(f"review {self.review_days:g} days")
                return "licence" + (f" ({', '.join(bits)})" if bits else "")
            case "tariff":
                return f"tariff {self.tariff_rate_pct:g}%"
            case "exempt":
                return f"exempt via {self.carve_out} (event {self.event})"
            case _:
                return self.effect


class Observation(_Model):
    """An estimate that is not law: an approval share, a review time, a tonnage, a price."""

    id: str
    metric: str
    subject: str | None = None  # a measure id, when the figure is about one
    value: float | None = None
    low: float | None = None
    high: float | None = None
    unit: str
    period_start: date
    period_end: date
    dimensions: dict[str, str] = Field(default_factory=dict)
    sample_size: int | None = Field(default=None, ge=0)
    method: str
    note: str | None = None
    sources: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _value_or_range(self) -> Observation:
        if self.value is None and (self.low is None or self.high is None):
            raise ValueError("an observation needs a value or both low and high")
        if self.period_end < self.period_start:
            raise ValueError("period_end is before period_start")
        return self


@dataclass(frozen=True)
class TimelineEntry:
    effective: date
    known: date
    measure_id: str
    measure_title: str
    jurisdiction: str
    measure_kind: MeasureKind
    event_id: str
    event_kind: EventKind
    summary: str
    sources: tuple[str, ...]
    carve_out: str | None = None


class Registry(_Model):
    """The whole registry, with reference checks across its parts."""

    sources: list[Source]
    acts: list[PolicyAct]
    measures: list[Measure]
    observations: list[Observation] = Field(default_factory=list)

    def problems(self) -> list[Problem]:
        """Broken references and duplicate ids, each with its field path."""
        out: list[Problem] = []
        src_ids = _dupes(out, "sources", [s.id for s in self.sources])
        act_ids = _dupes(out, "acts", [a.id for a in self.acts])
        m_ids = _dupes(out, "measures", [m.id for m in self.measures])
        _dupes(out, "observations", [o.id for o in self.observations])

        def need_sources(path: Path, ids: list[str]) -> None:
            for j, s in enumerate(ids):
                if s not in src_ids:
                    out.append(Problem(f"unknown source {s!r}", (*path, "sources", j), code="ref"))

        for i, a in enumerate(self.acts):
            need_sources(("acts", i), a.sources)
        event_ids: set[str] = set()
        for i, m in enumerate(self.measures):
            if m.act not in act_ids:
                out.append(Problem(f"unknown act {m.act!r}", ("measures", i, "act"), code="ref"))
            groups: list[tuple[Path, list[MeasureEvent]]] = [(("measures", i), m.events)]
            groups += [
                (("measures", i, "carve_outs", k), c.events) for k, c in enumerate(m.carve_outs)
            ]
            for base, events in groups:
                for j, ev in enumerate(events):
                    if ev.id in event_ids:
                        out.append(
                            Problem(
                                f"duplicate event id {ev.id!r}",
                                (*base, "events", j, "id"),
                                code="duplicate",
                            )
                        )
                    event_ids.add(ev.id)
                    need_sources((*base, "events", j), ev.sources)
        for i, o in enumerate(self.observations):
            need_sources(("observations", i), o.sources)
            if o.subject is not None and o.subject not in m_ids:
                out.append(
                    Problem(
                        f"unknown measure {o.subject!r}", ("observations", i, "subject"), code="ref"
                    )
                )
        return out

    # -- queries ---------------------------------------------------------------------------

    def measure(self, measure_id: str) -> Measure:
        for m in self.measures:
            if m.id == measure_id:
                return m
        raise KeyError(measure_id)

    def source(self, source_id: str) -> Source:
        for s in self.sources:
            if s.id == source_id:
                return s
        raise KeyError(source_id)

    def state(self, measure: Measure, on: date, as_of: date | None = None) -> State:
        return replay(
            measure.events,
            on=on,
            as_of=as_of,
            params=measure.params,
            scope=measure.scope,
            destinations=measure.destinations,
        )

    def in_force(
        self,
        on: date,
        item: Item,
        origin: str | None,
        destination: str | None,
        sector: str | None = None,
        *,
        as_of: date | None = None,
    ) -> list[Effect]:
        """The measures that apply to shipping ``item`` from ``origin`` to ``destination``.

        ``as_of`` limits the answer to what had been announced by then. Measures whose state is
        not ``in_force`` that day (announced, suspended, lifted) do not apply. A carve-out in
        force that covers the shipment turns the measure's effect into its own.
        """
        found: list[Effect] = []
        for m in self.measures:
            st = self.state(m, on, as_of)
            if not st.applies:
                continue
            assert st.scope is not None and st.destinations is not None
            if not m.origins.contains(origin) or not st.destinations.contains(destination):
                continue
            why = st.scope.reached_by(item)
            if not why:
                continue
            found.append(self._effect(m, st, tuple(why), item, destination, sector, on, as_of))
        return found

    def _effect(
        self,
        m: Measure,
        st: State,
        why: tuple[str, ...],
        item: Item,
        destination: str | None,
        sector: str | None,
        on: date,
        as_of: date | None,
    ) -> Effect:
        p = st.params
        base = Effect(
            measure_id=m.id,
            title=m.title,
            jurisdiction=m.jurisdiction,
            measure_kind=m.kind,
            effect=m.kind,
            reached_by=why,
            approval_share=p.approval_share if m.kind == "licence" else None,
            review_days=p.review_days if m.kind == "licence" else None,
            tariff_rate_pct=p.tariff_rate_pct if m.kind == "tariff" else None,
            quota_t=p.quota_t if m.kind == "quota" else None,
            event=st.last_event.id if st.last_event else None,
            sources=tuple(st.last_event.sources) if st.last_event else (),
        )
        for c in m.carve_outs:
            cst = replay(c.events, on=on, as_of=as_of, params=c.params)
            if not cst.applies or not c.covers(item, destination, sector):
                continue
            ev = cst.last_event
            common = {
                "carve_out": c.id,
                "event": ev.id if ev else None,
                "sources": tuple(ev.sources) if ev else (),
            }
            cp = cst.params
            match c.effect:
                case "exempt":
                    return _replace(
                        base,
                        effect="exempt",
                        approval_share=None,
                        review_days=None,
                        tariff_rate_pct=None,
                        **common,
                    )
                case "general_licence":
                    return _replace(
                        base,
                        effect="licence",
                        approval_share=1.0,
                        review_days=cp.review_days or 0.0,
                        **common,
                    )
                case "faster_review":
                    return _replace(
                        base,
                        effect="licence",
                        approval_share=cp.approval_share or base.approval_share,
                        review_days=cp.review_days,
                        **common,
                    )
                case "other_rate":
                    return _replace(base, tariff_rate_pct=cp.tariff_rate_pct, **common)
        return base

    def timeline(
        self,
        *,
        start: date | None = None,
        end: date | None = None,
        issuer: str | None = None,
        kind: str | None = None,
        element: str | None = None,
        hs_code: str | None = None,
    ) -> list[TimelineEntry]:
        """All events of all measures and carve-outs, in date order, filtered.

        ``issuer`` matches the measure's jurisdiction or its act's authority (case-insensitive
        substring); ``element`` and ``hs_code`` match the measure's scope as it ever stood.
        """
        acts = {a.id: a for a in self.acts}
        entries: list[TimelineEntry] = []
        for m in self.measures:
            if kind and m.kind != kind:
                continue
            if issuer:
                # A code matches the jurisdiction exactly; a longer name matches the authority
                # as a substring (a bare substring test let "US" match "Customs").
                act = acts.get(m.act)
                want = issuer.strip().casefold()
                by_code = want == m.jurisdiction.casefold()
                by_name = len(want) > 2 and act is not None and want in act.authority.casefold()
                if not (by_code or by_name):
                    continue
            full = m.scope
            for ev in m.events:
                if ev.scope_add:
                    full = full.merged(ev.scope_add)
            if element and check_element(element) not in full.elements:
                continue
            if hs_code:
                hs = normalise_hs(hs_code)
                if not any(
                    hs.startswith(p) or p.startswith(hs) for p in full.hs_codes + full.within_hs
                ):
                    continue
            rows: list[tuple[MeasureEvent, str | None]] = [(e, None) for e in m.events]
            rows += [(e, c.id) for c in m.carve_outs for e in c.events]
            for ev, cid in rows:
                if (start and ev.effective < start) or (end and ev.effective > end):
                    continue
                entries.append(
                    TimelineEntry(
                        ev.effective,
                        ev.known_on,
                        m.id,
                        m.title,
                        m.jurisdiction,
                        m.kind,
                        ev.id,
                        ev.kind,
                        ev.summary,
                        tuple(ev.sources),
                        cid,
                    )
                )
        entries.sort(key=lambda t: (t.effective, t.known, t.measure_id, t.event_id))
        return entries


def _replace(e: Effect, **kw: object) -> Effect:
    from dataclasses import replace

    return replace(e, **kw)  # type: ignore[arg-type]


def _dupes(out: list[Problem], section: str, ids: list[str]) -> set[str]:
    seen: set[str] = set()
    for i, x in enumerate(ids):
        if x in seen:
            out.append(Problem(f"duplicate id {x!r}", (section, i, "id"), code="duplicate"))
        seen.add(x)
    return seen
