"""The whole registry: reference checks across its parts, the in-force query and the timeline."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from pydantic import Field

from supplyshock.domain.codes import check_element, normalise_hs
from supplyshock.domain.controls.effects import Effect, Observation, Pending, TimelineEntry
from supplyshock.domain.controls.events import Measure, MeasureEvent, State, replay, staleness
from supplyshock.domain.controls.model import Item, PolicyAct, Source, _Model
from supplyshock.domain.problems import Path, Problem


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
        force that covers the shipment turns the measure's effect into its own. Each effect
        says whether it rests on an unconfirmed scheduled change and whether ``on`` lies past
        the measure's last review.
        """
        found: list[Effect] = []
        for m in self.measures:
            st = self.state(m, on, as_of)
            if not st.applies:
                continue
            why = self._reaches(st, m, item, origin, destination)
            if why:
                found.append(self._effect(m, st, why, item, origin, destination, sector, on, as_of))
        return found

    def not_applying(
        self,
        on: date,
        item: Item,
        origin: str | None,
        destination: str | None,
        *,
        as_of: date | None = None,
    ) -> list[Pending]:
        """Measures on record that would reach the shipment but do not apply on ``on``.

        Announced and suspended measures, and lifted or expired ones whose end is itself an
        unconfirmed scheduled change (the Section 122 surcharge "ending" on 24 Jul 2026).
        """
        out: list[Pending] = []
        for m in self.measures:
            st = self.state(m, on, as_of)
            wanted = st.status in ("announced", "suspended") or (
                st.status in ("lifted", "expired") and st.certainty != "confirmed"
            )
            if not wanted or not self._reaches(st, m, item, origin, destination):
                continue
            stale, warning = staleness(m.last_reviewed, on, as_of)
            out.append(
                Pending(
                    measure_id=m.id,
                    title=m.title,
                    status=st.status,
                    suspended_until=st.suspended_until,
                    event=st.last_event.id if st.last_event else None,
                    certainty=st.certainty,
                    uncertainty=st.uncertainty,
                    last_reviewed=m.last_reviewed,
                    staleness=stale,
                    staleness_warning=warning,
                )
            )
        return out

    @staticmethod
    def _reaches(
        st: State, m: Measure, item: Item, origin: str | None, destination: str | None
    ) -> tuple[str, ...]:
        if st.scope is None or st.destinations is None:
            return ()
        if not m.origins.contains(origin) or not st.destinations.contains(destination):
            return ()
        return tuple(st.scope.reached_by(item))

    def _effect(
        self,
        m: Measure,
        st: State,
        why: tuple[str, ...],
        item: Item,
        origin: str | None,
        destination: str | None,
        sector: str | None,
        on: date,
        as_of: date | None,
    ) -> Effect:
        p = st.params
        stale, warning = staleness(m.last_reviewed, on, as_of)
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
            certainty=st.certainty,
            uncertainty=st.uncertainty,
            last_reviewed=m.last_reviewed,
            staleness=stale,
            staleness_warning=warning,
        )
        for c in m.carve_outs:
            cst = replay(c.events, on=on, as_of=as_of, params=c.params)
            if not cst.applies or not c.covers(item, destination, sector, origin):
                continue
            ev = cst.last_event
            # The answer is as uncertain as the less certain of the measure and its carve-out.
            doubt = "; ".join(d for d in (st.uncertainty, cst.uncertainty) if d) or None
            common = {
                "carve_out": c.id,
                "event": ev.id if ev else None,
                "sources": tuple(ev.sources) if ev else (),
                "certainty": "scheduled_unconfirmed" if doubt else "confirmed",
                "uncertainty": doubt,
            }
            cp = cst.params
            match c.effect:
                case "exempt":
                    return replace(
                        base,
                        effect="exempt",
                        approval_share=None,
                        review_days=None,
                        tariff_rate_pct=None,
                        **common,  # type: ignore[arg-type]
                    )
                case "general_licence":
                    return replace(
                        base,
                        effect="licence",
                        approval_share=1.0,
                        review_days=cp.review_days or 0.0,
                        **common,  # type: ignore[arg-type]
                    )
                case "faster_review":
                    return replace(
                        base,
                        effect="licence",
                        approval_share=cp.approval_share or base.approval_share,
                        review_days=cp.review_days,
                        **common,  # type: ignore[arg-type]
                    )
                case "other_rate":
                    return replace(
                        base,
                        tariff_rate_pct=cp.tariff_rate_pct,
                        **common,  # type: ignore[arg-type]
                    )
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


def _dupes(out: list[Problem], section: str, ids: list[str]) -> set[str]:
    seen: set[str] = set()
    for i, x in enumerate(ids):
        if x in seen:
            out.append(Problem(f"duplicate id {x!r}", (section, i, "id"), code="duplicate"))
        seen.add(x)
    return seen
