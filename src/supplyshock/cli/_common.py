"""Shared pieces of the CLI: the Typer app, the console, error reporting, output formats."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any, NoReturn, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console

from supplyshock.domain.problems import ProblemReport
from supplyshock.exchange.errors import ExchangeError
from supplyshock.services._json import to_jsonable
from supplyshock.services.errors import InvalidRequest

app = typer.Typer(
    name="supplyshock",
    help="Export controls, supply-network exposure, survival analytics, anonymous stock exchange.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)
M = TypeVar("M", bound=BaseModel)


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
    except InvalidRequest as e:  # a service's refusal, under the option that set the field
        fail(f"--{e.field.replace('_', '-')}: {e.detail}")
    except ExchangeError as e:
        fail(e.message)


def request_of(model: type[M], options: Mapping[str, str], **values: Any) -> M:
    """A service request from command-line values; every bound violated is reported at once,
    each under its option (``options`` maps a request field to its option name)."""
    from pydantic import ValidationError

    try:
        return model.model_validate(values)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = str(err["loc"][0]) if err["loc"] else ""
            option = options.get(name, f"--{name.replace('_', '-')}")
            lines.append(f"{option}: {str(err['msg']).removeprefix('Value error, ')}")
        fail("; ".join(lines))


def parse_date(value: str | None, name: str = "date") -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"--{name}: {value!r} is not a date (expected YYYY-MM-DD)")


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
