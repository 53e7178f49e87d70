"""What the registry answers: effects on a shipment, measures on record not applying,
observations (figures that are not law) and timeline entries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pydantic import Field, model_validator

from supplyshock.domain.controls.events import Staleness
from supplyshock.domain.controls.model import (
    Certainty,
    EffectKind,
    EventKind,
    MeasureKind,
    Status,
    _Model,
)


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
    # "scheduled_unconfirmed": the measure (or the carve-out) applies only because of a
    # scheduled change no source on record confirms; ``uncertainty`` says which, in plain words.
    certainty: Certainty = "confirmed"
    uncertainty: str | None = None
    # When an editor last checked the record for this measure, and whether the date asked about
    # lies after it ("stale": the answer assumes nothing changed since).
    last_reviewed: date | None = None
    staleness: Staleness = "current"
    staleness_warning: str | None = None

    def describe(self) -> str:
        text = self._describe_effect()
        if self.certainty == "scheduled_unconfirmed":
            text += " (scheduled, unconfirmed)"
        return text

    def _describe_effect(self) -> str:
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


@dataclass(frozen=True)
class Pending:
    """A measure on record that would reach the shipment but does not apply that day.

    Announced, suspended, lifted or expired. A risk manager wants to see these: an announced
    start or a suspension's end is a date their plan depends on, and a lapse that no source
    confirms ("scheduled_unconfirmed") may not have happened.
    """

    measure_id: str
    title: str
    status: Status
    suspended_until: date | None
    event: str | None
    certainty: Certainty = "confirmed"
    uncertainty: str | None = None
    last_reviewed: date | None = None
    staleness: Staleness = "current"
    staleness_warning: str | None = None

    def describe(self) -> str:
        until = f" until {self.suspended_until.isoformat()}" if self.suspended_until else ""
        doubt = ", scheduled, unconfirmed" if self.certainty == "scheduled_unconfirmed" else ""
        return f"{self.status}{until}{doubt}"


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
