"""Service results as JSON-ready data: the form a job stores and every shell prints."""

from __future__ import annotations

import math
from dataclasses import asdict, is_dataclass
from datetime import date
from typing import Any


def to_jsonable(obj: Any) -> Any:
    """Dataclasses, pydantic models, dates and tuples into JSON-ready data (inf -> None)."""
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
    if isinstance(obj, float) and math.isinf(obj):
        return None
    return obj
