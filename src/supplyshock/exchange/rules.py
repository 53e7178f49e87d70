"""Pure exchange rules (no database): crisis lifetime, regions, date codes, price policy."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

# Competition-law safeguards allow stock sharing for a limited time only; six months is the
# longest a crisis may be declared for at once (the operator may open a follow-up crisis).
MAX_CRISIS_DAYS = 183

# Coarse regions only: a country (or a plant) would often identify the member by itself.
REGIONS = (
    "europe",
    "north-america",
    "south-america",
    "china",
    "east-asia",
    "south-asia",
    "southeast-asia",
    "middle-east",
    "africa",
    "oceania",
)

# ASCII digits only: Python's \d also matches "٢٣" or full-width digits, and "$" a final "\n".
_DATE_CODE = re.compile(r"\d{2}(0[1-9]|[1-4]\d|5[0-3])", re.ASCII)


def check_crisis_window(starts_on: date, ends_on: date) -> None:
    """Raise ValueError unless ``starts_on <= ends_on <= starts_on + MAX_CRISIS_DAYS``."""
    if ends_on < starts_on:
        raise ValueError(f"ends_on {ends_on} is before starts_on {starts_on}")
    if (ends_on - starts_on).days > MAX_CRISIS_DAYS:
        raise ValueError(
            f"a crisis may last at most {MAX_CRISIS_DAYS} days; {starts_on} to {ends_on} is "
            f"{(ends_on - starts_on).days}"
        )


def check_region(region: str) -> str:
    norm = region.strip().lower()
    if norm not in REGIONS:
        raise ValueError(f"unknown region {region!r}; choose one of: {', '.join(REGIONS)}")
    return norm


def check_date_code(code: str) -> str:
    """A component date code, YYWW (year and ISO week, e.g. 2341 = week 41 of 2023)."""
    norm = code.strip()
    if not _DATE_CODE.fullmatch(norm):
        raise ValueError(f"malformed date code {code!r}: expected YYWW, e.g. 2341")
    return norm


def end_of_crisis(ends_on: date) -> datetime:
    """The instant a crisis ends: midnight UTC after its last day."""
    return datetime.combine(ends_on + timedelta(days=1), time(0), UTC)


def crisis_is_running(starts_on: date, ends_on: date, now: datetime) -> bool:
    return datetime.combine(starts_on, time(0), UTC) <= now < end_of_crisis(ends_on)


def part_key(part_number: str, maker: str) -> str:
    """How matching compares parts: maker case-folded, part number upper-cased, both trimmed.

    Punctuation is kept: "BC847B,215" and "BC847B,235" are different packagings; a member who
    accepts both lists the other as an alternate.
    """
    return f"{maker.strip().casefold()}|{part_number.strip().upper()}"


def in_scope(value: str | None, allowed: list[str]) -> bool:
    """An empty scope list means 'any'; otherwise the value must be one of them (any case)."""
    if not allowed:
        return True
    return value is not None and value.strip().casefold() in {a.casefold() for a in allowed}
