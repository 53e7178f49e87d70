"""Loading a measure registry from YAML/JSON."""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import Any

from pydantic import BaseModel

from supplyshock.domain import controls as c
from supplyshock.domain.problems import Problem
from supplyshock.formats.document import (
    LineMap,
    check_top_level,
    finish,
    parse_document,
    read_text,
    validate_sections,
)

SECTIONS: dict[str, type[BaseModel]] = {
    "sources": c.Source,
    "acts": c.PolicyAct,
    "measures": c.Measure,
    "observations": c.Observation,
}


REGISTRY_SUFFIXES = (".yaml", ".yml", ".json")


def registry_paths(*paths: str | FsPath) -> list[FsPath]:
    """Files to read: a directory stands for its registry files (not its subfolders), sorted.

    The built-in registry is split across files that cite each other's sources, so it only
    validates as a whole: ``supplyshock validate DIR --kind registry``.
    """
    out: list[FsPath] = []
    for p in map(FsPath, paths):
        if p.is_dir():
            out += sorted(f for f in p.iterdir() if f.is_file() and f.suffix in REGISTRY_SUFFIXES)
        else:
            out.append(p)
    return out


def load_registry(*paths: str | FsPath) -> c.Registry:
    """Read one or more registry files or directories (sections are joined) and validate them."""
    paths = tuple(registry_paths(*paths))
    merged: dict[str, list[Any]] = {k: [] for k in SECTIONS}
    lines = LineMap(default_file=str(paths[0]) if paths else "<input>")
    problems: list[Problem] = []
    for p in paths:
        fp = FsPath(p)
        data, lm = parse_document(read_text(fp), str(fp))
        doc = check_top_level(data, tuple(SECTIONS), problems)
        for key, rows in doc.items():
            if key in merged and isinstance(rows, list):
                offset = len(merged[key])
                for path, where in lm.entries.items():
                    if len(path) >= 2 and path[0] == key and isinstance(path[1], int):
                        lines.entries[(key, path[1] + offset, *path[2:])] = where
                merged[key].extend(rows)
            elif key in merged:
                problems.append(Problem("expected a list", (key,), str(fp), lm.locate((key,))[1]))
    return registry_from_data(merged, lines, problems)


def registry_from_data(
    data: Any, lines: LineMap | None = None, problems: list[Problem] | None = None
) -> c.Registry:
    lines = lines or LineMap(default_file="<input>")
    problems = problems if problems is not None else []
    doc = check_top_level(data, tuple(SECTIONS), problems)
    secs = validate_sections(doc, SECTIONS, problems)
    rows: dict[str, Any] = dict(secs.rows)
    reg = c.Registry.model_construct(**rows)
    problems.extend(
        Problem(p.message, secs.original_path(p.path), code=p.code)
        for p in reg.problems()
        if not (p.code == "duplicate" and p.path[-1] == "id" and len(p.path) == 3)
    )
    finish(problems, lines)
    return c.Registry.model_validate(secs.rows)
