"""``supplyshock exposure``: which measures reach each plant and product, and along which paths."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.tree import Tree

from supplyshock.analysis.exposure import ExposurePath, ExposureReport, Hop, MeasureReach
from supplyshock.cli._common import app, checked, console, emit_csv, emit_json, fail, parse_date
from supplyshock.data import load_registry_arg
from supplyshock.domain.controls import Effect

CSV_HEADER = (
    "plant",
    "plant_country",
    "product",
    "path",
    "path_share",
    "path_at_risk",
    "hit_tier",
    "path_share_at_risk",
    "path_days_of_cover",
    "tier",
    "customer",
    "customer_country",
    "part",
    "hs_code",
    "lane",
    "supplier",
    "supplier_country",
    "crosses_border",
    "lane_share",
    "effects",
    "unconfirmed_measures",
    "stale_measures",
    "last_reviewed",
)


@app.command("exposure")
@checked
def exposure_cmd(
    on: Annotated[str, typer.Option("--date", help="Evaluate the measures on this day.")],
    scenario: Annotated[
        str, typer.Option(help="A built-in scenario name or a network file.")
    ] = "auto-2025",
    as_of: Annotated[
        str | None, typer.Option(help="Only count what had been announced by this day.")
    ] = None,
    plant: Annotated[str | None, typer.Option(help="Only this plant (site id).")] = None,
    registry: Annotated[
        list[Path] | None,
        typer.Option(help="Registry file(s) to use instead of the built-in one (repeatable)."),
    ] = None,
    all_paths: Annotated[
        bool, typer.Option("--all-paths", help="Also list paths no measure reaches.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full report as JSON.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print one CSV row per path hop.")] = False,
) -> None:
    """Measures reaching each plant's products, the paths tier by tier, share at risk, cover."""
    from supplyshock.services.exposure import exposure_report

    if as_json and as_csv:
        fail("choose one of --json and --csv")
    day = parse_date(on, "date")
    known = parse_date(as_of, "as-of")
    assert day is not None
    report = exposure_report(
        scenario=scenario,
        on=day,
        as_of=known,
        plant=plant,
        registry=load_registry_arg(registry),
        allow_files=True,
    )
    if as_json:
        emit_json(report)
    elif as_csv:
        emit_csv(CSV_HEADER, csv_rows(report))
    else:
        show(report, all_paths=all_paths)


def _effects_text(effects: tuple[Effect, ...]) -> str:
    return "; ".join(f"{e.measure_id}: {e.describe()}" for e in effects)


def _doubt_cells(effects: tuple[Effect, ...]) -> list[str]:
    """Which of a hop's measures rest on an unconfirmed scheduled change, which are asked about
    past their last review, and each measure's last review (``id=date``), ``;``-separated."""
    unconfirmed = [e.measure_id for e in effects if e.certainty == "scheduled_unconfirmed"]
    stale = [e.measure_id for e in effects if e.staleness != "current"]
    reviewed = [
        f"{e.measure_id}={e.last_reviewed.isoformat() if e.last_reviewed else 'never'}"
        for e in effects
    ]
    return [";".join(unconfirmed), ";".join(stale), ";".join(reviewed)]


def _measure_line(m: MeasureReach) -> str:
    text = f"{m.measure_id} ({', '.join(m.effects)})"
    flags = []
    if m.unconfirmed:
        flags.append("scheduled, unconfirmed")
    if m.staleness != "current":
        reviewed = m.last_reviewed.isoformat() if m.last_reviewed else "never"
        flags.append(f"stale: last reviewed {reviewed}")
    elif m.unconfirmed and m.last_reviewed:
        flags.append(f"last reviewed {m.last_reviewed.isoformat()}")
    return text + (f" [yellow]{'; '.join(flags)}[/]" if flags else "")


def _num(x: float | None, digits: int = 4) -> str:
    return "" if x is None else f"{x:.{digits}g}"


