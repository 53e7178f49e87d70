"""Loading a supply network from YAML/JSON, with CSV files for the big tables."""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from itertools import chain
from pathlib import Path as FsPath
from typing import Any

from pydantic import BaseModel, ValidationError

from supplyshock.domain import network as n
from supplyshock.domain.problems import Path, Problem, ProblemReport
from supplyshock.formats.document import (
    LineMap,
    check_top_level,
    decode,
    finish,
    iter_csv,
    parse_document,
    pydantic_problems,
    validate_sections,
)
from supplyshock.formats.limits import (
    DEFAULT_LIMITS,
    LoadLimits,
    check_relative,
    read_capped,
    table_path,
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


def load_network(path: str | FsPath, limits: LoadLimits = DEFAULT_LIMITS) -> n.Network:
    """Read and validate a network file; raise ProblemReport listing every problem found.

    Tables named under ``tables`` are read from regular files in the file's own directory.
    This is the one loader behind the CLI, the API and the web (uploads use
    :func:`load_network_bytes`, which takes the same path).
    """
    path = FsPath(path)
    raw = read_capped(path, limits.max_bytes)
    return _load(raw, str(path), _DirTables(path.parent, limits), limits)


def load_network_bytes(
    raw: bytes,
    name: str = "network.yaml",
    tables: Mapping[str, bytes] | None = None,
    limits: LoadLimits = DEFAULT_LIMITS,
) -> n.Network:
    """Validate a network given as bytes (an upload), with its CSV tables by file name.

    ``tables`` maps the names a ``tables`` entry may use (the files of a zip, say) to their
    bytes; any other name is refused, as are ``..`` and absolute names. A name ending in
    ``.json`` is parsed as JSON, any other as YAML.
    """
    if len(raw) > limits.max_bytes:
        raise ProblemReport([limits.too_big(name, len(raw))])
    return _load(raw, name, _MemTables(dict(tables or {}), limits), limits)


def _load(raw: bytes, name: str, source: _Tables, limits: LoadLimits) -> n.Network:
    text = decode(raw, name)
    del raw
    with _no_gc():
        data, lines = parse_document(text, name, limits, eager=False)
        return network_from_data(
            data, lines, limits=limits, source=source, size=len(text), consume=True
        )


@contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cycle collector while a network is built.

    Loading makes millions of objects (dicts, records), none in a cycle, and every 700 of them
    start a collection that walks the survivors again: on a 50 MB network that was half the
    time. Nothing is leaked: the collector runs again afterwards.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _Tables:
    """Where ``tables`` entries are read from; counts bytes against the network's budget."""

    def __init__(self, limits: LoadLimits) -> None:
        self.limits = limits
        self.used = 0

    def read(self, rel: object, field: Path) -> tuple[bytes, str]:
        raise NotImplementedError

    def charge(self, raw: bytes, shown: str, field: Path) -> None:
        self.used += len(raw)
        if self.used > self.limits.max_bytes:
            p = self.limits.too_big(shown, len(raw), field)
            msg = p.message.replace(
                " is ", f" brings the network's files to {self.used:,} bytes (this table: ", 1
            ).replace(" bytes;", ");", 1)
            raise ProblemReport([Problem(msg, field, shown, code="limit")])


class _DirTables(_Tables):
    def __init__(self, base: FsPath, limits: LoadLimits) -> None:
        super().__init__(limits)
        self.base = base

    def read(self, rel: object, field: Path) -> tuple[bytes, str]:
        target = table_path(self.base, rel, field)
        shown = str(self.base / str(rel))
        raw = read_capped(target, self.limits.max_bytes, field, shown)
        self.charge(raw, shown, field)
        return raw, shown


class _MemTables(_Tables):
    def __init__(self, files: dict[str, bytes], limits: LoadLimits) -> None:
        super().__init__(limits)
        self.files = files

    def read(self, rel: object, field: Path) -> tuple[bytes, str]:
        check_relative(rel, field)
        key = str(rel).replace("\\", "/").removeprefix("./")
        if key not in self.files:
            raise ProblemReport(
                [Problem(f"{str(rel)!r}: no such file in the upload", field, code="path")]
            )
        raw = self.files[key]
        if len(raw) > self.limits.max_bytes:
            raise ProblemReport([self.limits.too_big(key, len(raw), field)])
        self.charge(raw, key, field)
        return raw, key


def network_from_data(
    data: Any,
    lines: LineMap | None = None,
    base_dir: FsPath | None = None,
    *,
    limits: LoadLimits = DEFAULT_LIMITS,
    source: _Tables | None = None,
    size: int = 0,
    consume: bool = False,
) -> n.Network:
    """Validate parsed data into a network; ``tables`` are read from ``source`` (or base_dir)."""
    lines = lines or LineMap(default_file="<input>")
    if source is None:
        source = _DirTables(base_dir or FsPath("."), limits)
    source.used = size
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
        existing = doc.get(section) or []
        if not isinstance(existing, list):
            continue
        try:
            raw, shown = source.read(rel, ("tables", section))
        except ProblemReport as rep:
            problems.extend(rep.problems)
            continue
        rows = iter_csv(
            raw,
            shown,
            section,
            len(existing),
            lines,
            limits.max_rows,
            problems,
            ("tables", section),
        )
        del raw
        doc[section] = chain(existing, rows)  # read while validated, never held as a list

    meta: n.NetworkMeta | None = None
    try:
        meta = n.NetworkMeta.model_validate(doc.get("meta") or {"name": "unnamed"})
    except ValidationError as e:
        problems.extend(pydantic_problems(e, ("meta",)))
    secs = validate_sections(doc, SECTIONS, problems, consume=consume)
    net: n.Network | None = None
    if meta is not None:
        valid: dict[str, Any] = dict(secs.rows)
        net = n.Network.model_construct(meta=meta, **valid)
        failed_ids = {
            i
            for s, ids in secs.raw_ids.items()
            if ids
            for i in ids - {getattr(r, "id", None) for r in secs.rows[s]}
        }
        for p in net.problems():
            if p.code == "duplicate" or (p.code == "ref" and _ref_value(net, p) in failed_ids):
                continue  # the row it points to was already reported as invalid
            problems.append(Problem(p.message, secs.original_path(p.path), code=p.code))
    finish(problems, lines)
    assert net is not None
    # Every row is a validated record and the whole has no problem: the network built above
    # is the result (validating it again would only copy), and it keeps its cached index.
    return net


def _ref_value(net: n.Network, p: Problem) -> Any:
    section, idx, attr = p.path[0], p.path[1], p.path[2]
    row = getattr(net, str(section))[int(idx)]
    return getattr(row, str(attr), None)
