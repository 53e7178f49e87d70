"""``supplyshock registry ...``: the registry in the database (sync, export, import, drafts).

Commands run on the configured database, as the operator's commands do; editors name
themselves with ``--editor`` (docs/registry.md, "The registry in the database").
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from supplyshock.cli._common import app, checked, console, emit_json, fail

registry_app = typer.Typer(
    help="The registry in the database: sync, export, import, drafts (docs/registry.md).",
    no_args_is_help=True,
)
app.add_typer(registry_app, name="registry")

EditorOpt = Annotated[
    str,
    typer.Option(
        "--editor", help="Your editor name: recorded as the author or approver of the change."
    ),
]


def _editor(name: str) -> Any:
    from supplyshock.exchange.schemas import Principal

    if not name.strip():
        fail("--editor: give your editor name")
    return Principal(role="editor", token_id=f"cli:{name.strip()}")


@registry_app.command("sync")
@checked
def registry_sync() -> None:
    """Publish the built-in registry files into the database (only what changed)."""
    from supplyshock.cli.exchange import OPERATOR, _unit_of_work
    from supplyshock.services.registry_store import sync_registry

    with _unit_of_work() as uow:
        added = sync_registry(session=uow.session, actor=OPERATOR)
        uow.commit()
    console.print(f"registry synced: {added} new version(s) published")


@registry_app.command("export")
@checked
def registry_export(
    directory: Annotated[Path, typer.Argument(help="Directory to write the YAML files into.")],
) -> None:
    """Write the published registry as diffable YAML (validate it with `validate DIR`)."""
    from supplyshock.cli.exchange import _unit_of_work
    from supplyshock.services.registry_io import export_registry
    from supplyshock.services.registry_store import published_registry

    with _unit_of_work() as uow:
        reg = published_registry(session=uow.session)
    for path in export_registry(reg, directory):
        console.print(f"wrote {path}")


@registry_app.command("import")
@checked
def registry_import(
    directory: Annotated[Path, typer.Argument(help="A registry directory (as export writes).")],
    editor: Annotated[
        str | None, typer.Option("--editor", help="Record drafts as this editor.")
    ] = None,
    publish: Annotated[
        bool, typer.Option("--publish", help="Publish at once, as the operator (audited).")
    ] = False,
) -> None:
    """Load a registry directory back: as drafts (--editor NAME) or published (--publish)."""
    from supplyshock.cli.exchange import OPERATOR, _unit_of_work
    from supplyshock.services.registry_io import import_registry

    if publish == (editor is not None):
        fail("give exactly one of --editor NAME (drafts) and --publish (operator)")
    actor = OPERATOR if publish else _editor(editor or "")
    with _unit_of_work() as uow:
        done = import_registry(
            session=uow.session, actor=actor, directory=directory, publish=publish
        )
        uow.commit()
    count = done if isinstance(done, int) else len(done)
    console.print(f"imported: {count} {'published version(s)' if publish else 'draft(s)'}")


@registry_app.command("drafts")
@checked
def registry_drafts(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Drafts awaiting a second editor's decision."""
    from supplyshock.cli.exchange import OPERATOR, _unit_of_work
    from supplyshock.services.registry_drafts import list_drafts

    with _unit_of_work() as uow:
        drafts = list_drafts(session=uow.session, actor=OPERATOR)
    if as_json:
        emit_json([d.model_dump(mode="json") for d in drafts])
        return
    for d in drafts:
        where = f" of {d.parent}" if d.parent else ""
        console.print(f"{d.seq}  {d.entity} {d.key}{where}  by {d.editor}  {d.recorded_at}")
    if not drafts:
        console.print("No drafts await a decision.")


@registry_app.command("draft")
@checked
def registry_draft(
    entity: Annotated[
        str, typer.Argument(help="source, act, measure, carve_out, event or observation.")
    ],
    file: Annotated[Path, typer.Argument(help="The item as YAML or JSON.")],
    editor: EditorOpt,
    measure: Annotated[
        str | None, typer.Option(help="For a carve-out or event: its measure.")
    ] = None,
    carve_out: Annotated[str | None, typer.Option(help="For a carve-out's event.")] = None,
) -> None:
    """Record a draft; a second editor approves it with `registry approve`."""
    from supplyshock.cli.exchange import _unit_of_work
    from supplyshock.services.registry_drafts import create_draft
    from supplyshock.services.registry_store import ENTITY_MODELS

    if entity not in ENTITY_MODELS:
        fail(f"entity: {entity!r} is not one of {', '.join(ENTITY_MODELS)}")
    body = yaml.safe_load(file.read_text(encoding="utf-8"))
    if not isinstance(body, dict):
        fail(f"{file}: expected a mapping")
    with _unit_of_work() as uow:
        d = create_draft(
            session=uow.session,
            actor=_editor(editor),
            entity=entity,  # type: ignore[arg-type]
            body=body,
            measure_id=measure,
            carve_out_id=carve_out,
        )
        uow.commit()
    console.print(f"draft {d.seq} recorded: {d.entity} {d.key}")


@registry_app.command("approve")
@checked
def registry_approve(
    seq: Annotated[int, typer.Argument(help="The draft's number.")], editor: EditorOpt
) -> None:
    """Publish a draft; the approving editor must differ from its author."""
    from supplyshock.cli.exchange import _unit_of_work
    from supplyshock.services.registry_drafts import approve_draft

    with _unit_of_work() as uow:
        row = approve_draft(session=uow.session, actor=_editor(editor), draft_seq=seq)
        uow.commit()
    console.print(f"draft {seq} published as change {row.seq}")


@registry_app.command("reject")
@checked
def registry_reject(
    seq: Annotated[int, typer.Argument(help="The draft's number.")],
    editor: EditorOpt,
    reason: Annotated[str, typer.Option(help="Why it is rejected.")],
) -> None:
    """Close a draft unpublished."""
    from supplyshock.cli.exchange import _unit_of_work
    from supplyshock.services.registry_drafts import reject_draft

    with _unit_of_work() as uow:
        row = reject_draft(session=uow.session, actor=_editor(editor), draft_seq=seq, reason=reason)
        uow.commit()
    console.print(f"draft {seq} rejected (change {row.seq})")
