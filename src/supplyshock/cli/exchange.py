"""The operator's exchange commands: ``db``, ``members``, ``tokens``, ``crises`` and ``audit``.

They run as the operator: whoever can reach the database runs the platform. Each command is one
unit of work over the same service functions the API calls.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError
from rich.markup import escape
from rich.table import Table

from supplyshock.cli._common import app, console, emit_json, err_console, fail
from supplyshock.exchange.errors import ExchangeError
from supplyshock.exchange.schemas import Principal

# SQLAlchemy and Alembic come with the "web" extra: import them only when a command needs the
# database, so that the rest of the CLI works on a core install.
if TYPE_CHECKING:
    from supplyshock.exchange.schemas import CatalogueEntryIn
    from supplyshock.store.db import UnitOfWork

db_app = typer.Typer(help="The exchange database.", no_args_is_help=True)
members_app = typer.Typer(help="Members of the exchange (operator only).", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens (operator only).", no_args_is_help=True)
crises_app = typer.Typer(
    help="Crises that open the exchange (operator only).", no_args_is_help=True
)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(members_app, name="members")
app.add_typer(tokens_app, name="tokens")
app.add_typer(crises_app, name="crises")
app.add_typer(audit_app, name="audit")

OPERATOR = Principal.local_operator()
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _shown(url: str) -> str:
    from sqlalchemy.engine import make_url

    return escape(make_url(url).render_as_string(hide_password=True))


def _problem(loc: tuple[int | str, ...], msg: str) -> str:
    where = ".".join(map(str, loc)) or "input"
    return f"{where}: {msg.removeprefix('Value error, ')}"


@contextmanager
def _unit_of_work() -> Iterator[UnitOfWork]:
    """A unit of work on the configured database; refused errors become a message and exit 2."""
    from sqlalchemy.exc import SQLAlchemyError

    from supplyshock.store.db import UnitOfWork, database_url, make_engine, make_session_factory
    from supplyshock.store.migrate import current_revision, head_revision

    url = database_url()
    try:
        if current_revision(url) != head_revision():
            fail(f"database {_shown(url)} is not up to date: run `supplyshock db upgrade` first")
        engine = make_engine(url)
    except SQLAlchemyError as e:
        fail(f"cannot use database {_shown(url)}: {e.__class__.__name__}: {escape(str(e))}")
    try:
        with UnitOfWork(make_session_factory(engine)) as uow:
            yield uow
    except ExchangeError as e:
        fail(escape(f"{e.message} ({e.code})"))
    except ValidationError as e:
        fail(escape("; ".join(_problem(x["loc"], x["msg"]) for x in e.errors())))
    finally:
        engine.dispose()


# --- db -----------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade(
    url: Annotated[
        str | None,
        typer.Option(help="Database URL; default SUPPLYSHOCK_DATABASE_URL or the SQLite file."),
    ] = None,
) -> None:
    """Create or migrate the exchange database to the newest schema."""
    from sqlalchemy.exc import SQLAlchemyError

    from supplyshock.store.db import database_url
    from supplyshock.store.migrate import current_revision, upgrade

    resolved = database_url(url)
    try:
        upgrade(resolved)
        rev = current_revision(resolved)
    except SQLAlchemyError as e:
        fail(f"cannot migrate {_shown(resolved)}: {e.__class__.__name__}: {escape(str(e))}")
    console.print(f"[green]ok[/]: {_shown(resolved)} is at revision {rev}", highlight=False)


# --- members ------------------------------------------------------------------------------


@members_app.command("add")
def members_add(
    name: Annotated[str, typer.Argument(help="Organisation name (unique).")],
    contact: Annotated[str, typer.Option(help="Who to call once a match is revealed.")],
    country: Annotated[str, typer.Option(help="ISO 3166-1 alpha-2 country code.")],
    as_json: JsonOpt = False,
) -> None:
    """Add a member organisation."""
    from supplyshock.exchange.members import create_member
    from supplyshock.exchange.schemas import MemberCreate

    with _unit_of_work() as uow:
        data = MemberCreate(name=name, contact=contact, country=country)
        member = create_member(session=uow.session, actor=OPERATOR, data=data)
        uow.commit()
    if as_json:
        emit_json(member)
    else:
        console.print(f"[green]added[/] member {member.name} ({member.id})", highlight=False)


@members_app.command("list")
def members_list(as_json: JsonOpt = False) -> None:
    """List the members, with their contacts (the operator's view)."""
    from supplyshock.exchange.members import list_members

    with _unit_of_work() as uow:
        members = list_members(session=uow.session, actor=OPERATOR)
    if as_json:
        emit_json(members)
        return
    table = Table("id", "name", "country", "contact", "since")
    for m in members:
        table.add_row(m.id, m.name, m.country, m.contact, m.created_at.date().isoformat())
    console.print(table)


# --- tokens -------------------------------------------------------------------------------


@tokens_app.command("issue")
def tokens_issue(
    member: Annotated[str | None, typer.Option(help="Member id the token acts for.")] = None,
    operator: Annotated[bool, typer.Option("--operator", help="An operator token.")] = False,
    editor: Annotated[
        bool, typer.Option("--editor", help="A registry editor's token (label: the editor).")
    ] = False,
    days: Annotated[int, typer.Option(help="Days until it expires (1-366).")] = 90,
    label: Annotated[str, typer.Option(help="A note to tell tokens apart.")] = "",
) -> None:
    """Issue an API token. The token is printed once, on stdout; only its hash is stored."""
    from supplyshock.exchange.members import issue_token
    from supplyshock.exchange.schemas import TokenIssue

    if operator + editor + (member is not None) != 1:
        fail("give one of --member ID, --operator and --editor")
    with _unit_of_work() as uow:
        role = "operator" if operator else "editor" if editor else "member"
        data = TokenIssue(role=role, member_id=member, days=days, label=label)
        issued = issue_token(session=uow.session, actor=OPERATOR, data=data)
        uow.commit()
    err_console.print(
        f"token {issued.info.prefix} ({issued.info.role}) expires "
        f"{issued.info.expires_at:%Y-%m-%d %H:%M} UTC. It is shown only now: store it safely.",
        highlight=False,
    )
    typer.echo(issued.token)


@tokens_app.command("revoke")
def tokens_revoke(
    token: Annotated[str, typer.Argument(help="Token id or prefix (as `tokens list` shows).")],
) -> None:
    """Revoke a token; it is refused from now on."""
    from supplyshock.exchange.members import revoke_token

    with _unit_of_work() as uow:
        revoked = revoke_token(session=uow.session, actor=OPERATOR, token=token)
        uow.commit()
    assert revoked.revoked_at is not None
    console.print(
        f"[green]revoked[/] token {revoked.prefix} at {revoked.revoked_at:%Y-%m-%d %H:%M} UTC",
        highlight=False,
    )


@tokens_app.command("list")
def tokens_list(
    member: Annotated[str | None, typer.Option(help="Only this member's tokens.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List tokens (never their secrets)."""
    from supplyshock.exchange.members import list_tokens

    with _unit_of_work() as uow:
        tokens = list_tokens(session=uow.session, actor=OPERATOR, member_id=member)
    if as_json:
        emit_json(tokens)
        return
    table = Table("id", "prefix", "role", "member", "label", "expires", "revoked")
    for t in tokens:
        table.add_row(
            t.id,
            t.prefix,
            t.role,
            t.member_id or "",
            t.label,
            f"{t.expires_at:%Y-%m-%d}",
            f"{t.revoked_at:%Y-%m-%d}" if t.revoked_at else "",
        )
    console.print(table)


# --- crises -------------------------------------------------------------------------------


@crises_app.command("open")
def crises_open(
    name: Annotated[str, typer.Argument(help='e.g. "Nexperia 2025"')],
    starts: Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="First day.")],
    ends: Annotated[
        datetime, typer.Option(formats=["%Y-%m-%d"], help="Last day (limited lifetime).")
    ],
    maker: Annotated[list[str] | None, typer.Option(help="A maker in scope (repeatable).")] = None,
    family: Annotated[
        list[str] | None, typer.Option(help="A part family in scope (repeatable).")
    ] = None,
    scope: Annotated[str, typer.Option(help="What the crisis covers, in words.")] = "",
    allow_prices: Annotated[bool, typer.Option(help="Let listings carry prices.")] = False,
    retention_days: Annotated[int, typer.Option(help="Days data is kept after the end.")] = 90,
    catalogue: Annotated[
        Path | None,
        typer.Option(help="CSV of the parts listings may name: part_number,maker,part_family."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Open a crisis: the exchange accepts listings within its scope, dates and catalogue."""
    from supplyshock.exchange.crises import open_crisis
    from supplyshock.exchange.schemas import CrisisCreate

    entries = _catalogue_csv(catalogue) if catalogue is not None else []
    with _unit_of_work() as uow:
        data = CrisisCreate(
            name=name,
            scope=scope,
            makers=maker or [],
            part_families=family or [],
            catalogue=entries,
            starts_on=starts.date(),
            ends_on=ends.date(),
            allow_prices=allow_prices,
            retention_days=retention_days,
        )
        crisis = open_crisis(session=uow.session, actor=OPERATOR, data=data)
        uow.commit()
    if as_json:
        emit_json(crisis)
    else:
        console.print(f"[green]opened[/] crisis {crisis.name} ({crisis.id})", highlight=False)


def _catalogue_csv(path: Path) -> list[CatalogueEntryIn]:
    """Catalogue entries from a CSV with the header ``part_number,maker,part_family``."""
    import csv

    from supplyshock.exchange.schemas import MAX_CATALOGUE, CatalogueEntryIn

    try:
        with path.open(newline="", encoding="utf-8") as f:
            rows = list(itertools.islice(csv.DictReader(f), MAX_CATALOGUE + 1))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        fail(escape(f"{path}: {e}"))
    if len(rows) > MAX_CATALOGUE:
        fail(f"{escape(str(path))}: more than {MAX_CATALOGUE} parts")
    out = []
    for line, row in enumerate(rows, start=2):
        if None in row:
            fail(escape(f"{path}, line {line}: more fields than the header (quote commas)"))
        try:
            out.append(CatalogueEntryIn.model_validate(row))
        except ValidationError as e:
            problems = "; ".join(_problem(x["loc"], x["msg"]) for x in e.errors())
            fail(escape(f"{path}, line {line}: {problems}"))
    return out


@crises_app.command("catalogue")
def crises_catalogue(
    crisis_id: Annotated[str, typer.Argument(help="The crisis id.")],
    path: Annotated[Path, typer.Argument(help="CSV: part_number,maker,part_family.")],
    as_json: JsonOpt = False,
) -> None:
    """Add parts to a crisis's catalogue (parts already there with the same family are kept)."""
    from supplyshock.exchange.catalogue import extend_catalogue

    entries = _catalogue_csv(path)
    with _unit_of_work() as uow:
        added = extend_catalogue(
            session=uow.session, actor=OPERATOR, crisis_id=crisis_id, entries=entries
        )
        uow.commit()
    if as_json:
        emit_json(added)
    else:
        console.print(f"[green]added[/] {len(added)} of {len(entries)} parts", highlight=False)


@crises_app.command("close")
def crises_close(crisis_id: Annotated[str, typer.Argument(help="The crisis id.")]) -> None:
    """End a crisis now; its open listings close with it."""
    from supplyshock.exchange.crises import close_crisis

    with _unit_of_work() as uow:
        crisis = close_crisis(session=uow.session, actor=OPERATOR, crisis_id=crisis_id)
        uow.commit()
    console.print(f"[green]closed[/] crisis {crisis.name}", highlight=False)


@crises_app.command("list")
def crises_list(as_json: JsonOpt = False) -> None:
    """List crises."""
    from supplyshock.exchange.crises import list_crises

    with _unit_of_work() as uow:
        crises = list_crises(session=uow.session)
    if as_json:
        emit_json(crises)
        return
    table = Table("id", "name", "status", "starts", "ends", "prices", "makers", "families")
    for c in crises:
        table.add_row(
            c.id,
            c.name,
            c.status,
            c.starts_on.isoformat(),
            c.ends_on.isoformat(),
            "yes" if c.allow_prices else "no",
            ", ".join(c.makers),
            ", ".join(c.part_families),
        )
    console.print(table)


@crises_app.command("sweep")
def crises_sweep() -> None:
    """Let time pass: close ended crises, expire listings and matches, purge data past retention."""
    from supplyshock.exchange.crises import purge_expired, sweep

    with _unit_of_work() as uow:
        swept = sweep(session=uow.session)
        purged = purge_expired(session=uow.session)
        uow.commit()
    console.print(
        f"[green]ok[/]: {len(swept.crises_closed)} crises closed, "
        f"{len(swept.listings_expired)} listings expired, "
        f"{len(swept.matches_expired)} matches expired, "
        f"{len(purged.crises_purged)} crises purged ({purged.listings_deleted} listings deleted, "
        f"{purged.audit_payloads_erased} audit payloads erased, "
        f"{purged.contacts_erased} member contacts erased)",
        highlight=False,
    )


# --- audit --------------------------------------------------------------------------------


@audit_app.command("verify")
def audit_verify(
    expect_head: Annotated[
        str | None,
        typer.Option(help="The head hash recorded earlier: also detects entries cut off the end."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Check the audit chain; exit 1 if any entry was edited or deleted."""
    from supplyshock.exchange.audit import verify_audit

    with _unit_of_work() as uow:
        report = verify_audit(session=uow.session, expected_head=expect_head)
    if as_json:
        emit_json({**report.__dict__, "ok": report.ok})
    elif report.ok:
        console.print(
            f"[green]ok[/]: {report.entries} entries, head {report.head_seq} {report.head_hash}",
            highlight=False,
        )
    else:
        err_console.print(
            f"[bold red]TAMPERED[/]: entry {report.first_broken_seq}: {report.reason}",
            highlight=False,
        )
    if not report.ok:
        raise typer.Exit(1)
