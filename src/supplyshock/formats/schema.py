"""JSON Schemas of the file formats, generated from the pydantic models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from supplyshock.domain import controls as c
from supplyshock.domain import network as n


class _NetworkFile(n.Network):
    """A network file: ``tables`` may point big sections at CSV files beside it."""

    tables: dict[str, str] = Field(
        default_factory=dict,
        description="section name -> CSV file (relative to this file); rows extend the section",
    )


SCHEMAS: dict[str, type[BaseModel]] = {"network": _NetworkFile, "registry": c.Registry}


def schema_for(kind: str) -> dict[str, Any]:
    model = SCHEMAS[kind]
    out = model.model_json_schema(mode="validation")
    out["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    out["title"] = f"supplyshock {kind} file"
    return out
