"""Scenario assumptions for the Monte Carlo: what each measure, carve-out and site may do.

An assumptions file (YAML or JSON, documented in ``docs/montecarlo.md``) says, for measures of the
registry, how likely licences are approved and how long review takes, when a ban or licence
regime is lifted, when a carve-out's exemptions start and which sectors they cover, and how
noisy demand is. Every uncertain figure is a distribution; a plain number or date is a fixed
value. References to measures, carve-outs and sites are checked against a registry and a
network. Reading files and built-in sets (with every problem located by file, line and field
path) is I/O, so it lives above analysis in :mod:`supplyshock.services.assumptions`.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator

from supplyshock.domain.controls import Registry
from supplyshock.domain.network import Network
from supplyshock.domain.problems import Problem, ProblemReport

FloatArray = npt.NDArray[np.float64]
NEVER = "never"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _scalar_to_fixed(data: Any) -> Any:
    if isinstance(data, (int, float, date, str)) and not isinstance(data, bool):
        return {"dist": "fixed", "value": data}
    return data


class Dist(_Model):
    """A distribution of a number: ``fixed`` (a plain number), ``uniform``, ``triangular``,
    ``normal`` (truncated at ``low``/``high`` when given) or ``choice`` among ``values``."""

    dist: Literal["fixed", "uniform", "triangular", "normal", "choice"] = "fixed"
    value: float | None = None
    low: float | None = None
    high: float | None = None
    mode: float | None = None
    mean: float | None = None
    sd: float | None = Field(default=None, ge=0)
    values: list[float] = Field(default_factory=list)
    weights: list[float] = Field(default_factory=list)

    _fixed = model_validator(mode="before")(_scalar_to_fixed)

    @model_validator(mode="after")
    def _complete(self) -> Dist:
        _require(self.dist, self.value, self.low, self.high, self.mode, self.mean, self.sd)
        _check_choice(self.dist, self.values, self.weights)
        return self

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> FloatArray:
        """``size`` draws (float64)."""
        match self.dist:
            case "fixed":
                return np.full(size, float(self.value or 0.0))
            case "uniform":
                return rng.uniform(self.low or 0.0, self.high or 0.0, size)
            case "triangular":
                lo, hi = float(self.low or 0.0), float(self.high or 0.0)
                if hi <= lo:
                    return np.full(size, lo)
                return rng.triangular(lo, float(self.mode or lo), hi, size)
            case "normal":
                x = rng.normal(self.mean or 0.0, self.sd or 0.0, size)
                lo = -math.inf if self.low is None else self.low
                hi = math.inf if self.high is None else self.high
                return np.clip(x, lo, hi)
            case _:
                w = np.asarray(self.weights or [1.0] * len(self.values), dtype=float)
                return rng.choice(np.asarray(self.values, dtype=float), size=size, p=w / w.sum())

    def bounds(self) -> tuple[float, float]:
        """The smallest and largest value a draw can take (``inf`` when unbounded)."""
        match self.dist:
            case "fixed":
                v = float(self.value or 0.0)
                return v, v
            case "uniform" | "triangular":
                return float(self.low or 0.0), float(self.high or 0.0)
            case "normal":
                lo = -math.inf if self.low is None else self.low
                hi = math.inf if self.high is None else self.high
                return lo, hi
            case _:
                return min(self.values), max(self.values)


class DateDist(_Model):
    """A distribution of a date: a plain date, ``never``, ``uniform`` or ``triangular`` between
    dates, or ``choice`` among dates (``never`` allowed) with optional weights."""

    dist: Literal["fixed", "uniform", "triangular", "choice"] = "fixed"
    value: date | Literal["never"] | None = None
    low: date | None = None
    high: date | None = None
    mode: date | None = None
    values: list[date | Literal["never"]] = Field(default_factory=list)
    weights: list[float] = Field(default_factory=list)

    _fixed = model_validator(mode="before")(_scalar_to_fixed)

    @model_validator(mode="after")
    def _complete(self) -> DateDist:
        _require(self.dist, self.value, self.low, self.high, self.mode, None, None)
        _check_choice(self.dist, self.values, self.weights)
        return self

    def in_days(self, start: date) -> Dist:
        """The same distribution as days after ``start`` (``never`` is ``inf``)."""

        def off(d: date | str | None) -> float:
            return math.inf if d is None or d == NEVER else float((d - start).days)  # type: ignore[operator]

        match self.dist:
            case "fixed":
                return Dist(dist="fixed", value=off(self.value))
            case "uniform":
                return Dist(dist="uniform", low=off(self.low), high=off(self.high))
            case "triangular":
                return Dist(
                    dist="triangular", low=off(self.low), mode=off(self.mode), high=off(self.high)
                )
            case _:
                return Dist(
                    dist="choice", values=[off(v) for v in self.values], weights=self.weights
                )


def _require(
    kind: str,
    value: object,
    low: object,
    high: object,
    mode: object,
    mean: object,
    sd: object,
) -> None:
    need = {
        "fixed": {"value": value},
        "uniform": {"low": low, "high": high},
        "triangular": {"low": low, "mode": mode, "high": high},
        "normal": {"mean": mean, "sd": sd},
        "choice": {},
    }[kind]
    missing = [k for k, v in need.items() if v is None]
    if missing:
        raise ValueError(f"a {kind!r} distribution needs {', '.join(missing)}")
    if kind in ("uniform", "triangular") and low > high:  # type: ignore[operator]
        raise ValueError("low must not be greater than high")
    if kind == "triangular" and not (low <= mode <= high):  # type: ignore[operator]
        raise ValueError("mode must lie between low and high")


def _check_choice(kind: str, values: list[Any], weights: list[float]) -> None:
    if kind != "choice":
        if values or weights:
            raise ValueError("values and weights belong to a 'choice' distribution")
        return
    if not values:
        raise ValueError("a 'choice' distribution needs values")
    if weights and (len(weights) != len(values) or min(weights) < 0 or sum(weights) <= 0):
        raise ValueError("weights must be one non-negative number per value, not all zero")


class MeasureAssumption(_Model):
    """What we assume about one measure of the registry."""

    approval: Dist | None = None  # licence approval probability (0-1); default: the registry's
    review_days: Dist | None = None  # licence review time in days; default: the registry's
    per: Literal["shipment", "applicant"] = "shipment"
    lifted: DateDist | None = None  # the measure no longer applies from this date
    note: str = ""


class CarveOutAssumption(_Model):
    """When a carve-out's exemptions start, and which sectors they cover."""

    start: DateDist
    sectors: list[str] | None = None  # default: the carve-out's own sectors
    note: str = ""


