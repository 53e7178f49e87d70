"""Code lists the domain validates against: ISO 3166 countries, HS codes, chemical elements."""

from __future__ import annotations

import re
from functools import lru_cache

import pycountry

# Jurisdictions that are not ISO 3166-1 countries but issue measures of their own.
EXTRA_JURISDICTIONS = frozenset({"EU"})

ELEMENTS: frozenset[str] = frozenset(
    """H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As
    Se Br Kr Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb
    Dy Ho Er Tm Yb Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U Np Pu Am Cm Bk
    Cf Es Fm Md No Lr Rf Db Sg Bh Hs Mt Ds Rg Cn Nh Fl Mc Lv Ts Og""".split()
)

_HS_FULL = re.compile(r"^\d{6}$")
_HS_PREFIX = re.compile(r"^(\d{2}|\d{4}|\d{6})$")


@lru_cache(maxsize=1)
def _countries() -> frozenset[str]:
    return frozenset(c.alpha_2 for c in pycountry.countries)


def is_country(code: str) -> bool:
    """True for an ISO 3166-1 alpha-2 code (upper case)."""
    return code in _countries()


def check_country(code: str, *, allow_blocs: bool = False) -> str:
    """Return the code upper-cased, or raise ValueError naming the bad code."""
    norm = code.strip().upper()
    if is_country(norm) or (allow_blocs and norm in EXTRA_JURISDICTIONS):
        return norm
    raise ValueError(f"unknown ISO 3166-1 alpha-2 country code {code!r}")


def normalise_hs(code: str) -> str:
    """Strip the dots and spaces people write into HS codes ("8505.11" -> "850511")."""
    return re.sub(r"[.\s]", "", str(code))


def check_hs_code(code: str) -> str:
    """A part's HS code: exactly six digits of the Harmonized System nomenclature."""
    norm = normalise_hs(code)
    if not _HS_FULL.match(norm):
        raise ValueError(f"malformed HS code {code!r}: expected 6 digits, e.g. 850511 or 8505.11")
    return norm


def check_hs_prefix(code: str) -> str:
    """A measure's HS scope: a chapter (2), heading (4) or subheading (6 digits)."""
    norm = normalise_hs(code)
    if not _HS_PREFIX.match(norm):
        raise ValueError(f"malformed HS code {code!r}: expected 2, 4 or 6 digits")
    return norm


def check_element(symbol: str) -> str:
    """A chemical element symbol, case as in the periodic table ("Dy", not "DY")."""
    sym = symbol.strip()
    if sym in ELEMENTS:
        return sym
    fixed = sym[:1].upper() + sym[1:].lower()
    if fixed in ELEMENTS:
        return fixed
    raise ValueError(f"unknown chemical element {symbol!r}")
