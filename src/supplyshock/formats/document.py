"""Reading YAML/JSON/CSV into plain data while remembering where every value came from.

Validation errors are reported as :class:`Problem` values with file, line and field path; this
module never lets a parser exception escape as a traceback.
"""

from __future__ import annotations

import csv
import io
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

from pydantic import BaseModel, ValidationError

from supplyshock.domain.problems import Path, Problem, ProblemReport
from supplyshock.formats import tree
from supplyshock.formats.limits import DEFAULT_LIMITS, LoadLimits, read_capped

Where = tuple[str, int | None]  # (file, line)


@dataclass
class LineMap:
    """Field path -> (file, line) for every node of a document.

    Three sources, cheapest first: ``entries`` (paths recorded eagerly), ``rows`` (one line per
    row of a CSV table, kept as an array of ints) and ``lazy`` locators that parse a document
    again to find the paths asked for; :meth:`resolve` runs them, only when there are problems.
    """

    entries: dict[Path, Where] = field(default_factory=dict)
    default_file: str = ""
    rows: dict[str, list[tuple[int, str, array[int]]]] = field(default_factory=dict)
    lazy: list[Callable[[set[Path]], dict[Path, Where]]] = field(default_factory=list)

    def resolve(self, paths: Iterable[Path]) -> None:
        """Run the lazy locators for ``paths`` and their ancestors."""
        if not self.lazy:
            return
        want: set[Path] = set()
        for p in paths:
            want.update(tuple(p[:i]) for i in range(len(p) + 1))
        want -= self.entries.keys()
        if want:
            for find in self.lazy:
                for p, w in find(want).items():
                    self.entries.setdefault(p, w)

    def locate(self, path: Path) -> Where:
        """The location of ``path``, or of its nearest ancestor that has one."""
        p = tuple(path)
        if len(p) >= 2 and isinstance(p[0], str) and isinstance(p[1], int) and p[0] in self.rows:
            for first, file, lines in self.rows[p[0]]:
                if first <= p[1] < first + len(lines):
                    return (file, lines[p[1] - first])
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


def read_text(
    path: FsPath, limits: LoadLimits = DEFAULT_LIMITS, field: Path = (), shown: str | None = None
) -> str:
    """File contents as text, or a ProblemReport if missing, unreadable, too big or binary."""
    return decode(read_capped(path, limits.max_bytes, field, shown), shown or str(path))


def decode(raw: bytes, name: str) -> str:
    """UTF-8 text (a BOM is dropped), refusing binary data with a located problem."""
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


def parse_document(
    text: str, name: str, limits: LoadLimits = DEFAULT_LIMITS, *, eager: bool = True
) -> tuple[Any, LineMap]:
    """Parse YAML or JSON into Python data and a LineMap. Duplicate keys are errors.

    Anchors and aliases, tags that would build objects, nesting beyond ``limits.max_depth`` and
    lists beyond ``limits.max_rows`` are refused (see :mod:`supplyshock.formats.tree`).
    ``eager`` records every node's line now (small files whose callers read ``entries``);
    otherwise lines are found again only for the paths of problems.
    """
    lines = LineMap(default_file=name)
    if eager:
        data = tree.build_yaml(text, name, limits, None, lines.entries)
        return data, lines
    if name.lower().endswith(".json"):
        data = tree.build_json(text, name, limits)
    else:
        data = tree.build_yaml(text, name, limits)
    lines.lazy.append(tree.locator(text, name, limits))
    return data, lines


_REFS = {"supplier", "customer", "part", "site", "parent", "child", "company", "alternate"}


def read_csv(
    raw: bytes,
    name: str,
    section: str,
    first_index: int,
    lines: LineMap,
    max_rows: int,
    field_path: Path = (),
) -> tuple[list[dict[str, Any]], list[Problem]]:
    """:func:`iter_csv` as a list, with its problems."""
    problems: list[Problem] = []
    rows = list(iter_csv(raw, name, section, first_index, lines, max_rows, problems, field_path))
    return rows, problems


