"""Reading YAML/JSON/CSV into plain data while remembering where every value came from.

Validation errors are reported as :class:`Problem` values with file, line and field path; this
module never lets a parser exception escape as a traceback.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from supplyshock.domain.problems import Path, Problem, ProblemReport

Where = tuple[str, int | None]  # (file, line)


@dataclass
class LineMap:
    """Field path -> (file, line) for every node of a document."""

    entries: dict[Path, Where] = field(default_factory=dict)
    default_file: str = ""

    def locate(self, path: Path) -> Where:
        """The location of ``path``, or of its nearest ancestor that has one."""
        p = tuple(path)
        while True:
            if p in self.entries:
                return self.entries[p]
            if not p:
                return (self.default_file, None)
            p = p[:-1]

    def place(self, problem: Problem) -> Problem:
        if problem.file is not None:
            return problem
        f, line = self.locate(problem.path)
        return Problem(problem.message, problem.path, f, line, problem.code)


def read_text(path: FsPath) -> str:
    """File contents as text, or a ProblemReport if missing, unreadable or binary."""
    name = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ProblemReport([Problem("file not found", file=name, code="io")]) from None
    except OSError as e:
        raise ProblemReport(
            [Problem(f"cannot read file: {e.strerror}", file=name, code="io")]
        ) from None
    if b"\x00" in raw[:8192]:
        raise ProblemReport(
            [
                Problem(
                    "binary file: expected UTF-8 text (YAML, JSON or CSV)", file=name, code="binary"
                )
            ]
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise ProblemReport(
            [Problem(f"not UTF-8 text (byte {e.start})", file=name, line=line, code="encoding")]
        ) from None


def parse_document(text: str, name: str) -> tuple[Any, LineMap]:
    """Parse YAML (JSON is a subset) into Python data and a LineMap. Duplicate keys are errors."""
    lines = LineMap(default_file=name)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        msg = f"syntax error: {e.problem or e.context or 'cannot parse'}"
        raise ProblemReport(
            [Problem(msg, file=name, line=(mark.line + 1) if mark else None, code="syntax")]
        ) from None
    except yaml.YAMLError as e:
        raise ProblemReport([Problem(f"syntax error: {e}", file=name, code="syntax")]) from None
    if node is None:
        return None, lines
    problems: list[Problem] = []
    constructor = yaml.SafeLoader("")

    def build(n: yaml.Node, path: Path) -> Any:
        lines.entries[path] = (name, n.start_mark.line + 1)
        if isinstance(n, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for k, v in n.value:
                key = constructor.construct_object(k, deep=True)
                if isinstance(key, (int, float)):
                    key = str(key)
                if not isinstance(key, str):
                    problems.append(
                        Problem("mapping keys must be strings", path, name, k.start_mark.line + 1)
                    )
                    continue
                if key in out:
                    problems.append(
                        Problem(
                            f"duplicate key {key!r}",
                            (*path, key),
                            name,
                            k.start_mark.line + 1,
                            "duplicate",
                        )
                    )
                out[key] = build(v, (*path, key))
            return out
        if isinstance(n, yaml.SequenceNode):
            return [build(v, (*path, i)) for i, v in enumerate(n.value)]
        try:
            return constructor.construct_object(n, deep=True)
        except yaml.YAMLError as e:
            problems.append(Problem(f"bad value: {e}", path, name, n.start_mark.line + 1))
            return None

    data = build(node, ())
    if problems:
        raise ProblemReport(problems)
    return data, lines


def read_csv(
    path: FsPath, section: str, first_index: int, lines: LineMap
) -> tuple[list[dict[str, Any]], list[Problem]]:
    """Rows of a CSV table as dicts (empty cells left out), recording each row's line.

    Rows are numbered on from ``first_index`` so they continue the section they extend.
    """
    name = str(path)
    text = read_text(path)
    reader = csv.reader(io.StringIO(text))
    problems: list[Problem] = []
    try:
        header = next(reader)
    except StopIteration:
        return [], [Problem("empty CSV file: expected a header row", file=name, line=1)]
    except csv.Error as e:
        return [], [Problem(f"CSV syntax error: {e}", file=name, line=1)]
    header = [h.strip() for h in header]
    if len(set(header)) != len(header):
        problems.append(Problem("duplicate column names in header", file=name, line=1))
    rows: list[dict[str, Any]] = []
    try:
        for rec in reader:
            line = reader.line_num
            if not any(c.strip() for c in rec):
                continue
            if len(rec) != len(header):
                problems.append(
                    Problem(f"expected {len(header)} cells, found {len(rec)}", file=name, line=line)
                )
                continue
            idx = first_index + len(rows)
            lines.entries[(section, idx)] = (name, line)
            for col in header:
                lines.entries[(section, idx, col)] = (name, line)
            rows.append({h: c.strip() for h, c in zip(header, rec, strict=True) if c.strip() != ""})
    except csv.Error as e:
        problems.append(Problem(f"CSV syntax error: {e}", file=name, line=reader.line_num))
    return rows, problems


def pydantic_problems(err: ValidationError, base: Path) -> list[Problem]:
    out = []
    for e in err.errors(include_url=False):
        loc = tuple(x for x in e["loc"] if not (isinstance(x, str) and x.startswith("function-")))
        msg = e["msg"].removeprefix("Value error, ")
        inp = e.get("input")
        if e["type"] in {"float_parsing", "int_parsing", "float_type", "int_type"}:
            msg = f"{msg} (got {inp!r})"
        out.append(Problem(msg, (*base, *loc), code="invalid"))
    return out


@dataclass
class Sections:
    """Each section's validated rows and, for each, its index in the input."""

    rows: dict[str, list[BaseModel]] = field(default_factory=dict)
    origin: dict[str, list[int]] = field(default_factory=dict)
    raw_ids: dict[str, set[str]] = field(default_factory=dict)

    def original_path(self, path: Path) -> Path:
        """Map a path into the validated lists back to the input's numbering."""
        if len(path) >= 2 and isinstance(path[0], str) and isinstance(path[1], int):
            idx = self.origin.get(path[0])
            if idx is not None and path[1] < len(idx):
                return (path[0], idx[path[1]], *path[2:])
        return path


