"""The analysis requests, validated once: the API takes them as bodies, the CLI and the web pages
build them from options and form fields, and a job stores them as its parameters.

Bounds come from :mod:`supplyshock.services.limits`; what needs the data (is the scenario
built in, does the node exist) is checked by the service that runs the request.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from supplyshock.services import limits

Name = Annotated[str, Field(min_length=1, max_length=limits.MAX_NAME)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class SurvivalRequest(_Request):
    """A survival sweep: disrupt every node (or site) in turn; TTS, TTR, impact, REI."""

    scenario: Name = Field("auto-2025", description="A built-in scenario.")
    level: Literal["node", "site"] = Field("node", description="Disrupt each node or each site.")
    only: Annotated[list[Name], Field(max_length=limits.MAX_NODES)] | None = Field(
        None, description="Only these nodes (SITE/PART) or sites."
    )
    default_ttr: float | None = Field(
        None, ge=0, le=limits.MAX_HORIZON_DAYS, description="TTR (days) for sites that state none."
    )
    horizon: float | None = Field(
        None,
        ge=0,
        le=limits.MAX_HORIZON_DAYS,
        description="Days past which a finite TTS is reported as 'at least' (None: the longest "
        "TTR; 0: every TTS exactly).",
    )


class MeasureSurvivalRequest(_Request):
    """Cut every lane one measure blocks on one day; TTS and loss per plant."""

    scenario: Name = "auto-2025"
    measure: Name
    date: dt.date
    days: float = Field(30.0, gt=0, le=limits.MAX_HORIZON_DAYS, description="Loss horizon.")


class MonteCarloRequest(_Request):
    """Monte Carlo futures of one or more assumption sets, all drawn with the same seed."""

    scenario: Name = Field("auto-2025", description="A built-in scenario.")
    assumptions: Name = Field("baseline", description="The scenario's assumption set.")
    compare: Annotated[list[Name], Field(max_length=limits.MAX_ASSUMPTION_SETS - 1)] = Field(
        [], description="Further assumption sets, compared with the same draws."
    )
    runs: int = Field(1000, ge=limits.MIN_RUNS, le=limits.MAX_RUNS, description="Draws per set.")
    seed: int = Field(0, ge=0, le=2**63 - 1, description="Equal seeds give equal results.")
    horizon: int | None = Field(
        None, ge=1, le=limits.MAX_HORIZON_DAYS, description="Days (default: the sets' own)."
    )
    figures: bool = Field(
        False, description="Also return the base set's Plotly figures (fan charts, histogram)."
    )

    def sets(self) -> list[str]:
        """The assumption sets in order, the base first, each once."""
        out = [self.assumptions]
        out += [c for c in self.compare if c not in out]
        return out