def iter_csv(
    raw: bytes,
    name: str,
    section: str,
    first_index: int,
    lines: LineMap,
    max_rows: int,
    problems: list[Problem],
    field_path: Path = (),
) -> Iterator[dict[str, Any]]:
    """Rows of a CSV table as dicts (empty cells left out), recording each row's line.

    Rows are numbered on from ``first_index`` so they continue the section they extend; at most
    ``max_rows`` rows in all. A generator: each row is validated and dropped before the next is
    read, and the bytes are decoded as they are read, so no table is ever held as text or
    dicts. Problems are appended to ``problems``.
    """
    if b"\x00" in raw[:8192]:
        problems.append(Problem("binary file: expected UTF-8 CSV", field_path, name, code="binary"))
        return
    stream = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8-sig", newline="")
    reader = csv.reader(stream)
    row_lines: array[int] = array("L")
    lines.rows.setdefault(section, []).append((first_index, name, row_lines))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        problems.append(Problem("empty CSV file: expected a header row", file=name, line=1))
        return
    except csv.Error as e:
        problems.append(Problem(f"CSV syntax error: {e}", file=name, line=1))
        return
    except UnicodeDecodeError as e:
        problems.append(
            Problem(f"not UTF-8 text (byte {e.start})", file=name, line=1, code="encoding")
        )
        return
    if len(set(header)) != len(header):
        problems.append(Problem("duplicate column names in header", file=name, line=1))
    width = len(header)
    # References repeat across rows (a site on thousands of lanes): one string object each.
    refs = [j for j, h in enumerate(header) if h in _REFS]
    seen: dict[str, str] = {}
    intern = seen.setdefault
    index = first_index
    try:
        for rec in reader:
            if len(rec) != width:
                if any(c.strip() for c in rec):
                    problems.append(
                        Problem(
                            f"expected {width} cells, found {len(rec)}",
                            file=name,
                            line=reader.line_num,
                        )
                    )
                continue
            cells = list(map(str.strip, rec))
            for j in refs:
                cells[j] = intern(cells[j], cells[j])
            if "" in cells:
                row = {h: c for h, c in zip(header, cells, strict=True) if c}
                if not row:
                    continue
            else:
                row = dict(zip(header, cells, strict=True))
            if index >= max_rows:
                problems.append(
                    LoadLimits(max_rows=max_rows).too_many_rows(
                        section, field_path, name, reader.line_num
                    )
                )
                return
            row_lines.append(reader.line_num)
            index += 1
            yield row
    except csv.Error as e:
        problems.append(Problem(f"CSV syntax error: {e}", file=name, line=reader.line_num))
    except UnicodeDecodeError as e:
        problems.append(
            Problem(
                f"not UTF-8 text (byte {e.start})",
                file=name,
                line=reader.line_num + 1,
                code="encoding",
            )
        )


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
    origin: dict[str, array[int]] = field(default_factory=dict)  # ints, not int objects
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
    *,
    consume: bool = False,
) -> Sections:
    """Validate each row of each list section on its own, so one bad row hides no other.

    With ``consume``, each section's list of raw rows is emptied once validated (the loader
    owns them), so raw dicts and records are never all held at once.
    """
    out = Sections()
    for section, model in spec.items():
        raw = data.get(section, [])
        if raw is None:
            raw = []
        if not isinstance(raw, (list, Iterator)):  # an iterator: rows streamed from CSV
            problems.append(Problem(f"expected a list, got {type(raw).__name__}", (section,)))
            continue
        good: list[BaseModel] = []
        origin: array[int] = array("q")
        ids: set[str] = set()
        # The core validator directly: model_validate's wrapper costs a third of the time on
        # a million rows. Consecutive rows with the same fields share one fields-set (records
        # are frozen, and pydantic copies it before any update): ~700 bytes a row saved.
        validate = model.__pydantic_validator__.validate_python
        last: set[str] = set()
        has_id = "id" in model.model_fields
        for i, row in enumerate(raw):
            if has_id and type(row) is dict:
                rid = row.get("id")
                if type(rid) is str:
                    if rid in ids:
                        problems.append(
                            Problem(
                                f"duplicate id {rid!r} in {section}",
                                (section, i, "id"),
                                code="duplicate",
                            )
                        )
                    ids.add(rid)
            try:
                rec = validate(row)
            except ValidationError as e:
                problems.extend(pydantic_problems(e, (section, i)))
                continue
            fs = rec.__pydantic_fields_set__
            if fs == last:
                object.__setattr__(rec, "__pydantic_fields_set__", last)
            else:
                last = fs
            good.append(rec)
            origin.append(i)
        if consume and isinstance(raw, list):
            raw.clear()  # the caller's rows are no longer needed: free them section by section
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
        moved = [Problem(p.message, remap(p.path), p.file, p.line, p.code) for p in problems]
        lines.resolve(p.path for p in moved if p.file is None)
        placed = [lines.place(p) for p in moved]
        raise ProblemReport(sorted(placed, key=lambda p: (p.file or "", p.line or 0, p.message)))