def validate_sections(
    data: dict[str, Any],
    spec: dict[str, type[BaseModel]],
    problems: list[Problem],
) -> Sections:
    """Validate each row of each list section on its own, so one bad row hides no other."""
    out = Sections()
    for section, model in spec.items():
        raw = data.get(section, [])
        if raw is None:
            raw = []
        if not isinstance(raw, list):
            problems.append(Problem(f"expected a list, got {type(raw).__name__}", (section,)))
            continue
        good: list[BaseModel] = []
        origin: list[int] = []
        ids: set[str] = set()
        for i, row in enumerate(raw):
            if isinstance(row, dict) and isinstance(row.get("id"), str):
                if row["id"] in ids:
                    problems.append(
                        Problem(
                            f"duplicate id {row['id']!r} in {section}",
                            (section, i, "id"),
                            code="duplicate",
                        )
                    )
                ids.add(row["id"])
            try:
                good.append(model.model_validate(row))
                origin.append(i)
            except ValidationError as e:
                problems.extend(pydantic_problems(e, (section, i)))
        out.rows[section] = good
        out.origin[section] = origin
        out.raw_ids[section] = ids
    return out


def check_top_level(data: Any, allowed: Sequence[str], problems: list[Problem]) -> dict[str, Any]:
    if not isinstance(data, dict):
        problems.append(Problem("expected a mapping at the top of the document", ()))
        return {}
    for key in data:
        if key not in allowed:
            problems.append(
                Problem(f"unknown section {key!r} (expected one of: {', '.join(allowed)})", (key,))
            )
    return data


def finish(
    problems: list[Problem], lines: LineMap, remap: Callable[[Path], Path] = lambda p: p
) -> None:
    """Locate every problem and raise them together, if any."""
    if problems:
        placed = [
            lines.place(Problem(p.message, remap(p.path), p.file, p.line, p.code)) for p in problems
        ]
        raise ProblemReport(sorted(placed, key=lambda p: (p.file or "", p.line or 0, p.message)))
