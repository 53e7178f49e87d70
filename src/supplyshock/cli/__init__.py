"""The ``supplyshock`` command line: thin commands over the same functions the API uses.

Each sub-module registers its commands on :data:`app`; this module imports them all.
"""

from __future__ import annotations

# Command modules register themselves on import; order sets the order in --help.
from supplyshock.cli import exchange as _exchange  # noqa: E402,F401  (db, members, tokens, audit)
from supplyshock.cli import exposure as _exposure  # noqa: E402,F401  (exposure)
from supplyshock.cli import jobs as _jobs  # noqa: E402,F401  (jobs show/work)
from supplyshock.cli import network as _network  # noqa: E402,F401  (schema, validate)
from supplyshock.cli import registry as _registry  # noqa: E402,F401  (timeline, check)
from supplyshock.cli import registry_db as _registry_db  # noqa: E402,F401  (registry ...)
from supplyshock.cli import run as _run  # noqa: E402,F401  (run)
from supplyshock.cli import serve as _serve  # noqa: E402,F401  (serve)
from supplyshock.cli import simulate as _simulate  # noqa: E402,F401  (simulate)
from supplyshock.cli import survival as _survival  # noqa: E402,F401  (survival)
from supplyshock.cli._common import app

__all__ = ["app"]
