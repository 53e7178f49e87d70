"""Problems found in input, as values: a field path and a message, located later by the loader."""

from __future__ import annotations

from dataclasses import dataclass, field

Path = tuple[str | int, ...]


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with an input.

    ``path`` is the field path inside the document (``("lanes", 3, "share")``); loaders turn it
    into a file name and line. ``file`` and ``line`` are filled in by the loader when known.
    """

    message: str
    path: Path = ()
    file: str | None = None
    line: int | None = None
    code: str = "invalid"

    def where(self) -> str:
        parts: list[str] = []
        if self.file:
            parts.append(self.file if self.line is None else f"{self.file}:{self.line}")
        elif self.line is not None:
            parts.append(f"line {self.line}")
        if self.path:
            parts.append(format_path(self.path))
        return " ".join(parts) or "(document)"

    def __str__(self) -> str:
        return f"{self.where()}: {self.message}"


def format_path(path: Path) -> str:
    """``("lanes", 3, "share")`` -> ``lanes[3].share``."""
    out = ""
    for p in path:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += f".{p}" if out else str(p)
    return out


@dataclass
class ProblemReport(Exception):
    """Raised by loaders when input has problems; carries all of them at once."""

    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.summary())

    def summary(self) -> str:
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} found"
        return head + "".join(f"\n  - {p}" for p in self.problems)
