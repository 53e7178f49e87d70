"""Catena-X payloads: validation against the official JSON Schemas shipped beside this module
(CC BY 4.0, see README.md here) and their mapping to exchange quantities — pure, no database.

Every problem is reported with its JSON path (``positions[0].allocatedStocks[0].isBlocked``).
Business partner numbers (BPNS/BPNA), order references and update timestamps are checked by the
schema and otherwise ignored: nothing here returns them.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import FormatChecker, validators

# aspect -> (schema file stem, model URN the schema was generated from)
ASPECTS = {
    "item_stock": ("ItemStock", "urn:samm:io.catenax.item_stock:2.0.0#ItemStock"),
    "short_term_material_demand": (
        "ShortTermMaterialDemand",
        "urn:samm:io.catenax.short_term_material_demand:1.0.0#ShortTermMaterialDemand",
    ),
    "days_of_supply": ("DaysOfSupply", "urn:samm:io.catenax.days_of_supply:2.0.0#DaysOfSupply"),
}
PIECE = "unit:piece"
MAX_DAYS = 10_000  # what a listing accepts as days of supply
_UUID = re.compile(
    r"^(?:urn:uuid:)?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$"
)
_REQUIRED = re.compile(r"^'(.+)' is a required property$")


# --- problems -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a payload: where (a JSON path like ``positions[0].direction``)."""

    path: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.path, "message": self.message}


