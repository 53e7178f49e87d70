#!/usr/bin/env python3
"""The project's two commands, standard library only, so a bare Python 3.11 can run them.

    python3 tasks.py run    # set up .venv, then start supplyshock on its embedded default
    python3 tasks.py test   # set up .venv with test extras, then lint, type-check and test

CI runs ``python3 tasks.py test`` (see .ci/run): exactly what a developer runs.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"

RUN_EXTRAS = "web"
TEST_EXTRAS = "web,postgres,distributed,sim,dev"


def sh(*cmd: str | Path, check: bool = True) -> int:
    print("+ " + " ".join(str(c) for c in cmd), flush=True)
    return subprocess.run([str(c) for c in cmd], cwd=ROOT, check=check).returncode


def ensure_venv(extras: str) -> None:
    """Create .venv and install the package with ``extras``; skip when nothing changed."""
    if sys.version_info < (3, 11):  # noqa: UP036 - tasks.py may be started by an older Python
        sys.exit(f"supplyshock needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not PY.exists():
        print(f"creating virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    stamp = VENV / f".installed-{extras.replace(',', '-')}"
    if stamp.exists() and stamp.read_text() == digest:
        return
    sh(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    sh(PY, "-m", "pip", "install", "--quiet", "-e", f".[{extras}]")
    stamp.write_text(digest)


def run(args: list[str]) -> int:
    ensure_venv(RUN_EXTRAS)
    return sh(BIN / "supplyshock", "run", *args, check=False)


def ensure_browser() -> None:
    """Browser tests drive Debian's Chromium (Playwright's own download is not used).

    Installed here when missing and we may (root with apt-get); otherwise the browser tests
    skip with a loud reason.
    """
    if shutil.which("chromium") or Path("/usr/bin/chromium").exists():
        return
    if os.name != "posix" or os.geteuid() != 0 or not shutil.which("apt-get"):
        print("WARNING: /usr/bin/chromium missing and cannot be installed: browser tests skip")
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        print("+ " + " ".join(cmd), flush=True)
        if subprocess.run(cmd, env=env, check=False).returncode != 0:
            print("WARNING: installing chromium failed: browser tests skip", flush=True)
            return


def test(args: list[str]) -> int:
    ensure_venv(TEST_EXTRAS)
    ensure_browser()
    code = [p for p in ("src", "tests", "bench", "tasks.py") if (ROOT / p).exists()]
    steps: list[list[str | Path]] = [
        [BIN / "ruff", "check", *code],
        [BIN / "ruff", "format", "--check", *code],
        [BIN / "mypy"],
        [PY, "-m", "pytest", *(args or ["-q"])],
    ]
    for step in steps:
        rc = sh(*step, check=False)
        if rc != 0:
            print(f"FAILED: {' '.join(str(s) for s in step)} (exit {rc})", flush=True)
            return rc
    return 0


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in {"run", "test"}:
        print(__doc__)
        return 2
    cmd, rest = sys.argv[1], sys.argv[2:]
    return run(rest) if cmd == "run" else test(rest)


if __name__ == "__main__":
    raise SystemExit(main())
