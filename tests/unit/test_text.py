"""The free-text types: what they accept, what they refuse and why (docs/exchange.md, "No prices
in text")."""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime
from typing import Any

import pycountry
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from supplyshock.domain import text
from supplyshock.domain.text import CURRENCY_CODES, clean_text, find_price
from supplyshock.exchange.catenax import ImportOptions
from supplyshock.exchange.schemas import ListingCreate, ListingUpdate, PartRef
from supplyshock.formats.catenax import current_days_of_supply, stock_quantity

# Real names and part numbers the exchange must take as they are.
LEGITIMATE = [
    "BC847B",
    "BC847B,215",  # NXP packaging suffix
    "ECU-7731-A",
    "NXP 74HC595",
    "74HC595D/T1",
    "1.5KE6.8A",  # a TVS diode: decimals inside a part number
    "GRM188R71H104KA93D",
    "LM317T (TO-220)",
    "MAX232CPE+",
    "ESP32",  # ESP was the Spanish peseta: a code glued to a whole number is not a price
    "AMD 7950X",  # AMD is the Armenian dram, but "7950X" is no amount
    "22 AWG wire",  # AWG is the Aruban florin: word-like codes need a decimal amount
    "ALL 3 plants",
    "TOP 10 parts",
    "CAD 2",
    "SCR 25",
    "CRC 32",
    "Euro 6 sensors",  # "euro" before a whole number is the emission standard
    "RS 485 transceivers",
    "USB 3.0",
    "100 pcs",
    "Nexperia",
    "Robert Bosch GmbH",
    "TDK",
    "ZF",
    "EURO-PARTS GmbH",  # EUR inside a word, and no amount
    "3M Deutschland GmbH",
    "Würth Elektronik",
    "Société Générale d'Électronique",
    "sales@163.com",  # "@" before a whole number is an e-mail domain, not a price
    "+49 30 1234 5678",
    "CVE-2024-1234",  # a hyphen between a code and a number is part-number punctuation
    "Export ban since 2025-10-04 on Nexperia chips",
    "Member 26aed1",  # a hex tag: "aed" (the dirham) runs on into a digit: no currency word
    "Lot 12eurx",
]

# Prices as an adversary writes them (the fragment find_price reports in brackets' place).
PRICES = [
    "BC847B 0.35 EUR/pc",
    "BC847B EUR 0.35",
    "BC847B 35ct",
    "€0.35",
    "0.35€",
    "US$0.35",
    "0.35 euro",
    "35 cents",
    "0,35 EUR/pc",
    "EUR0.35",
    "USD 12",
    "12usd",
    "０．３５ ＥＵＲ",  # full-width: NFKC reads it as "0.35 EUR"
    "BC847B0.35EUR",
    "BC847B,215 EUR",
    "0.35/pc",
    "0,35 per piece",
    "0.35 each",
    "5000 @ 0.35",
    "CAD 3.50",  # a word-like code next to a decimal amount
    "12k EUR",
    "EUR 1.2 mio",
    "1 000 EUR",
    "EUR: 12",
    "EUR ~0.35",
    "12 GBP",
    "0.35 Euro",
    "12 dollars",
    "5 quid",
    "0.35 pounds",
    "0.35元",
    "35 円",
    "12 yuan",
    "٠٫٣٥ EUR",  # Arabic-Indic digits and decimal separator
    "price ¢35",
    "₹ 30",
    "﹩12",  # SMALL DOLLAR SIGN, category Sc
]


@pytest.mark.parametrize("value", LEGITIMATE)
def test_legitimate_text_is_not_a_price(value: str) -> None:
    assert find_price(value) is None


@pytest.mark.parametrize("value", PRICES)
def test_a_price_in_text_is_found(value: str) -> None:
    assert find_price(value) is not None


def test_the_fragment_named_is_the_price_as_written() -> None:
    assert find_price("BC847B 0.35 EUR/pc") == "0.35 EUR"
    assert find_price("BC847B USD 12 net") == "USD 12"
    assert find_price("call us, 3€ off") == "€"


