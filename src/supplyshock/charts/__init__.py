"""Pictures of analysis results (Plotly HTML, hand-written SVG): presentation, not analysis."""
