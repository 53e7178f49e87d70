"""``supplyshock jobs``: follow the job queue from the command line (show, result, work), and
the ``--detach`` half of ``survival`` and ``simulate``, which queue a job and print its id."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.markup import escape
from sqlalchemy.orm import Session, sessionmaker

from supplyshock.cli._common import app, checked, emit_json, err_console, fail

jobs_app = typer.Typer(help="Survival and Monte Carlo jobs in the database.", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")


@contextmanager
def _database() -> Iterator[sessionmaker[Session]]:
    """Sessions on the configured database, which must be migrated (`supplyshock db upgrade`)."""
    from sqlalchemy.exc import SQLAlchemyError

    from supplyshock.store.db import database_url, make_engine, make_session_factory
    from supplyshock.store.migrate import current_revision, head_revision

    url = database_url()
    shown = url.split("@")[-1]
    try:
        if current_revision(url) != head_revision():
            fail(f"database {shown} is not up to date: run `supplyshock db upgrade` first")
        engine = make_engine(url)
    except SQLAlchemyError as e:
        fail(f"cannot use database {shown}: {e.__class__.__name__}: {escape(str(e))}")
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()


def detach(kind: str, params: dict[str, Any]) -> None:
    """Queue a job owned by ``local`` and print its id (stdout: only the id)."""
    from supplyshock.jobs import records
    from supplyshock.jobs.kinds import check
    from supplyshock.store.db import UnitOfWork

    checked_params = check(kind, params)  # type: ignore[arg-type]
    with _database() as factory, UnitOfWork(factory) as uow:
        job = records.submit(
            session=uow.session,
            owner=records.LOCAL,
            kind=kind,  # type: ignore[arg-type]
            params=checked_params,
        )
        uow.commit()
        job_id = job.id
    err_console.print(f"queued {kind} job; follow it with `supplyshock jobs show {job_id}`")
    typer.echo(job_id)


@jobs_app.command("show")
@checked
def show(
    job_id: Annotated[str, typer.Argument(help="The job id (from --detach or the API).")],
    result: Annotated[bool, typer.Option("--result", help="Print the result document.")] = False,
) -> None:
    """Print a job's state and progress as JSON (or, with --result, its result)."""
    from supplyshock.jobs import records
    from supplyshock.store.db import UnitOfWork

    with _database() as factory, UnitOfWork(factory) as uow:
        if result:
            emit_json(records.result(session=uow.session, owner=None, job_id=job_id))
        else:
            emit_json(records.public(records.get(session=uow.session, owner=None, job_id=job_id)))


@jobs_app.command("cancel")
@checked
def cancel(job_id: Annotated[str, typer.Argument(help="The job id.")]) -> None:
    """Cancel a queued job at once, or ask a running one to stop; prints its state as JSON."""
    from supplyshock.jobs import records
    from supplyshock.store.db import UnitOfWork

    with _database() as factory, UnitOfWork(factory) as uow:
        job = records.cancel(session=uow.session, owner=None, job_id=job_id)
        uow.commit()
        emit_json(records.public(job))


@jobs_app.command("work")
@checked
def work(
    once: Annotated[bool, typer.Option("--once", help="Run one queued job, then stop.")] = False,
) -> None:
    """Run queued jobs here until none is left (a worker outside any server)."""
    from supplyshock.jobs.pool import WorkerPool
    from supplyshock.settings import get_settings

    with _database() as factory:
        pool = WorkerPool(factory, threads=0, scheduler=get_settings().dask_scheduler)
        pool.recover()
        n = 0
        while pool.run_one():
            n += 1
            if once:
                break
    err_console.print(f"ran {n} job(s)")
