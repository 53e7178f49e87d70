"""Built-in datasets: the 2022-2025 measure registry and the synthetic auto-2025 scenario.

``synthetic`` makes layered networks of any size for the Monte Carlo benchmark and tests.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

from supplyshock.domain.controls import Registry
from supplyshock.domain.network import Network
from supplyshock.formats.limits import LoadLimits

_ROOT = Path(str(resources.files(__name__)))


def registry_files() -> list[Path]:
    return sorted((_ROOT / "registry").glob("*.yaml"))


@lru_cache(maxsize=1)
def builtin_registry() -> Registry:
    """The built-in measure registry (all files under data/registry/, validated)."""
    from supplyshock.formats.registry import load_registry

    return load_registry(*registry_files())


def scenario_names() -> list[str]:
    return sorted(p.name for p in (_ROOT / "scenarios").iterdir() if (p / "network.yaml").exists())


def scenario_dir(name: str) -> Path:
    path = _ROOT / "scenarios" / name
    if not (path / "network.yaml").exists():
        known = ", ".join(scenario_names()) or "none"
        raise KeyError(f"unknown scenario {name!r} (built-in: {known})")
    return path


@lru_cache(maxsize=8)
def builtin_network(name: str = "auto-2025") -> Network:
    from supplyshock.formats.network import load_network

    return load_network(scenario_dir(name) / "network.yaml")


def load_network_arg(value: str, limits: LoadLimits | None = None) -> Network:
    """A built-in scenario name or a path to a network file (read within ``limits``)."""
    if Path(value).exists():
        from supplyshock.formats.network import load_network

        return load_network(value, limits or LoadLimits())
    return builtin_network(value)


def load_registry_arg(paths: list[Path] | None = None) -> Registry:
    """Registry files given by the user, else the built-in registry."""
    if paths:
        from supplyshock.formats.registry import load_registry

        return load_registry(*paths)
    return builtin_registry()
