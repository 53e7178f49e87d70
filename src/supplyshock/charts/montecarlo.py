"""Pictures of Monte Carlo results: fan charts, standstill histograms, scenario comparison.

Interactive HTML uses Plotly with its JavaScript embedded (``include_plotlyjs=True``), so the
file works offline. SVG is written by hand (a fan chart per product), so it needs no library.
PNG would need kaleido, which is not a dependency: asking for it raises :class:`PlotError`.
Plotly is imported only when HTML is asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from supplyshock.analysis.montecarlo.results import WEEKS, SimResult, Summary

BANDS = (0.05, 0.25, 0.5, 0.75, 0.95)


class PlotError(ValueError):
    """A picture that cannot be made (unknown or unsupported format, nothing to draw)."""


def fan(result: SimResult) -> npt.NDArray[np.float64]:
    """(products, bands, days) quantiles of daily sales as a share of demand, over traced draws."""
    if result.sales.shape[2] == 0:
        raise PlotError("the result keeps no daily traces (run with trace > 0)")
    share = result.sales / result.per_day[:, None, None]
    return np.quantile(share, BANDS, axis=2).transpose(1, 0, 2).astype(np.float64)


def cover_fan(result: SimResult) -> npt.NDArray[np.float64]:
    """(products, bands, days) quantiles of the scarcest input's days of cover at the plant."""
    if result.cover.shape[2] == 0:
        raise PlotError("the result keeps no daily traces (run with trace > 0)")
    return np.quantile(result.cover, BANDS, axis=2).transpose(1, 0, 2).astype(np.float64)


def write_plot(path: str | Path, result: SimResult, compare: Sequence[Summary] = ()) -> Path:
    """Write the pictures to ``path``; the suffix picks the format (.html, .svg)."""
    p = Path(path)
    match p.suffix.lower():
        case ".html" | ".htm":
            p.write_text(html(result, compare), encoding="utf-8")
        case ".svg":
            p.write_text(svg(result), encoding="utf-8")
        case ".png":
            raise PlotError(
                "PNG needs the kaleido package, which is not installed: write .html "
                "(interactive, works offline) or .svg instead"
            )
        case _:
            raise PlotError(f"unknown picture format {p.suffix or '(none)'!r}: use .html or .svg")
    return p


def _label(result: SimResult, i: int) -> str:
    return f"{result.plants[i]} {result.products[i]}"


def figures(result: SimResult, compare: Sequence[Summary] = ()) -> list[Any]:
    """Plotly figures: fan charts, histogram and (with ``compare``) scenario comparison."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    P = len(result.products)
    days = np.arange(result.horizon)
    q, c = fan(result), cover_fan(result)
    fig = make_subplots(
        rows=P,
        cols=2,
        shared_xaxes=True,
        subplot_titles=[
            t
            for i in range(P)
            for t in (f"{_label(result, i)}: sales / demand", f"{_label(result, i)}: days of cover")
        ],
    )
    for i in range(P):
        for col, data in ((1, q[i]), (2, c[i])):
            for lo, hi, alpha in ((0, 4, 0.15), (1, 3, 0.3)):
                fig.add_trace(
                    go.Scatter(
                        x=np.r_[days, days[::-1]],
                        y=np.r_[data[hi], data[lo][::-1]],
                        fill="toself",
                        fillcolor=f"rgba(31,119,180,{alpha})",
                        line={"width": 0},
                        name=f"{BANDS[lo]:.0%}-{BANDS[hi]:.0%}",
                        showlegend=i == 0 and col == 1,
                        hoverinfo="skip",
                    ),
                    row=i + 1,
                    col=col,
                )
            fig.add_trace(
                go.Scatter(
                    x=days,
                    y=data[2],
                    line={"color": "rgb(31,119,180)"},
                    name="median",
                    showlegend=i == 0 and col == 1,
                ),
                row=i + 1,
                col=col,
            )
    fig.update_layout(
        height=260 * P,
        title=f"{result.network} / {result.scenario}: production and input cover, "
        f"days after {result.start.isoformat()} ({result.sales.shape[2]} traced draws)",
    )
    hist = go.Figure()
    for i in range(P):
        s = result.stop[i]
        hist.add_trace(
            go.Histogram(
                x=s[np.isfinite(s)], name=_label(result, i), opacity=0.6, xbins={"size": 1}
            )
        )
    hist.update_layout(
        barmode="overlay",
        title=f"Days to standstill ({result.runs} draws; draws that never stop are not shown)",
        xaxis_title="days after " + result.start.isoformat(),
        yaxis_title="draws",
    )
    out = [fig, hist]
    if compare:
        comp = go.Figure()
        for summ in compare:
            labels = [f"{p.plant} {p.product}" for p in summ.products]
            comp.add_trace(
                go.Bar(
                    x=labels,
                    y=[p.p_standstill[f"{WEEKS[-1]}w"] for p in summ.products],
                    name=summ.scenario,
                )
            )
        comp.update_layout(
            barmode="group",
            title=f"P(standstill within {WEEKS[-1]} weeks) by scenario",
            yaxis={"range": [0, 1]},
        )
        out.append(comp)
    return out


def html(result: SimResult, compare: Sequence[Summary] = ()) -> str:
    parts = [
        f.to_html(full_html=False, include_plotlyjs=(k == 0))
        for k, f in enumerate(figures(result, compare))
    ]
    title = escape(f"supplyshock Monte Carlo: {result.network} / {result.scenario}")
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title></head>"
        f"<body><h1>{title}</h1>{''.join(parts)}</body></html>"
    )


def svg(result: SimResult, width: int = 640, row: int = 140) -> str:
    """A hand-written SVG: one fan chart of sales / demand per product."""
    q = fan(result)
    P, H = q.shape[0], q.shape[2]
    pad, top = 40, 30
    h = top + P * row
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h}" '
        f'font-family="sans-serif" font-size="11">',
        f'<text x="{pad}" y="18">{escape(result.network)} / {escape(result.scenario)}: '
        f"sales / demand, days after {result.start.isoformat()}</text>",
    ]
    plot_w = width - 2 * pad
    for i in range(P):
        y0 = top + i * row
        ph = row - 30

        def pt(t: int, v: float, y0: int = y0, ph: int = ph) -> str:
            x = pad + plot_w * t / max(H - 1, 1)
            y = y0 + 15 + ph * (1 - min(max(v, 0.0), 1.0))
            return f"{x:.1f},{y:.1f}"

        out.append(f'<text x="{pad}" y="{y0 + 12}">{escape(_label(result, i))}</text>')
        out.append(
            f'<rect x="{pad}" y="{y0 + 15}" width="{plot_w}" height="{ph}" fill="none" '
            'stroke="#999"/>'
        )
        for lo, hi, alpha in ((0, 4, 0.15), (1, 3, 0.3)):
            pts = [pt(t, q[i, hi, t]) for t in range(H)] + [
                pt(t, q[i, lo, t]) for t in reversed(range(H))
            ]
            out.append(
                f'<polygon points="{" ".join(pts)}" fill="rgb(31,119,180)" '
                f'fill-opacity="{alpha}" stroke="none"/>'
            )
        med = " ".join(pt(t, q[i, 2, t]) for t in range(H))
        out.append(f'<polyline points="{med}" fill="none" stroke="rgb(31,119,180)"/>')
        out.append(f'<text x="{pad - 5}" y="{y0 + 19}" text-anchor="end">100%</text>')
        out.append(f'<text x="{pad - 5}" y="{y0 + 15 + ph}" text-anchor="end">0</text>')
    out.append("</svg>")
    return "\n".join(out)
