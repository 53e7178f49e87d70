"""Shared pieces of the CLI: the Typer app, the console, error reporting, output formats."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any, NoReturn

import typer
from rich.console import Console

from supplyshock.domain.problems import ProblemReport

app = typer.Typer(
    name="supplyshock",
    help="Export controls, supply-network exposure, survival analytics, anonymous stock exchange.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 2) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def report_problems(rep: ProblemReport) -> NoReturn:
    n = len(rep.problems)
    err_console.print(f"[bold red]{n} problem{'s' if n != 1 else ''} found:[/]")
    for p in rep.problems:
        err_console.print(f"  [cyan]{p.where()}[/]: {p.message}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


@contextmanager
def problems_exit() -> Iterator[None]:
    """Turn input problems (and unknown names) into a clean message and a non-zero exit."""
    try:
        yield
    except ProblemReport as rep:
        report_problems(rep)
    except KeyError as e:
        fail(str(e.args[0]) if e.args else str(e))


def parse_date(value: str | None, name: str = "date") -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"--{name}: {value!r} is not a date (expected YYYY-MM-DD)")


def to_jsonable(obj: Any) -> Any:
    """Dataclasses, pydantic models, dates and tuples into JSON-ready data."""
    from dataclasses import asdict, is_dataclass

    from pydantic import BaseModel

    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json")
    if is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable(asdict(obj))
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, float) and obj == float("inf"):
        return None
    return obj


def emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(to_jsonable(obj), indent=2, ensure_ascii=False) + "\n")


def emit_csv(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    sys.stdout.write(buf.getvalue())


def checked(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator form of :func:`problems_exit`."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with problems_exit():
            return fn(*args, **kwargs)

    return wrapper
