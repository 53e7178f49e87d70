"""Plotly figures for the pages; built from the analysis results, no analysis done here."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from supplyshock.analysis.exposure import ExposureReport
from supplyshock.domain.controls import Observation, TimelineEntry

# How an event changes a measure's bite, for colouring: imposed, relaxed or lifted.
EVENT_GROUP = {
    "announced": "imposed",
    "in_force": "imposed",
    "amended": "imposed",
    "expanded": "imposed",
    "tightened": "imposed",
    "extended": "imposed",
    "relaxed": "relaxed",
    "suspended": "relaxed",
    "lifted": "lifted",
    "expired": "lifted",
}
FOCUS_FROM = date(2025, 1, 1)
GROUP_COLOUR = {"imposed": "#c0392b", "relaxed": "#d68910", "lifted": "#1e8449"}

SERIES = (
    ("export_tonnes", "product", "rare-earth magnets", "destination", "t"),
    ("price", "product", "dysprosium oxide", "market", "USD/kg"),
)


def event_group(kind: str) -> str:
    return EVENT_GROUP.get(kind, "imposed")


def timeline_figure(entries: Sequence[TimelineEntry], observations: Sequence[Observation]) -> Any:
    """Events by measure on one time axis, with the indicator series underneath."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(
        rows=3,
        cols=1,
        shared_xaxes=True,
        row_heights=[0.6, 0.2, 0.2],
        vertical_spacing=0.06,
        subplot_titles=[
            "Measure events",
            "Rare-earth magnet exports from China (t per month)",
            "Dysprosium oxide price, Europe (USD/kg)",
        ],
    )
    for group, colour in GROUP_COLOUR.items():
        rows = [e for e in entries if event_group(e.event_kind) == group]
        fig.add_trace(
            go.Scatter(
                x=[e.effective.isoformat() for e in rows],
                y=[e.measure_id for e in rows],
                mode="markers",
                name=group,
                marker={"color": colour, "size": 12, "symbol": "diamond"},
                text=[f"{e.event_kind}: {e.measure_title}" for e in rows],
                hovertemplate="%{x}<br>%{text}<extra></extra>",
            ),
            row=1,
            col=1,
        )
    for row, (metric, key, product, dim, unit) in enumerate(SERIES, start=2):
        lines: dict[str, list[Observation]] = defaultdict(list)
        for o in observations:
            if o.metric == metric and o.dimensions.get(key) == product and o.value is not None:
                lines[o.dimensions.get(dim, "all")].append(o)
        for label, obs in sorted(lines.items()):
            obs.sort(key=lambda o: o.period_start)
            fig.add_trace(
                go.Scatter(
                    x=[o.period_end.isoformat() for o in obs],
                    y=[o.value for o in obs],
                    mode="lines+markers",
                    name=f"{product} {dim} {label} ({unit})",
                    hovertemplate=f"%{{x}}: %{{y}} {unit}<extra>{label}</extra>",
                ),
                row=row,
                col=1,
            )
    recent = [e.effective for e in entries if e.effective.year >= FOCUS_FROM.year]
    if recent and len(recent) < len(entries):
        # Start on the 2025 events; older ones are a zoom-out (double-click) away.
        end = max(recent) + timedelta(days=30)
        fig.update_xaxes(range=[FOCUS_FROM.isoformat(), end.isoformat()])
    fig.update_layout(
        height=720,
        margin={"l": 190, "r": 20, "t": 40, "b": 40},
        legend={"orientation": "h", "y": -0.08},
    )
    return fig


def exposure_figures(report: ExposureReport) -> tuple[Any, Any]:
    """Products coloured by share at risk, and the at-risk paths measure -> lanes -> plant."""
    import plotly.graph_objects as go

    labels = [f"{p.plant} / {p.product}" for p in report.products]
    shares = [p.share_at_risk for p in report.products]
    bars = go.Figure(
        go.Bar(
            x=shares,
            y=labels,
            orientation="h",
            marker={"color": shares, "colorscale": "YlOrRd", "cmin": 0, "cmax": 1},
            text=[f"{s:.0%}" for s in shares],
            hovertemplate="%{y}: %{x:.1%} of supply at risk<extra></extra>",
        )
    )
    bars.update_layout(
        title="Share of supply at risk, per plant and product",
        xaxis={"range": [0, 1], "tickformat": ".0%"},
        height=120 + 40 * len(labels),
        margin={"l": 220, "r": 20, "t": 50, "b": 40},
    )

    nodes: list[str] = []
    index: dict[str, int] = {}

    def node(name: str) -> int:
        if name not in index:
            index[name] = len(nodes)
            nodes.append(name)
        return index[name]

    links: dict[tuple[int, int], float] = defaultdict(float)
    for product in report.products:
        for path in product.paths:
            if not path.at_risk or path.hit_tier is None:
                continue
            hops = [h for h in path.hops if h.tier <= path.hit_tier]
            hit = hops[-1]
            for mid in path.measures:
                if any(e.measure_id == mid and e.effect in ("ban", "licence") for e in hit.effects):
                    links[(node(f"measure {mid}"), node(hit.supplier))] += path.share_at_risk
            for hop in reversed(hops):
                dst = f"plant {hop.customer}" if hop.tier == 1 else hop.customer
                links[(node(hop.supplier), node(dst))] += path.share_at_risk
    sankey = go.Figure(
        go.Sankey(
            arrangement="snap",
            node={"label": nodes, "pad": 12, "thickness": 14},
            link={
                "source": [s for s, _ in links],
                "target": [t for _, t in links],
                "value": list(links.values()),
            },
        )
    )
    sankey.update_layout(
        title="At-risk paths: measure → hit lane → … → plant (tier by tier, width = share)",
        height=max(420, 26 * len(nodes)),
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
    )
    return bars, sankey


# The TTS-vs-TTR picture is supplyshock.charts.survival.figure (one set of rules for all).
