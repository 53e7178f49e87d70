"""Resolving what a request names: built-in scenarios for every caller, files for the CLI only.

Over HTTP a name is checked against the built-in list and never resolved as a path, so that
"../x" cannot reach the server's file system.
"""

from __future__ import annotations

from supplyshock.domain.network import Network
from supplyshock.formats.limits import LoadLimits
from supplyshock.services.errors import InvalidRequest


def load_limits() -> LoadLimits:
    """The network loader's bounds from the settings (``SUPPLYSHOCK_NETWORK_MAX_*``)."""
    from supplyshock.settings import get_settings

    s = get_settings()
    return LoadLimits(
        max_bytes=s.network_max_bytes, max_rows=s.network_max_rows, max_depth=s.network_max_depth
    )


def network(scenario: str, *, allow_files: bool = False) -> Network:
    """The network of a built-in scenario (or, with ``allow_files``, of a network file)."""
    from supplyshock.data import builtin_network, load_network_arg, scenario_names

    if allow_files:
        try:
            return load_network_arg(scenario, load_limits())
        except KeyError as e:
            raise InvalidRequest("scenario", str(e.args[0])) from None
    if scenario not in scenario_names():
        known = ", ".join(scenario_names())
        raise InvalidRequest("scenario", f"unknown scenario {scenario!r} (built-in: {known})")
    return builtin_network(scenario)


def checked_network(scenario: str, *, allow_files: bool = False) -> Network:
    """:func:`network`, refusing a network with problems (all reported at once)."""
    from supplyshock.domain.problems import ProblemReport

    net = network(scenario, allow_files=allow_files)
    problems = net.problems()
    if problems:
        raise ProblemReport(problems)
    return net