@pytest.mark.parametrize(
    ("value", "kind", "message"),
    [
        (
            "BC847B\u202e",
            "part_number",
            "format character U+202E (RIGHT-TO-LEFT OVERRIDE) at position 7",
        ),
        ("BC\u200b847B", "part_number", "format character U+200B (ZERO WIDTH SPACE) at position 3"),
        ("BC\u200d847B", "line", "U+200D (ZERO WIDTH JOINER)"),
        ("  BC\u202e", "line", "at position 5"),  # counted in what was sent, spaces included
        ("BC\u200c847B", "line", "U+200C (ZERO WIDTH NON-JOINER)"),
        ("\ufeffNexperia", "line", "U+FEFF (ZERO WIDTH NO-BREAK SPACE) at position 1"),
        ("Nex\u00adperia", "line", "U+00AD (SOFT HYPHEN)"),
        ("Nex\u2060peria", "line", "U+2060 (WORD JOINER)"),
        ("Nex\u2066peria\u2069", "line", "U+2066 (LEFT-TO-RIGHT ISOLATE)"),
        ("Nex\x00peria", "line", "control character U+0000 (NULL) at position 4"),
        ("Nex\x1bperia", "line", "U+001B (ESCAPE)"),
        ("Nex\x7fperia", "line", "U+007F (DELETE)"),
        ("Nex\x85peria", "line", "U+0085 (NEXT LINE)"),
        ("Nex\nperia", "line", "control character U+000A (LINE FEED)"),
        ("Nex\tperia", "prose", "control character U+0009 (CHARACTER TABULATION)"),
        ("Nex\u2028peria", "line", "line separator U+2028"),
        ("Nex\u2029peria", "prose", "paragraph separator U+2029"),
        ("Nex\ue000peria", "line", "private-use character U+E000"),
        ("Nex\U000f0000peria", "line", "private-use character U+F0000"),
        ("Nex\u0378peria", "line", "unassigned code point U+0378"),
        ("Nex\ud800peria", "line", "lone surrogate U+D800"),
        ("BC847B\ufe0f", "part_number", "invisible character U+FE0F (VARIATION SELECTOR-16)"),
        ("Nex\u3164peria", "line", "invisible character U+3164 (HANGUL FILLER)"),
        ("Nex\U000e0041peria", "line", "format character U+E0041 (TAG LATIN CAPITAL LETTER A)"),
        ("Ne" + "\u0301" * 5 + "x", "line", "more than 4 combining marks in a row at position 7"),
    ],
)
def test_characters_that_hide_text_are_refused(value: str, kind: Any, message: str) -> None:
    with pytest.raises(Exception) as exc:
        clean_text(value, kind=kind)
    assert message in str(exc.value)


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        ("  BC847B  215 ", "part_number", "BC847B 215"),  # trimmed, inner spaces collapsed
        ("ＢＣ８４７Ｂ", "part_number", "BC847B"),  # full-width look-alikes fold to ASCII (NFKC)
        ("BC847B\u00a0215", "part_number", "BC847B 215"),  # NO-BREAK SPACE is a space
        ("Wu\u0308rth", "line", "Würth"),  # NFC: one code point, as a keyboard types it
        ("Line one\r\nLine two\rthree", "prose", "Line one\nLine two\nthree"),
        ("\tRobert  Bosch GmbH\n", "line", "Robert Bosch GmbH"),
        ("\u00a0Nexperia\u3000", "line", "Nexperia"),  # spaces of any kind are trimmed
    ],
)
def test_text_is_trimmed_and_normalised(value: str, kind: Any, expected: str) -> None:
    assert clean_text(value, kind=kind) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("BC847B;215", "U+003B (SEMICOLON), which is not in the part-number alphabet"),
        ("BC847B\u2013215", "U+2013 (EN DASH)"),  # a dash that looks like "-" never matches it
        ("ВС847В", "U+0412 (CYRILLIC CAPITAL LETTER VE)"),  # Cyrillic look-alikes of "BC847B"
        ("-BC847B", "must start with a letter or a digit"),
    ],
)
def test_part_numbers_keep_to_their_alphabet(value: str, message: str) -> None:
    with pytest.raises(Exception) as exc:
        clean_text(value, kind="part_number")
    assert message in str(exc.value)


def test_embedded_currency_codes_are_pycountrys_iso_4217_list() -> None:
    assert {c.alpha_3 for c in pycountry.currencies} == CURRENCY_CODES
    assert text.WORDLIKE_CODES <= CURRENCY_CODES


def test_every_field_type_refuses_a_price_and_says_so() -> None:
    for name in ("PartNumber", "MakerName", "FamilyName", "Name", "Contact", "Label", "ScopeText"):
        adapter: TypeAdapter[str] = TypeAdapter(getattr(text, name))
        with pytest.raises(ValidationError) as exc:
            adapter.validate_python("X 0.35 EUR")
        (error,) = exc.value.errors()
        assert error["type"] == "price_in_text", name
        assert '"0.35 EUR"' in error["msg"]


