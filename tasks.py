#!/usr/bin/env python3
"""The project's two commands, standard library only, so a bare Python 3.11 can run them.

    python3 tasks.py run    # set up .venv, then start supplyshock on its embedded default
    python3 tasks.py test   # set up .venv with test extras, then lint, type-check and test
    python3 tasks.py lock   # refresh requirements/*.txt (the pinned versions both install)

CI runs ``python3 tasks.py test`` (see .ci/run): exactly what a developer runs. Both commands
install the exact versions pinned in ``requirements/`` with plain pip, then the package itself
without dependencies, so every machine runs what was tested.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"

RUN_EXTRAS = "web"
TEST_EXTRAS = "web,postgres,distributed,sim,dev"
LOCKS = ROOT / "requirements"
RUN_LOCK = LOCKS / "run.txt"
TEST_LOCK = LOCKS / "test.txt"
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/postgres"


def sh(*cmd: str | Path, check: bool = True) -> int:
    print("+ " + " ".join(str(c) for c in cmd), flush=True)
    return subprocess.run([str(c) for c in cmd], cwd=ROOT, check=check).returncode


def ensure_venv(lock: Path) -> None:
    """Create .venv and install the pinned versions in ``lock``, then the package itself.

    Skipped when neither pyproject.toml nor the lock changed since the last install.
    """
    if sys.version_info < (3, 11):  # noqa: UP036 - tasks.py may be started by an older Python
        sys.exit(f"supplyshock needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not PY.exists():
        print(f"creating virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + lock.read_bytes()).hexdigest()
    stamp = VENV / f".installed-{lock.stem}"
    if stamp.exists() and stamp.read_text() == digest:
        return
    sh(PY, "-m", "pip", "install", "--quiet", "-r", lock)
    # The dependencies are all in the lock: --no-deps keeps pip from resolving anything anew.
    sh(PY, "-m", "pip", "install", "--quiet", "--no-deps", "-e", ".")
    stamp.write_text(digest)


def lock(_args: list[str]) -> int:
    """Re-resolve the newest versions pyproject.toml allows into requirements/*.txt (pip-tools).

    The test lock holds every extra; the run lock is resolved under it as a constraint, so the
    versions ``run`` installs are the ones the tests passed with.
    """
    tools = ROOT / ".venv-lock"
    if not (tools / "bin" / "pip-compile").exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(tools)
        sh(tools / "bin" / "python", "-m", "pip", "install", "--quiet", "pip-tools")
    LOCKS.mkdir(exist_ok=True)
    common = ["--quiet", "--upgrade", "--strip-extras", "--no-emit-index-url"]
    common += ["--no-emit-find-links", "--no-emit-trusted-host"]
    compile_ = tools / "bin" / "pip-compile"
    test_lock, run_lock = TEST_LOCK.relative_to(ROOT), RUN_LOCK.relative_to(ROOT)
    rc = sh(
        compile_, *common, f"--extra={TEST_EXTRAS}", "-o", test_lock, "pyproject.toml", check=False
    )
    if rc == 0:
        rc = sh(
            compile_,
            *common,
            f"--extra={RUN_EXTRAS}",
            f"--pip-args=-c {test_lock}",
            "-o",
            run_lock,
            "pyproject.toml",
            check=False,
        )
    return rc


def run(args: list[str]) -> int:
    ensure_venv(RUN_LOCK)
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


def _answers(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), 3):
            return True
    except OSError:
        return False


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return str(candidates[-1]) if candidates else None


def _throwaway_postgres() -> str | None:
    """Start a private PostgreSQL with initdb and pg_ctl; its URL, or None when impossible.

    PostgreSQL refuses to run as root, so as root the server runs as the ``postgres`` user.
    The cluster lives in a temporary folder and is stopped and removed when tasks.py exits.
    """
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        return None
    as_user: list[str] = []
    if os.name == "posix" and os.geteuid() == 0:
        runuser = shutil.which("runuser")
        if not runuser:
            return None
        as_user = [runuser, "-u", "postgres", "--"]
    folder = Path(tempfile.mkdtemp(prefix="supplyshock-pg-"))
    if as_user:
        shutil.chown(folder, "postgres")
    data = folder / "data"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    if sh(*as_user, initdb, "-D", data, "-U", "postgres", "-A", "trust", "--no-sync", check=False):
        return None
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    log = folder / "server.log"
    if sh(*as_user, pg_ctl, "-D", data, "-l", log, "-o", options, "-w", "start", check=False):
        return None

    def stop() -> None:
        subprocess.run([*as_user, pg_ctl, "-D", data, "-m", "fast", "stop"], check=False)
        shutil.rmtree(folder, ignore_errors=True)

    atexit.register(stop)
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    for _ in range(50):
        if _answers(url):
            return url
        time.sleep(0.1)
    return None


def ensure_postgres() -> None:
    """The PostgreSQL tests need a server: the configured one, 127.0.0.1:5432, or a throwaway.

    In CI (CI=true) the PostgreSQL tests are required: with no server to be had the run stops
    here with the reason, and the tests fail instead of skipping (tests/required.py).
    """
    in_ci = os.environ.get("CI", "").lower() == "true"
    if in_ci:
        os.environ["SUPPLYSHOCK_TEST_REQUIRE_POSTGRES"] = "1"
    url = os.environ.get("SUPPLYSHOCK_TEST_POSTGRES_URL", PG_DEFAULT)
    if _answers(url):
        return
    print(f"no PostgreSQL answers at {url}: starting a throwaway server", flush=True)
    started = _throwaway_postgres()
    if started:
        os.environ["SUPPLYSHOCK_TEST_POSTGRES_URL"] = started
        return
    message = (
        f"no PostgreSQL at {url} and none could be started (initdb/pg_ctl missing?): "
        "the PostgreSQL tests cannot run"
    )
    if in_ci:
        sys.exit(f"FAILED: {message}; CI requires them")
    print(f"WARNING: {message}; they will SKIP", flush=True)


def test(args: list[str]) -> int:
    ensure_venv(TEST_LOCK)
    ensure_browser()
    ensure_postgres()
    code = [p for p in ("src", "tests", "bench", "tasks.py") if (ROOT / p).exists()]
    steps: list[list[str | Path]] = [
        [BIN / "ruff", "check", *code],
        [BIN / "ruff", "format", "--check", *code],
        [BIN / "mypy"],
        [BIN / "lint-imports"],
        [PY, "-m", "pytest", *(args or ["-q"])],
    ]
    for step in steps:
        rc = sh(*step, check=False)
        if rc != 0:
            print(f"FAILED: {' '.join(str(s) for s in step)} (exit {rc})", flush=True)
            return rc
    return 0


def main() -> int:
    commands = {"run": run, "test": test, "lock": lock}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        return 2
    return commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    raise SystemExit(main())
