"""``supplyshock timeline`` and ``supplyshock check``: the measure registry on the command line."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from supplyshock.cli._common import app, checked, console, emit_csv, emit_json, fail, parse_date
from supplyshock.data import load_registry_arg
from supplyshock.domain.codes import check_country, check_element, check_hs_prefix
from supplyshock.domain.controls import Effect, Item, Registry, TimelineEntry
from supplyshock.services import registry as service
from supplyshock.services.registry import NotInForce, item_hs

MEASURE_KINDS = ("ban", "licence", "quota", "tariff")

RegistryOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--registry",
        help="Registry file(s) to use instead of the built-in one (repeatable).",
        show_default=False,
    ),
]


def _country(value: str | None, option: str) -> str | None:
    if value is None:
        return None
    try:
        return check_country(value)
    except ValueError as e:
        fail(f"{option}: {e}")


def _element(value: str, option: str = "--element") -> str:
    try:
        return check_element(value)
    except ValueError as e:
        fail(f"{option}: {e}")


def _item_hs(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return item_hs(value)
    except ValueError:
        fail(f"--hs: malformed HS code {value!r}: expected 6 digits (or 8/10), e.g. 850511")


def _share(symbol: str, text: str) -> float:
    """``0.05`` or ``5%`` -> 0.05, checked to lie in [0, 1]."""
    raw = text.strip()
    try:
        share = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        fail(f"--element {symbol}={text}: the share must be a number such as 0.05 or 5%")
    if not 0.0 <= share <= 1.0:
        fail(f"--element {symbol}={text}: the mass share must lie between 0 and 1 (0-100 %)")
    return share


def parse_elements(values: list[str]) -> dict[str, float | None]:
    """``["Dy=0.05", "Nd"]`` -> ``{"Dy": 0.05, "Nd": None}`` (None: contained, amount unknown)."""
    out: dict[str, float | None] = {}
    for v in values:
        sym, sep, amount = v.partition("=")
        el = _element(sym)
        out[el] = _share(el, amount) if sep else None
    return out


# -- timeline ----------------------------------------------------------------------------


@app.command()
@checked
def timeline(
    issuer: Annotated[
        str | None, typer.Option(help="Jurisdiction code or authority name (e.g. CN, MOFCOM).")
    ] = None,
    kind: Annotated[str | None, typer.Option(help="ban, licence, quota or tariff.")] = None,
    element: Annotated[
        str | None, typer.Option(help="Only measures whose scope names this element (e.g. Dy).")
    ] = None,
    hs: Annotated[
        str | None, typer.Option(help="Only measures whose HS scope overlaps this code.")
    ] = None,
    start: Annotated[
        str | None, typer.Option("--from", help="First effective date (YYYY-MM-DD).")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Last effective date (YYYY-MM-DD).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV.")] = False,
    registry: RegistryOpt = None,
) -> None:
    """List registry events (measures and carve-outs) in date order."""
    if as_json and as_csv:
        fail("choose one of --json and --csv")
    if kind is not None and kind not in MEASURE_KINDS:
        fail(
            f"--kind: {kind!r} is not a measure kind (expected one of: {', '.join(MEASURE_KINDS)})"
        )
    el = _element(element) if element is not None else None
    hs_prefix: str | None = None
    if hs is not None:
        try:
            hs_prefix = check_hs_prefix(hs)
        except ValueError as e:
            fail(f"--hs: {e}")
    d0, d1 = parse_date(start, "from"), parse_date(end, "to")
    if d0 and d1 and d1 < d0:
        fail(f"--to {d1} is before --from {d0}")
    entries = service.timeline(
        load_registry_arg(registry),
        start=d0,
        end=d1,
        issuer=issuer,
        kind=kind,
        element=el,
        hs_code=hs_prefix,
    )
    if as_json:
        emit_json(entries)
    elif as_csv:
        emit_csv(_TIMELINE_HEADER, [_timeline_row(t) for t in entries])
    else:
        _print_timeline(entries)


_TIMELINE_HEADER = (
    "effective",
    "known",
    "jurisdiction",
    "measure_id",
    "measure_kind",
    "carve_out",
    "event_id",
    "event_kind",
    "summary",
    "sources",
)


def _timeline_row(t: TimelineEntry) -> list[str]:
    return [
        t.effective.isoformat(),
        t.known.isoformat(),
        t.jurisdiction,
        t.measure_id,
        t.measure_kind,
        t.carve_out or "",
        t.event_id,
        t.event_kind,
        t.summary,
        ";".join(t.sources),
    ]


def _print_timeline(entries: list[TimelineEntry]) -> None:
    if not entries:
        console.print("No registry events match.")
        return
    table = Table(title=f"Registry timeline ({len(entries)} events)", show_lines=True)
    # Dates and kinds never wrap; the summary takes whatever width is left.
    for col in ("date", "known", "jur."):
        table.add_column(col, no_wrap=True)
    table.add_column("measure", overflow="fold", max_width=24)
    table.add_column("event", no_wrap=True)
    table.add_column("summary", ratio=1, min_width=20)
    table.add_column("sources", overflow="fold", max_width=22)
    for t in entries:
        known = "" if t.known == t.effective else t.known.isoformat()
        measure = t.measure_id + (f"\n↳ {t.carve_out}" if t.carve_out else "")
        table.add_row(
            t.effective.isoformat(),
            known,
            t.jurisdiction,
            measure,
            t.event_kind,
            t.summary,
            "\n".join(t.sources),
        )
    console.print(table)


# -- check ---------------------------------------------------------------------------------


@app.command()
@checked
def check(
    on: Annotated[str, typer.Option("--date", help="Shipment date (YYYY-MM-DD).")],
    origin: Annotated[str, typer.Option(help="Country shipped from (ISO alpha-2).")],
    destination: Annotated[str, typer.Option(help="Country shipped to (ISO alpha-2).")],
    hs: Annotated[str | None, typer.Option(help="The item's HS code (6 digits).")] = None,
    element: Annotated[
        list[str] | None,
        typer.Option(
            help="A contained element, optionally with its mass share: Dy or Dy=0.05 or Dy=5%. "
            "Repeatable.",
            show_default=False,
        ),
    ] = None,
    element_origin: Annotated[
        list[str] | None,
        typer.Option(
            help="Where the element content was produced (repeatable).", show_default=False
        ),
    ] = None,
    maker: Annotated[str | None, typer.Option(help="The item's maker (company name).")] = None,
    made_in: Annotated[str | None, typer.Option(help="Country where the maker made it.")] = None,
    part: Annotated[str | None, typer.Option(help="Manufacturer part number.")] = None,
    sector: Annotated[
        str | None, typer.Option(help="End-use sector, for carve-outs (e.g. automotive).")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option(help="Only use what was known on this date (YYYY-MM-DD).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    registry: RegistryOpt = None,
) -> None:
    """Which measures apply to one shipment on one date, and what each does to it."""
    day = parse_date(on, "date")
    known = parse_date(as_of, "as-of")
    assert day is not None  # --date is required
    item = Item(
        hs_code=_item_hs(hs),
        part_number=part,
        maker=maker,
        made_in=_country(made_in, "--made-in"),
        elements=parse_elements(element or []),
        element_origins=frozenset(
            c for c in (_country(v, "--element-origin") for v in element_origin or []) if c
        ),
    )
    orig = _country(origin, "--origin")
    dest = _country(destination, "--destination")
    reg = load_registry_arg(registry)
    answer = service.check_shipment(
        reg, on=day, item=item, origin=orig, destination=dest, sector=sector, as_of=known
    )
    found, pending = answer.effects, answer.not_in_force
    if as_json:
        emit_json(
            {
                "query": {
                    "date": day,
                    "as_of": known,
                    "origin": orig,
                    "destination": dest,
                    "sector": sector,
                    "item": {**asdict(item), "elements": dict(item.elements)},
                },
                "effects": [_effect_json(reg, e) for e in found],
                "not_in_force": pending,
            }
        )
        return
    _print_check(reg, day, orig, dest, found, pending)


def _effect_json(reg: Registry, e: Effect) -> dict[str, Any]:
    out = asdict(e)
    out["description"] = e.describe()
    out["gta_type"] = reg.measure(e.measure_id).gta_type
    out["sources"] = [_source_json(reg, s) for s in e.sources]
    return out


def _source_json(reg: Registry, source_id: str) -> dict[str, Any]:
    try:
        s = reg.source(source_id)
    except KeyError:
        return {"id": source_id}
    return s.model_dump(mode="json")


def _print_check(
    reg: Registry,
    day: date,
    origin: str | None,
    dest: str | None,
    found: list[Effect],
    pending: list[NotInForce],
) -> None:
    head = f"{origin} → {dest} on {day.isoformat()}"
    if not found:
        console.print(f"{head}: [green]no measure applies[/].")
    else:
        table = Table(title=head, show_lines=True)
        table.add_column("measure", overflow="fold", ratio=2)
        table.add_column("jur.", no_wrap=True)
        for col in ("effect", "reached by", "sources"):
            table.add_column(col, overflow="fold", ratio=1)
        for e in found:
            style = {"ban": "bold red", "licence": "yellow", "exempt": "green"}.get(e.effect, "")
            effect = f"[{style}]{e.describe()}[/]" if style else e.describe()
            table.add_row(
                f"{e.measure_id}\n{e.title}",
                e.jurisdiction,
                effect,
                "\n".join(e.reached_by),
                "\n".join(_source_line(reg, s) for s in e.sources),
            )
        console.print(table)
    for e in found:
        if e.uncertainty:
            console.print(f"  [yellow]unconfirmed[/] {e.measure_id}: {e.uncertainty}")
    for p in pending:
        until = f" until {p.suspended_until}" if p.suspended_until else ""
        doubt = ", scheduled, unconfirmed" if p.certainty == "scheduled_unconfirmed" else ""
        console.print(f"  also on record, not applying: {p.measure_id} ({p.status}{until}{doubt})")
        if p.uncertainty:
            console.print(f"    {p.uncertainty}")
    warned = {e.measure_id: e.staleness_warning for e in found if e.staleness_warning}
    warned.update({p.measure_id: p.staleness_warning for p in pending if p.staleness_warning})
    for mid, warning in warned.items():
        console.print(f"  [yellow]stale[/] {mid}: {warning}")


def _source_line(reg: Registry, source_id: str) -> str:
    try:
        s = reg.source(source_id)
    except KeyError:
        return source_id
    return f"{s.publisher}, {s.published.isoformat()}" + (" (official)" if s.official else "")
