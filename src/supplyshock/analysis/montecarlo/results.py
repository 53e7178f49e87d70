"""Monte Carlo results: per-draw outcomes and their summary per plant and product."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from supplyshock.analysis.montecarlo.model import SimModel

FloatArray = npt.NDArray[np.float64]
WEEKS = (2, 4, 8)
QUANTILES = (0.05, 0.5, 0.95)


@dataclass(frozen=True)
class ProductSummary:
    """One plant's finished product over all draws.

    ``days_to_standstill`` quantiles are ``None`` where more than that share of draws never
    stop within the horizon. ``mean_days_censored`` is the mean of min(days, horizon), with its
    standard error: the figure the engines are compared on.
    """

    plant: str
    product: str
    per_day: float
    margin_per_unit: float
    p_standstill: dict[str, float]  # "2w", "4w", "8w", "horizon" -> probability
    days_to_standstill: dict[str, float | None]  # "q05", "q50", "q95"
    mean_days_censored: float
    se_days_censored: float
    units_lost: dict[str, float]  # "mean", "se", "q05", "q50", "q95"
    margin_lost: dict[str, float]


@dataclass(frozen=True)
class Summary:
    network: str
    scenario: str
    start: date
    horizon_days: int
    runs: int
    seed: int
    standstill_share: float
    products: tuple[ProductSummary, ...]


@dataclass
class SimResult:
    """Per-draw outcomes: ``stop`` and ``lost`` are (products, draws); traces (P, H, T)."""

    network: str
    scenario: str
    start: date
    horizon: int
    seed: int
    standstill_share: float
    plants: list[str]
    products: list[str]
    per_day: FloatArray
    margin: FloatArray
    stop: FloatArray
    lost: FloatArray
    sales: npt.NDArray[np.float32]
    cover: npt.NDArray[np.float32]
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_arrays(
        cls,
        model: SimModel,
        *,
        seed: int,
        stop: FloatArray,
        lost: FloatArray,
        sales: npt.NDArray[np.float32],
        cover: npt.NDArray[np.float32],
    ) -> SimResult:
        return cls(
            network=model.name,
            scenario=model.scenario,
            start=model.start,
            horizon=model.horizon,
            seed=seed,
            standstill_share=model.standstill_share,
            plants=list(model.plants),
            products=list(model.products),
            per_day=model.dem_rate.copy(),
            margin=model.dem_margin.copy(),
            stop=stop,
            lost=lost,
            sales=sales,
            cover=cover,
        )

    @property
    def runs(self) -> int:
        return int(self.stop.shape[1])

    def summary(self) -> Summary:
        rows = []
        R = self.runs
        for i, (plant, product) in enumerate(zip(self.plants, self.products, strict=True)):
            s = self.stop[i]
            cens = np.minimum(s, self.horizon)
            units = self.lost[i]
            margin = units * self.margin[i]
            p = {f"{w}w": float(np.mean(s <= 7 * w)) for w in WEEKS}
            p["horizon"] = float(np.mean(np.isfinite(s)))
            rows.append(
                ProductSummary(
                    plant=plant,
                    product=product,
                    per_day=float(self.per_day[i]),
                    margin_per_unit=float(self.margin[i]),
                    p_standstill=p,
                    days_to_standstill={
                        f"q{round(q * 100):02d}": _finite(
                            float(np.quantile(s, q, method="inverted_cdf"))
                        )
                        for q in QUANTILES
                    },
                    mean_days_censored=float(cens.mean()),
                    se_days_censored=float(cens.std(ddof=1) / math.sqrt(R)) if R > 1 else 0.0,
                    units_lost=_stats(units),
                    margin_lost=_stats(margin),
                )
            )
        return Summary(
            network=self.network,
            scenario=self.scenario,
            start=self.start,
            horizon_days=self.horizon,
            runs=R,
            seed=self.seed,
            standstill_share=self.standstill_share,
            products=tuple(rows),
        )


def _finite(x: float) -> float | None:
    return None if math.isinf(x) else x


def _stats(x: FloatArray) -> dict[str, float]:
    n = len(x)
    out = {
        "mean": float(x.mean()),
        "se": float(x.std(ddof=1) / math.sqrt(n)) if n > 1 else 0.0,
    }
    for q in QUANTILES:
        out[f"q{round(q * 100):02d}"] = float(np.quantile(x, q))
    return out
