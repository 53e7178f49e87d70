"""The TTS-vs-TTR risk picture: one point per node, the diagonal TTS = TTR, at-risk nodes in red.

Drawn by the rules of :func:`_points` for every output: the web page and the HTML file use the
same :func:`figure`, the SVG the same points and axis.

HTML is drawn with Plotly (the script is embedded, so the file works offline); SVG is written
by hand, so it needs nothing. PNG would need Plotly's static-image engine (kaleido), which is
not a dependency, so asking for one is an error that says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

from supplyshock.analysis.survival.sweep import NodeRisk

FORMATS = (".html", ".svg")


class PlotError(ValueError):
    """The picture cannot be written in the requested format."""


def _points(rows: Sequence[NodeRisk]) -> tuple[list[NodeRisk], float]:
    """Rows with a TTR, and the axis limit (an infinite TTS is drawn at the top edge)."""
    pts = [r for r in rows if r.ttr is not None]
    finite = [r.tts for r in pts if math.isfinite(r.tts)] + [r.ttr or 0.0 for r in pts]
    top = max(finite, default=1.0) * 1.1 or 1.0
    return pts, top


def write_plot(rows: Sequence[NodeRisk], path: str | Path, title: str = "Time to survive") -> Path:
    """Write the risk picture to ``path`` (.html or .svg); returns the path."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".png":
        raise PlotError(
            "PNG export needs the 'kaleido' package (Plotly's static image engine), which is "
            "not installed; write .html or .svg instead"
        )
    if suffix not in FORMATS:
        raise PlotError(f"unknown picture format {p.suffix!r}: use .html or .svg")
    text = _html(rows, title) if suffix == ".html" else svg(rows, title)
    p.write_text(text, encoding="utf-8")
    return p


def figure(rows: Sequence[NodeRisk], title: str = "Time to survive vs time to recover") -> Any:
    """The Plotly figure (the web page's and the HTML file's): one point per node with a TTR,
    an infinite TTS drawn at the top edge, at-risk nodes (TTS < TTR) in red, size by REI."""
    import plotly.graph_objects as go

    pts, top = _points(rows)
    fig = go.Figure()
    for risky, colour, name in ((False, "#7f8c8d", "TTS ≥ TTR"), (True, "#c0392b", "TTS < TTR")):
        sel = [r for r in pts if r.at_risk == risky]
        fig.add_trace(
            go.Scatter(
                x=[r.ttr for r in sel],
                y=[min(r.tts, top) for r in sel],
                mode="markers",
                name=name,
                marker={"color": colour, "size": [6 + 14 * (r.rei or 0.0) for r in sel]},
                text=[_label(r) for r in sel],
                hovertemplate="%{text}<extra></extra>",
            )
        )
    fig.add_trace(
        go.Scatter(x=[0, top], y=[0, top], mode="lines", name="TTS = TTR", line={"dash": "dash"})
    )
    fig.update_layout(
        title=title,
        xaxis_title="time to recover (days)",
        yaxis_title="time to survive (days; top edge = indefinitely)",
        xaxis_range=[0, top],
        yaxis_range=[0, top * 1.02],
    )
    return fig


def _html(rows: Sequence[NodeRisk], title: str) -> str:
    return str(figure(rows, title).to_html(include_plotlyjs=True, full_html=True))


def _label(r: NodeRisk) -> str:
    tts = "indefinitely" if math.isinf(r.tts) else f"{r.tts:.1f} d"
    rei = "" if r.rei is None else f", REI {r.rei:.2f}"
    return f"{r.label}: TTS {tts}, TTR {r.ttr:g} d{rei}"


def svg(rows: Sequence[NodeRisk], title: str = "Time to survive") -> str:
    """The picture as a standalone SVG document."""
    pts, top = _points(rows)
    w, h, pad = 640, 480, 60
    sx = (w - 2 * pad) / top
    sy = (h - 2 * pad) / top

    def X(v: float) -> float:
        return pad + v * sx

    def Y(v: float) -> float:
        return h - pad - min(v, top) * sy

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        f'viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">',
        f'<rect width="{w}" height="{h}" fill="white"/>',
        f'<text x="{w / 2}" y="24" text-anchor="middle" font-size="16">{escape(title)}</text>',
        f'<line x1="{X(0)}" y1="{Y(0)}" x2="{X(top)}" y2="{Y(0)}" stroke="black"/>',
        f'<line x1="{X(0)}" y1="{Y(0)}" x2="{X(0)}" y2="{Y(top)}" stroke="black"/>',
        f'<line class="diagonal" x1="{X(0)}" y1="{Y(0)}" x2="{X(top)}" y2="{Y(top)}" '
        'stroke="#555" stroke-dasharray="6,4"/>',
        f'<text x="{w / 2}" y="{h - 15}" text-anchor="middle">time to recover (days)</text>',
        f'<text transform="translate(18,{h / 2}) rotate(-90)" text-anchor="middle">'
        "time to survive (days)</text>",
    ]
    for k in range(6):
        v = top * k / 5
        out.append(f'<text x="{X(v)}" y="{Y(0) + 16}" text-anchor="middle">{v:.0f}</text>')
        out.append(f'<text x="{X(0) - 6}" y="{Y(v) + 4}" text-anchor="end">{v:.0f}</text>')
    # At-risk nodes last, so they are drawn on top.
    for r in sorted(pts, key=lambda r: r.at_risk):
        colour = "#c0392b" if r.at_risk else "#7f8c8d"
        radius = 3 + 7 * (r.rei or 0.0)
        cls = "at-risk" if r.at_risk else "safe"
        out.append(
            f'<circle class="{cls}" cx="{X(r.ttr or 0.0):.2f}" cy="{Y(r.tts):.2f}" '
            f'r="{radius:.1f}" fill="{colour}" fill-opacity="0.8">'
            f"<title>{escape(_label(r))}</title></circle>"
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"
