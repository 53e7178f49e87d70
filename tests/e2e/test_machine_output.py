"""Every ``--json`` / ``--csv`` output is exactly the document: parsed from a real process.

The commands run as subprocesses, because a native library writing to file descriptor 1 (HiGHS
prints a banner when an instance is made) is invisible to an in-process runner.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

COMMANDS: list[list[str]] = [
    ["timeline", "--json"],
    ["timeline", "--csv"],
    ["check", "--date", "2025-11-10", "--origin", "CN", "--destination", "DE", "--element", "Dy",
     "--json"],
    ["exposure", "--scenario", "auto-2025", "--date", "2025-11-10", "--json"],
    ["exposure", "--scenario", "auto-2025", "--date", "2025-11-10", "--csv"],
    ["survival", "--scenario", "auto-2025", "--level", "site", "--json"],
    ["survival", "--scenario", "auto-2025", "--level", "site", "--csv"],
    ["simulate", "--scenario", "auto-2025", "--runs", "20", "--json"],
    ["simulate", "--scenario", "auto-2025", "--runs", "20", "--csv"],
    ["schema", "network"],
    ["members", "list", "--json"],
    ["crises", "list", "--json"],
]  # fmt: skip


def _run(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SUPPLYSHOCK_DATABASE_URL": f"sqlite:///{tmp_path / 'out.db'}"}
    code = "from supplyshock.cli import app; app()"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:1] + a[-1:]))
def test_machine_output_is_only_the_document(args: list[str], tmp_path: Path) -> None:
    if args[0] in {"members", "crises"}:
        assert _run(["db", "upgrade"], tmp_path).returncode == 0
    done = _run(args, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    if "--csv" in args:
        rows = list(csv.reader(io.StringIO(out)))
        assert len(rows) >= 2, out[:500]  # a header and at least one row
        assert all(len(r) == len(rows[0]) for r in rows), "ragged CSV: something else was printed"
    else:
        document = json.loads(out)  # raises if anything but the document is on stdout
        assert isinstance(document, dict | list)