def test_a_non_string_is_refused_by_the_type_check_not_turned_into_text() -> None:
    with pytest.raises(ValidationError) as exc:
        PartRef.model_validate({"part_number": 847, "maker": "Nexperia"})
    assert exc.value.errors()[0]["type"] == "string_type"


def _listing(**overrides: Any) -> dict[str, Any]:
    return {
        "kind": "need",
        "crisis_id": "c1",
        "part_number": "BC847B",
        "maker": "Nexperia",
        "quantity": 10,
        "region": "europe",
        "window_start": date(2026, 1, 1),
        "window_end": date(2026, 2, 1),
        **overrides,
    }


@pytest.mark.parametrize("field", ["quantity", "max_lots", "days_of_supply", "margin_per_unit"])
def test_booleans_are_never_read_as_numbers(field: str) -> None:
    for model, data in ((ListingCreate, _listing(**{field: True})), (ListingUpdate, {field: True})):
        with pytest.raises(ValidationError) as exc:
            model.model_validate(data)
        (error,) = exc.value.errors()
        assert error["loc"] == (field,) and error["type"] == "bool_is_not_a_number"


def test_numbers_are_never_read_as_flags_and_digit_strings_are_numbers() -> None:
    with pytest.raises(ValidationError) as exc:
        ListingCreate.model_validate(_listing(traceability=1))
    assert exc.value.errors()[0]["loc"] == ("traceability",)
    # HTML forms send text: "10000" is still ten thousand (the web pages rely on it).
    assert ListingCreate.model_validate(_listing(quantity="10000")).quantity == 10_000


def test_date_codes_are_ascii_digits() -> None:
    for bad in ("٢٣٤١", "２３４１", "2341\n1", "23\u200b41"):
        with pytest.raises(ValidationError):
            ListingCreate.model_validate(_listing(date_code=bad))
    assert ListingCreate.model_validate(_listing(date_code=" 2341 ")).date_code == "2341"


_HIDDEN = {"Cc", "Cf", "Sc", "Zl", "Zp", "Co", "Cn", "Cs"}


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=40), st.sampled_from(["line", "prose", "part_number"]))
def test_accepted_text_holds_no_control_format_or_currency_character(value: str, kind: Any) -> None:
    try:
        out = clean_text(value, kind=kind)
    except ValueError:  # PydanticCustomError is a ValueError
        return
    allowed = {"\n"} if kind == "prose" else set()
    assert all(unicodedata.category(c) not in _HIDDEN or c in allowed for c in out)
    assert find_price(out) is None
    assert out == out.strip(" \t\r\n")
    assert clean_text(out, kind=kind) == out  # what is stored passes again unchanged


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet=st.characters(categories=["L", "N", "P", "Zs"]), max_size=20),
    st.sampled_from(sorted(CURRENCY_CODES - text.WORDLIKE_CODES)),
    st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False),
)
def test_any_amount_beside_any_currency_code_is_refused(
    prefix: str, code: str, amount: Any
) -> None:
    figure = f"{amount:.2f}"
    for written in (f"{prefix} {figure} {code}", f"{prefix} {code} {figure}"):
        assert find_price(written) is not None, written


def test_a_catenax_quantity_or_days_of_supply_of_true_is_not_one() -> None:
    # The JSON Schema refuses these first; the mapping must not read them as 1 either.
    stock = {
        "positions": [
            {
                "allocatedStocks": [
                    {
                        "isBlocked": False,
                        "quantityOnAllocatedStock": {"value": True, "unit": "unit:piece"},
                    }
                ]
            }
        ]
    }
    quantity, problems = stock_quantity(stock)
    assert quantity == 0
    assert [p.path for p in problems] == [
        "positions[0].allocatedStocks[0].quantityOnAllocatedStock.value"
    ]
    days = {
        "allocatedDaysOfSupply": [
            {"amountOfAllocatedDaysOfSupply": [{"date": "2025-11-01", "daysOfSupply": True}]}
        ]
    }
    _, problems = current_days_of_supply(days, datetime(2025, 11, 3, tzinfo=UTC))
    assert problems and problems[0].path.endswith("daysOfSupply")


def test_catenax_import_options_check_their_text() -> None:
    for field, value in (("part_family", "discretes 0.35 EUR"), ("region", "europe\u202e")):
        with pytest.raises(ValidationError) as exc:
            ImportOptions.model_validate({"crisis_id": "c1", "region": "europe", field: value})
        assert exc.value.errors()[0]["loc"] == (field,)
    with pytest.raises(ValidationError):
        ImportOptions.model_validate({"crisis_id": "c1", "region": "europe", "date_code": "٢٣٤١"})
