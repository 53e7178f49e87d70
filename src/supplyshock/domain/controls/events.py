"""Measures, carve-outs and their append-only event logs, and the replay that gives a state.

A measure's state on a date is the replay of its events. Every event has the date it takes
effect and the date it became known, so a replay answers both "what applied on D" and "what
did we know on K about D" (``as_of``): an event known after K is invisible.

Honest uncertainty: an event announced before it takes effect (a phase-in, a scheduled start)
is *scheduled*. It counts as confirmed only once a source on record says it happened
(``confirmed``/``confirmed_by``), and, for an ``as_of`` replay, only if that confirmation was
known by then. The end of a suspension (``until``) is scheduled too; only a later event
(``resumed``, ``extended``, ``lifted``) confirms what happened. A state that rests on an
unconfirmed scheduled change is reported as ``scheduled_unconfirmed`` with a plain-words reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from pydantic import Field, field_validator, model_validator

from supplyshock.domain.codes import check_country
from supplyshock.domain.controls.model import (
    GTA_TYPES,
    MILITARY_SECTORS,
    CarveOutEffect,
    Certainty,
    CountrySet,
    Direction,
    EventKind,
    Item,
    ItemScope,
    MeasureKind,
    MeasureParams,
    Status,
    _Model,
)


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
    # For a scheduled event (known before it takes effect): when a source on record first
    # confirmed that it happened as scheduled, and which sources did.
    confirmed: date | None = Field(
        default=None,
        description="For a scheduled event (known before it takes effect): the date a source "
        "first confirmed it happened as scheduled. Without it the event is 'scheduled, "
        "unconfirmed'.",
    )
    confirmed_by: list[str] = Field(
        default_factory=list, description="Source ids of that confirmation (with 'confirmed')."
    )
    note: str | None = Field(
        default=None,
        description="A gap in the record in plain words: what was looked for and not found.",
    )

    @property
    def known_on(self) -> date:
        return self.known or self.effective

    @property
    def scheduled(self) -> bool:
        """Announced before it took effect: a plan until a source confirms it happened."""
        return self.known_on < self.effective

    def confirmed_by_date(self, as_of: date | None) -> bool:
        """Whether the event counts as having happened, as known on ``as_of`` (None: today)."""
        if not self.scheduled:
            return True
        return self.confirmed is not None and (as_of is None or self.confirmed <= as_of)

    @model_validator(mode="after")
    def _checks(self) -> MeasureEvent:
        if self.until is not None and self.kind not in ("suspended", "extended"):
            raise ValueError("'until' is only meaningful on a 'suspended' or 'extended' event")
        if self.until is not None and self.until <= self.effective:
            raise ValueError("'until' must be after 'effective'")
        if (self.confirmed is None) != (not self.confirmed_by):
            raise ValueError("'confirmed' and 'confirmed_by' go together: a date and its sources")
        if self.confirmed is not None and self.confirmed < self.effective:
            raise ValueError("'confirmed' is before 'effective': a change is confirmed after it")
        return self


class CarveOut(_Model):
    """A child of a measure with its own scope, effect and dates (e.g. civilian-use exemptions).

    ``end_uses: [civilian]`` covers a shipment whose declared sector is not military
    (``military``, ``defence``); a shipment with no sector declared is not covered.
    """

    id: str
    title: str
    effect: CarveOutEffect
    sectors: list[str] = Field(default_factory=list)
    end_uses: list[str] = Field(
        default_factory=list,
        description="'civilian' covers any declared sector except military/defence; other "
        "values must equal the declared sector. No sector declared: not covered.",
    )
    scope: ItemScope | None = None
    origins: CountrySet = Field(
        default=CountrySet(), description="Where the shipment must come from (EU: members)."
    )
    destinations: CountrySet = CountrySet()
    params: MeasureParams = MeasureParams()
    events: list[MeasureEvent] = Field(min_length=1)

    def covers(
        self, item: Item, destination: str | None, sector: str | None, origin: str | None = None
    ) -> bool:
        if self.sectors and (sector is None or sector.casefold() not in self._sectors_cf):
            return False
        if self.end_uses and not _end_use_matches(self.end_uses, sector):
            return False
        if self.scope is not None and not self.scope.reached_by(item):
            return False
        if self.origins.mode != "all" and not self.origins.contains(origin):
            return False
        return self.destinations.contains(destination)

    @property
    def _sectors_cf(self) -> set[str]:
        return {s.casefold() for s in self.sectors}


def _end_use_matches(end_uses: list[str], sector: str | None) -> bool:
    if sector is None:
        return False
    s = sector.casefold()
    wanted = {e.casefold() for e in end_uses}
    if s in wanted:
        return True
    return "civilian" in wanted and s not in MILITARY_SECTORS


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
    last_reviewed: date | None = Field(
        default=None,
        description="The day an editor last checked the public record for changes to this "
        "measure. An answer for a later date carries a staleness warning.",
    )

    _jur = field_validator("jurisdiction")(lambda v: check_country(v, allow_blocs=True))

    @property
    def gta_type(self) -> str:
        return GTA_TYPES[(self.kind, self.direction)]


@dataclass(frozen=True)
class State:
    """A measure's (or carve-out's) state on a date, from replaying its events.

    ``certainty`` is ``scheduled_unconfirmed`` when the state rests on a scheduled change that
    no source on record confirms; ``uncertainty`` then says which, in plain words.
    """

    status: Status
    params: MeasureParams
    scope: ItemScope | None
    destinations: CountrySet | None
    last_event: MeasureEvent | None
    suspended_until: date | None = None
    certainty: Certainty = "confirmed"
    uncertainty: str | None = None

    @property
    def applies(self) -> bool:
        return self.status == "in_force"


def _lapse_reason(ev: MeasureEvent | None, until: date, back_to: Status) -> str:
    what = "back in force" if back_to == "in_force" else f"back to '{back_to}'"
    suspended_by = f" (event {ev.id})" if ev is not None else ""
    return (
        f"scheduled to be {what} on {until.isoformat()}, when the suspension{suspended_by} "
        "ends; no source on record says whether the suspension was extended or ended as "
        "scheduled"
    )


def _scheduled_reason(ev: MeasureEvent) -> str:
    return (
        f"rests on a scheduled change (event {ev.id}, '{ev.kind}' from "
        f"{ev.effective.isoformat()}, announced {ev.known_on.isoformat()}); no source on "
        "record confirms it took effect as scheduled"
    )


def replay(
    events: list[MeasureEvent] | tuple[MeasureEvent, ...],
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
    suspension: MeasureEvent | None = None
    last: MeasureEvent | None = None
    doubt: str | None = None
    ordered = sorted(events, key=lambda e: (e.effective, e.known_on, e.id))
    for ev in ordered:
        if as_of is not None and ev.known_on > as_of:
            continue
        # An event is known before it takes effect: an announcement of a future date.
        if ev.known_on <= on < ev.effective and status == "unknown":
            status = "announced"
        if ev.effective > on:
            continue
        extends = ev.kind == "extended" and ev.until is not None
        if until is not None and ev.effective >= until and not extends:
            # The suspension ran out before this event; unless this event is itself a
            # confirmed change, what happened at its end is not on record.
            status = before_suspension
            doubt = _lapse_reason(suspension, until, status)
            until = None
        prev, last = last, ev
        params = params.updated(ev.params)
        if ev.scope_add is not None and scope is not None:
            scope = scope.merged(ev.scope_add)
        if ev.destinations is not None:
            destinations = ev.destinations
        deferred = ev.kind == "in_force" and status == "suspended"
        if deferred:
            pass  # a start deferred by a suspension changes nothing yet, so no doubt either
        elif not ev.confirmed_by_date(as_of):
            doubt = _scheduled_reason(ev)
        else:
            # A confirmed change presupposes the state it changed, so earlier doubt is moot.
            doubt = None
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
                status, until, suspension = "suspended", ev.until, ev
            case "extended" if extends:
                # The suspension is prolonged to a new end date (or, if it had already run
                # out, re-imposed until then).
                if status != "suspended":
                    before_suspension = status
                status, until, suspension = "suspended", ev.until, ev
            case "lifted":
                status = "lifted"
            case "expired":
                status = "expired"
            case _:
                pass  # amended/expanded/relaxed/tightened/extended change parameters only
    if status == "suspended" and until is not None and on >= until:
        status = before_suspension
        doubt = _lapse_reason(suspension, until, status)
        until = None
    certainty: Certainty = "confirmed" if doubt is None else "scheduled_unconfirmed"
    return State(status, params, scope, destinations, last, until, certainty, doubt)


Staleness = Literal["current", "stale", "never_reviewed"]


def staleness(
    last_reviewed: date | None, on: date, as_of: date | None = None
) -> tuple[Staleness, str | None]:
    """Whether an answer for ``on`` goes past what its sources cover, and a warning if so.

    The record covers a measure up to its last review; an ``as_of`` query sees only what was
    known on ``as_of``, so its cover ends there if that is earlier.
    """
    if as_of is not None and (last_reviewed is None or as_of < last_reviewed):
        if on > as_of:
            return "stale", (
                f"only what was known on {as_of.isoformat()} is used; the answer for "
                f"{on.isoformat()} assumes nothing changed after that"
            )
        return "current", None
    if last_reviewed is None:
        return "never_reviewed", (
            "no review date is recorded for this measure: the answer may miss later changes"
        )
    if on > last_reviewed:
        return "stale", (
            f"this measure was last reviewed on {last_reviewed.isoformat()}; the answer for "
            f"{on.isoformat()} assumes nothing changed since then"
        )
    return "current", None
