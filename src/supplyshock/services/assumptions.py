"""Reading Monte Carlo assumptions: files and a scenario's built-in sets.

The model and its checks (:class:`~supplyshock.analysis.montecarlo.assumptions.Assumptions`)
stay in analysis, which imports nothing of ours but domain; reading files and the built-in
data is I/O, so it lives here, above analysis, formats and data. Every problem is reported
with file, line and field path (:mod:`supplyshock.formats.document`).
"""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import Any

from pydantic import ValidationError

from supplyshock.analysis.montecarlo.assumptions import Assumptions
from supplyshock.data import scenario_dir
from supplyshock.domain.controls import Registry
from supplyshock.domain.network import Network
from supplyshock.formats.document import (
    LineMap,
    finish,
    parse_document,
    pydantic_problems,
    read_text,
)


def assumptions_from_data(data: Any, lines: LineMap | None = None) -> Assumptions:
    """Validate parsed data; raise ProblemReport with every problem located."""
    lines = lines or LineMap(default_file="<input>")
    try:
        return Assumptions.model_validate(data)
    except ValidationError as e:
        finish(pydantic_problems(e, ()), lines)
    raise AssertionError("unreachable")  # pragma: no cover


def load_assumptions(
    path: str | FsPath,
    *,
    network: Network | None = None,
    registry: Registry | None = None,
) -> Assumptions:
    """Read an assumptions file; with a network and registry, also check its references."""
    fp = FsPath(path)
    data, lines = parse_document(read_text(fp), str(fp))
    a = assumptions_from_data(data, lines)
    if network is not None and registry is not None:
        finish(a.problems(network, registry), lines)
    return a


def builtin_dir(scenario: str) -> FsPath:
    """The folder of a built-in scenario's assumption files."""
    return scenario_dir(scenario) / "montecarlo"


def builtin_names(scenario: str) -> list[str]:
    d = builtin_dir(scenario)
    return sorted(p.stem for p in d.glob("*.yaml")) if d.is_dir() else []


def load_assumptions_arg(
    value: str, scenario: str, network: Network, registry: Registry
) -> Assumptions:
    """A built-in assumption set of ``scenario`` by name, or a file path."""
    fp = FsPath(value)
    if fp.suffix in (".yaml", ".yml", ".json") or fp.exists():
        return load_assumptions(fp, network=network, registry=registry)
    names = builtin_names(scenario)
    if value not in names:
        known = ", ".join(names) or "none"
        raise KeyError(
            f"unknown assumptions {value!r} for scenario {scenario!r} (built-in: {known})"
        )
    return load_assumptions(
        builtin_dir(scenario) / f"{value}.yaml", network=network, registry=registry
    )
