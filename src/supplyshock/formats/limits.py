"""Bounds on what a loader will read: bytes, rows and nesting depth, and safe table paths.

The defaults live here; the services and the CLI pass values from the settings
(``SUPPLYSHOCK_NETWORK_MAX_*``), because this layer reads no settings itself. Every refusal names
the setting that would raise the bound, so an operator knows what to change.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path as FsPath
from pathlib import PurePosixPath, PureWindowsPath

from supplyshock.domain.problems import Path, Problem, ProblemReport


@dataclass(frozen=True)
class LoadLimits:
    """What one network (main file and its tables) may contain.

    ``max_bytes`` bounds each file and the network's files together; ``max_rows`` each list
    (a section, summed over inline rows and CSV tables); ``max_depth`` the nesting of
    mappings and lists (a network file needs about 5).
    """

    max_bytes: int = 50_000_000
    max_rows: int = 1_000_000
    max_depth: int = 64

    def too_big(self, name: str, size: int, path: Path = ()) -> Problem:
        return Problem(
            f"{os.path.basename(name) or name} is {size:,} bytes; the limit is "
            f"{self.max_bytes:,} (SUPPLYSHOCK_NETWORK_MAX_BYTES)",
            path,
            name,
            code="limit",
        )

    def too_many_rows(self, what: str, path: Path, file: str | None, line: int | None) -> Problem:
        return Problem(
            f"{what} has more than {self.max_rows:,} rows; the limit is {self.max_rows:,} "
            "(SUPPLYSHOCK_NETWORK_MAX_ROWS)",
            path,
            file,
            line,
            code="limit",
        )

    def too_deep(self, path: Path, file: str | None, line: int | None) -> Problem:
        return Problem(
            f"nested deeper than {self.max_depth} levels; the limit is {self.max_depth} "
            "(SUPPLYSHOCK_NETWORK_MAX_DEPTH)",
            path,
            file,
            line,
            code="limit",
        )


DEFAULT_LIMITS = LoadLimits()


def read_capped(path: FsPath, limit: int, field: Path = (), shown: str | None = None) -> bytes:
    """The bytes of a regular file, never reading more than ``limit`` + 1 of them.

    Devices, FIFOs and directories are refused before they are opened for reading (a FIFO would
    block, ``/dev/zero`` never ends); the open file is checked again, so a swap between the check
    and the open is caught too. ``shown`` is the name used in messages (the path as written).
    """
    name = shown or str(path)

    def fail(msg: str, code: str = "io") -> ProblemReport:
        return ProblemReport([Problem(msg, field, name, code=code)])

    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise fail("file not found") from None
    except OSError as e:
        raise fail(f"cannot read file: {e.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise fail("not a regular file (devices, FIFOs and directories are refused)", "path")
    if st.st_size > limit:
        raise ProblemReport([LoadLimits(max_bytes=limit).too_big(name, st.st_size, field)])
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as e:
        raise fail(f"cannot read file: {e.strerror}") from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise fail("not a regular file (devices, FIFOs and directories are refused)", "path")
        # read(n) allocates n bytes up front: ask for the size the file has (plus one, to see
        # growth), then go on in chunks only if it grew, up to limit + 1 in all.
        parts = [f.read(min(st.st_size, limit) + 1)]
        got = len(parts[0])
        while got <= limit and len(parts[-1]) > 0 and got > st.st_size:
            parts.append(f.read(min(1 << 20, limit + 1 - got)))
            got += len(parts[-1])
        raw = parts[0] if len(parts) == 1 else b"".join(parts)
    if len(raw) > limit:
        # The file grew after the check: its size is at least what was read.
        raise ProblemReport([LoadLimits(max_bytes=limit).too_big(name, len(raw), field)])
    return raw


def check_relative(rel: object, field: Path) -> str:
    """``rel`` if it is a plain relative file name: no absolute path, drive or ``..``."""

    def refuse(msg: str) -> ProblemReport:
        return ProblemReport([Problem(msg, field, code="path")])

    if not isinstance(rel, str) or not rel.strip():
        raise refuse("expected a file name relative to the network file")
    if "\x00" in rel:
        raise refuse("file name contains a NUL character")
    posix, win = PurePosixPath(rel), PureWindowsPath(rel)
    if posix.is_absolute() or win.is_absolute() or win.drive or rel.startswith(("/", "\\")):
        raise refuse(f"{rel!r}: absolute paths are refused; name a file beside the network file")
    if ".." in posix.parts or ".." in win.parts:
        raise refuse(f"{rel!r}: '..' is refused; name a file beside the network file")
    return rel


def table_path(base_dir: FsPath, rel: object, field: Path) -> FsPath:
    """The file a ``tables`` entry names, if it is a plain relative path inside ``base_dir``.

    Absolute paths, drive letters, ``..`` and symlinks leading outside are refused; the message
    names the field and never what the file contains.
    """

    def refuse(msg: str) -> ProblemReport:
        return ProblemReport([Problem(msg, field, code="path")])

    rel = check_relative(rel, field)
    base = base_dir.resolve()
    target = base / rel
    try:
        resolved = target.resolve(strict=True)
    except FileNotFoundError:
        raise refuse(f"{rel!r}: file not found") from None
    except (OSError, RuntimeError) as e:  # RuntimeError: a symlink loop on older Pythons
        raise refuse(f"{rel!r}: cannot resolve ({e.__class__.__name__})") from None
    if not resolved.is_relative_to(base):
        raise refuse(f"{rel!r}: leads outside the network file's directory (symlink)")
    return resolved