class SiteAssumption(_Model):
    demand_cv: float = Field(ge=0, le=5)  # coefficient of variation of daily demand


class Assumptions(_Model):
    """A scenario's assumptions; see ``docs/montecarlo.md``."""

    name: str
    title: str = ""
    description: str = ""
    start: date  # D0: day 0 of the simulation
    horizon_days: int = Field(default=365, ge=1, le=3650)
    standstill_share: float = Field(default=0.5, gt=0, le=1)
    demand_cv: float = Field(default=0.0, ge=0, le=5)
    measures: dict[str, MeasureAssumption] = Field(default_factory=dict)
    carve_outs: dict[str, CarveOutAssumption] = Field(default_factory=dict)
    sites: dict[str, SiteAssumption] = Field(default_factory=dict)
    sources: list[str] = Field(default_factory=list)  # where the figures come from

    def problems(self, network: Network, registry: Registry) -> list[Problem]:
        """References to measures, carve-outs and sites that the registry or network lacks."""
        out: list[Problem] = []
        measures = {m.id: m for m in registry.measures}
        carve = {c.id: (m, c) for m in registry.measures for c in m.carve_outs}
        for mid, a in self.measures.items():
            m = measures.get(mid)
            if m is None:
                out.append(
                    Problem(
                        f"unknown measure {mid!r} (not in the registry)",
                        ("measures", mid),
                        code="ref",
                    )
                )
                continue
            if m.kind not in ("ban", "licence"):
                out.append(
                    Problem(
                        f"measure {mid!r} is a {m.kind}: only bans and licences stop supply",
                        ("measures", mid),
                    )
                )
            for attr in ("approval", "review_days"):
                if getattr(a, attr) is not None and m.kind != "licence":
                    out.append(
                        Problem(
                            f"{attr} applies to licence measures; {mid!r} is a {m.kind}",
                            ("measures", mid, attr),
                        )
                    )
            if a.approval is not None:
                lo, hi = a.approval.bounds()
                if lo < 0 or hi > 1:
                    out.append(
                        Problem("approval must lie between 0 and 1", ("measures", mid, "approval"))
                    )
            if a.review_days is not None and a.review_days.bounds()[0] < 0:
                out.append(
                    Problem("review_days must not be negative", ("measures", mid, "review_days"))
                )
        for cid in self.carve_outs:
            if cid not in carve:
                out.append(
                    Problem(
                        f"unknown carve-out {cid!r} (not in the registry)",
                        ("carve_outs", cid),
                        code="ref",
                    )
                )
            elif carve[cid][1].effect != "exempt":
                out.append(
                    Problem(
                        f"carve-out {cid!r} has effect {carve[cid][1].effect!r}; only 'exempt' "
                        "carve-outs can be moved",
                        ("carve_outs", cid),
                    )
                )
        sites = {s.id for s in network.sites}
        for sid in self.sites:
            if sid not in sites:
                out.append(
                    Problem(
                        f"unknown site {sid!r} (not in network {network.meta.name!r})",
                        ("sites", sid),
                        code="ref",
                    )
                )
        return out


def checked(a: Assumptions, network: Network, registry: Registry) -> Assumptions:
    """``a`` if its references resolve, else a ProblemReport (for assumptions built in code)."""
    probs = a.problems(network, registry)
    if probs:
        raise ProblemReport(probs)
    return a


def schema() -> dict[str, Any]:
    """The JSON Schema of an assumptions file."""
    out = Assumptions.model_json_schema(mode="validation")
    out["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    out["title"] = "supplyshock Monte Carlo assumptions file"
    return out
