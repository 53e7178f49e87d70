"""Loading a supply network from YAML/JSON, with CSV files for the big tables."""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import Any

from pydantic import BaseModel, ValidationError

from supplyshock.domain import network as n
from supplyshock.domain.problems import Problem, ProblemReport
from supplyshock.formats.document import (
    LineMap,
    check_top_level,
    finish,
    parse_document,
    pydantic_problems,
    read_csv,
    read_text,
    validate_sections,
)

SECTIONS: dict[str, type[BaseModel]] = {
    "companies": n.Company,
    "sites": n.Site,
    "parts": n.Part,
    "bom": n.BomLine,
    "lanes": n.Lane,
    "inventory": n.Inventory,
    "demand": n.Demand,
    "alternates": n.Alternate,
    "production": n.Production,
    "capacity_groups": n.CapacityGroup,
}
# Tables that may come from CSV files (any section may, these are the usual ones).
CSV_TABLES = tuple(SECTIONS)
TOP_LEVEL = ("meta", "tables", *SECTIONS)


def load_network(path: str | FsPath) -> n.Network:
    """Read and validate a network file; raise ProblemReport listing every problem found."""
    path = FsPath(path)
    data, lines = parse_document(read_text(path), str(path))
    return network_from_data(data, lines, base_dir=path.parent)


def network_from_data(
    data: Any, lines: LineMap | None = None, base_dir: FsPath | None = None
) -> n.Network:
    lines = lines or LineMap(default_file="<input>")
    problems: list[Problem] = []
    doc = dict(check_top_level(data, TOP_LEVEL, problems))
    tables = doc.pop("tables", None) or {}
    if not isinstance(tables, dict):
        problems.append(Problem("expected a mapping of section -> CSV file", ("tables",)))
        tables = {}
    for section, rel in tables.items():
        if section not in SECTIONS:
            problems.append(Problem(f"unknown table {section!r}", ("tables", section)))
            continue
        csv_path = (base_dir or FsPath(".")) / str(rel)
        existing = doc.get(section) or []
        if not isinstance(existing, list):
            continue
        try:
            rows, csv_problems = read_csv(csv_path, section, len(existing), lines)
        except ProblemReport as rep:
            problems.extend(rep.problems)
            continue
        problems.extend(csv_problems)
        doc[section] = existing + rows

    meta: n.NetworkMeta | None = None
    try:
        meta = n.NetworkMeta.model_validate(doc.get("meta") or {"name": "unnamed"})
    except ValidationError as e:
        problems.extend(pydantic_problems(e, ("meta",)))
    secs = validate_sections(doc, SECTIONS, problems)
    if meta is not None:
        valid: dict[str, Any] = dict(secs.rows)
        net = n.Network.model_construct(meta=meta, **valid)
        failed_ids = {
            i
            for s, ids in secs.raw_ids.items()
            for i in ids - {getattr(r, "id", None) for r in secs.rows[s]}
        }
        for p in net.problems():
            if p.code == "duplicate" or (p.code == "ref" and _ref_value(net, p) in failed_ids):
                continue  # the row it points to was already reported as invalid
            problems.append(Problem(p.message, secs.original_path(p.path), code=p.code))
    finish(problems, lines)
    assert meta is not None
    return n.Network.model_validate({"meta": meta, **secs.rows})


def _ref_value(net: n.Network, p: Problem) -> Any:
    section, idx, attr = p.path[0], p.path[1], p.path[2]
    row = getattr(net, str(section))[int(idx)]
    return getattr(row, str(attr), None)
