"""``registry export`` and ``registry import``: the database's registry as diffable YAML files.

Export writes one file per section (sources, acts, measures, observations), items in id order,
in the built-in files' format, so ``supplyshock validate DIR --kind registry`` accepts it and a
``diff`` of two exports shows what changed. Import validates the directory as a whole first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.orm import Session

from supplyshock.domain import controls as c
from supplyshock.exchange.errors import Forbidden
from supplyshock.exchange.schemas import Principal
from supplyshock.services import registry_drafts as drafts
from supplyshock.services import registry_store as store

SECTION_FILES = ("sources", "acts", "measures", "observations")


def export_registry(reg: c.Registry, directory: Path) -> list[Path]:
    """Write ``reg`` under ``directory`` (created); the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    out: list[Path] = []
    for section in SECTION_FILES:
        items = sorted(getattr(reg, section), key=lambda x: x.id)
        docs = [x.model_dump(mode="json", exclude_defaults=True) for x in items]
        path = directory / f"{section}.yaml"
        text = yaml.safe_dump({section: docs}, sort_keys=False, allow_unicode=True, width=100)
        path.write_text(text, encoding="utf-8")
        out.append(path)
    return out


def import_registry(
    *, session: Session, actor: Principal, directory: Path, publish: bool = False
) -> list[store.ChangePublic] | int:
    """Load a registry directory back: as drafts by an editor (each then needs a second
    editor's approval), or published at once by the operator (``publish``; audited).

    The directory must validate as a whole (``formats.registry.load_registry`` raises with
    every problem located). Only documents that differ from the published ones are recorded.
    """
    from supplyshock.formats.registry import load_registry

    reg = load_registry(directory)
    if publish:
        if actor.role != "operator":
            raise Forbidden("only the operator publishes an import without review")
        return store.sync_registry(session=session, actor=actor, registry=reg, origin="editor")
    drafts.require_editor(actor)
    current = store.published_registry(session=session)
    known: dict[tuple[str, str], dict[str, Any]] = {}
    for kind, section in store.SECTIONS.items():
        for x in getattr(current, section):
            known[(kind, x.id)] = x.model_dump(mode="json", exclude_defaults=True)
    out: list[store.ChangePublic] = []
    for entity, section in store.SECTIONS.items():
        for item in getattr(reg, section):
            doc = item.model_dump(mode="json", exclude_defaults=True)
            if known.get((entity, item.id)) == doc:
                continue
            # The directory validated as a whole; its parts may cite each other's drafts.
            out.append(
                drafts.create_draft(
                    session=session, actor=actor, entity=entity, body=doc, check=False
                )
            )
    return out