def json_path(parts: Iterable[str | int]) -> str:
    """``["positions", 0, "isBlocked"]`` -> ``positions[0].isBlocked``; the root is ``$``."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "$"


# --- schema validation (pure) ---------------------------------------------------------------


def schema(aspect: str) -> dict[str, Any]:
    """The official JSON Schema of an aspect, shipped beside this module."""
    stem, _ = ASPECTS[aspect]
    text = resources.files(__name__).joinpath(f"{stem}-schema.json")
    loaded: dict[str, Any] = json.loads(text.read_text(encoding="utf-8"))
    return loaded


@cache
def _validator(aspect: str) -> Any:
    doc = schema(aspect)
    # Whatever draft the schema declares (draft-04 today); FormatChecker() checks "date" too,
    # which the draft-04 checker alone would let through.
    cls = validators.validator_for(doc)
    cls.check_schema(doc)
    return cls(doc, format_checker=FormatChecker())


def validate(aspect: str, payload: Any) -> list[Problem]:
    """Every schema violation of ``payload``, sorted by path; empty when it is valid."""
    problems: list[Problem] = []
    for error in _validator(aspect).iter_errors(payload):
        path = list(error.absolute_path)
        message = error.message
        missing = _REQUIRED.match(message) if error.validator == "required" else None
        if missing:
            path.append(missing.group(1))
            message = "required property is missing"
        elif len(message) > 300:
            message = message[:297] + "..."
        problems.append(Problem(json_path(path), message))
    return sorted(problems, key=lambda p: (p.path, p.message))


def normalise_asset_id(value: str) -> str | None:
    """A twin id as stored: the bare lower-case UUID (``urn:uuid:`` is optional in Catena-X)."""
    match = _UUID.match(value.strip())
    return match.group(1).lower() if match else None


# --- mapping (pure) -------------------------------------------------------------------------


def _pieces(value: Any, unit: Any, path: list[str | int], problems: list[Problem]) -> int:
    """A quantity in whole pieces, or 0 with a problem recorded."""
    if unit != PIECE:
        problems.append(
            Problem(json_path([*path, "unit"]), f"the exchange counts pieces: unit must be {PIECE}")
        )
        return 0
    # json.loads accepts NaN and Infinity, which no schema type check catches; and a bool is
    # an int to Python (True == 1), so it is refused here too, whatever the schema says.
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
        or float(value) != int(value)
    ):
        problems.append(Problem(json_path([*path, "value"]), "must be a whole number of pieces"))
        return 0
    return int(value)


def stock_quantity(payload: dict[str, Any]) -> tuple[int, list[Problem]]:
    """CX-0122: the pieces on stock that are not blocked, over every position and location.

    Blocked stock (quarantine, complaint) is not available, so it cannot be offered.
    """
    problems: list[Problem] = []
    total = 0
    for i, position in enumerate(payload["positions"]):
        for j, stock in enumerate(position["allocatedStocks"]):
            if stock["isBlocked"]:
                continue
            q = stock["quantityOnAllocatedStock"]
            where: list[str | int] = ["positions", i, "allocatedStocks", j]
            total += _pieces(q["value"], q["unit"], [*where, "quantityOnAllocatedStock"], problems)
    if not problems and total <= 0:
        problems.append(Problem("positions", "no unblocked stock: nothing to offer"))
    return total, problems


def demand_quantity(
    payload: dict[str, Any], start: date | None, end: date | None
) -> tuple[int, date | None, date | None, list[Problem]]:
    """CX-0120: the demand summed over ``start..end`` (default: the first to the last demand
    day in the payload), over every demand series (customer location and category)."""
    problems: list[Problem] = []
    days: list[tuple[date, int]] = []
    for i, series in enumerate(payload["demandSeries"]):
        for j, entry in enumerate(series["demands"]):
            where: list[str | int] = ["demandSeries", i, "demands", j]
            try:
                day = date.fromisoformat(entry["day"])
            except ValueError:
                problems.append(Problem(json_path([*where, "day"]), "not a date (YYYY-MM-DD)"))
                continue
            d = entry["demand"]
            days.append((day, _pieces(d["value"], d["unit"], [*where, "demand"], problems)))
    if problems:
        return 0, None, None, problems
    if not days:
        return 0, None, None, [Problem("demandSeries", "no demand: nothing to ask for")]
    start = start or min(d for d, _ in days)
    end = end or max(d for d, _ in days)
    total = sum(q for d, q in days if start <= d <= end)
    if total <= 0:
        problems.append(
            Problem("demandSeries", f"no demand between {start} and {end}: nothing to ask for")
        )
    return total, start, end, problems


def current_days_of_supply(payload: dict[str, Any], now: datetime) -> tuple[float, list[Problem]]:
    """CX-0145: per stock location, the value dated latest at or before ``now`` (else the
    earliest); the need's value is the smallest over the locations — the first plant to run
    dry is when the shortage bites."""
    problems: list[Problem] = []
    per_location: list[float] = []
    for i, location in enumerate(payload["allocatedDaysOfSupply"]):
        dated: list[tuple[datetime, float]] = []
        for j, entry in enumerate(location["amountOfAllocatedDaysOfSupply"]):
            where: list[str | int] = [
                "allocatedDaysOfSupply",
                i,
                "amountOfAllocatedDaysOfSupply",
                j,
            ]
            try:
                at = datetime.fromisoformat(entry["date"])
            except ValueError:
                problems.append(Problem(json_path([*where, "date"]), "not a timestamp"))
                continue
            if at.tzinfo is None:
                at = at.replace(tzinfo=UTC)  # Catena-X timestamps may omit the zone
            raw = entry["daysOfSupply"]
            value = float(raw) if isinstance(raw, int | float) and not isinstance(raw, bool) else -1
            if not math.isfinite(value) or not 0 <= value <= MAX_DAYS:
                problems.append(
                    Problem(
                        json_path([*where, "daysOfSupply"]),
                        f"must be a number from 0 to {MAX_DAYS}",
                    )
                )
                continue
            dated.append((at, value))
        if not dated:
            continue
        past = [x for x in dated if x[0] <= now]
        per_location.append(max(past)[1] if past else min(dated)[1])
    if not problems and not per_location:
        problems.append(Problem("allocatedDaysOfSupply", "no days-of-supply value given"))
    return (min(per_location) if per_location else 0.0), problems