def csv_rows(report: ExposureReport) -> list[list[object]]:
    rows: list[list[object]] = []
    for pe in report.products:
        for n, path in enumerate(pe.paths, start=1):
            for hop in path.hops:
                rows.append(
                    [
                        pe.plant,
                        pe.plant_country,
                        pe.product,
                        n,
                        _num(path.share),
                        path.at_risk,
                        path.hit_tier if path.hit_tier is not None else "",
                        _num(path.share_at_risk),
                        _num(path.days_of_cover),
                        hop.tier,
                        hop.customer,
                        hop.customer_country,
                        hop.part,
                        hop.hs_code,
                        hop.lane,
                        hop.supplier,
                        hop.supplier_country,
                        hop.crosses_border,
                        _num(hop.lane_share),
                        _effects_text(hop.effects),
                        *_doubt_cells(hop.effects),
                    ]
                )
    return rows


def _pct(x: float) -> str:
    return f"{x * 100:.0f} %"


def _days(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f}"


def show(report: ExposureReport, *, all_paths: bool = False, paths: bool = True) -> None:
    title = f"Exposure of {report.network}"
    if report.synthetic:
        title += " (synthetic network)"
    title += f" on {report.on.isoformat()}"
    if report.as_of:
        title += f", as known on {report.as_of.isoformat()}"
    summary = Table(title=title, title_justify="left")
    for col, just in [
        ("Plant", "left"),
        ("Product", "left"),
        ("Per day", "right"),
        ("Share at risk", "right"),
        ("Min days of cover", "right"),
        ("Measures reaching it", "left"),
    ]:
        summary.add_column(
            col,
            justify=just,  # type: ignore[arg-type]
            overflow="fold",
            min_width=26 if col.startswith("Measures") else None,
        )
    for pe in report.products:
        measures = "\n".join(_measure_line(m) for m in pe.measures) or "none"
        risk = _pct(pe.share_at_risk)
        summary.add_row(
            f"{pe.plant} ({pe.plant_country})",
            pe.product,
            f"{pe.per_day:g}",
            f"[bold red]{risk}[/]" if pe.at_risk else risk,
            _days(pe.min_days_of_cover),
            measures,
        )
    console.print(summary)
    notes = {m.measure_id: m.caveat() for pe in report.products for m in pe.measures}
    for mid, note in sorted(notes.items()):
        if note:
            console.print(f"  [yellow]note[/] {mid}: {note}", highlight=False)
    if not paths:
        return
    for pe in report.products:
        shown = [p for p in pe.paths if all_paths or p.reached]
        head = (
            f"[bold]{pe.plant}[/] ({pe.plant_country}) makes [bold]{pe.product}[/]: "
            f"{_pct(pe.share_at_risk)} of supply at risk, "
            f"min cover {_days(pe.min_days_of_cover)} days"
        )
        tree = Tree(head)
        if not shown:
            tree.add("[dim]no measure reaches any path[/]")
        branches: dict[tuple[str, ...], Tree] = {}
        for path in shown:
            parent = tree
            for k, hop in enumerate(path.hops):
                key = tuple(h.lane for h in path.hops[: k + 1])
                if key not in branches:
                    branches[key] = parent.add(_hop_label(hop))
                parent = branches[key]
            parent.add(_path_label(path))
        console.print(tree)


def _hop_label(hop: Hop) -> str:
    border = "border" if hop.crosses_border else "domestic"
    text = (
        f"tier {hop.tier}: {hop.part} (HS {hop.hs_code}) from {hop.supplier} "
        f"({hop.supplier_country}) to {hop.customer} ({hop.customer_country}), "
        f"lane {hop.lane}, {_pct(hop.lane_share)}, {border}"
    )
    if not hop.effects:
        return text
    colour = "red" if hop.hit else "yellow"
    return f"{text}\n[{colour}]{_effects_text(hop.effects)}[/]"


def _path_label(path: ExposurePath) -> str:
    if path.at_risk:
        return (
            f"[bold red]at risk[/] from tier {path.hit_tier}: "
            f"{_pct(path.share_at_risk)} of supply, {_days(path.days_of_cover)} days of cover"
        )
    return f"[green]not at risk[/] (path share {_pct(path.share)})"
