"""The free text members and the operator write: one validated type per kind of field.

Every string a member or the operator types (a part number, a maker, a member's name, a crisis
scope, a token label) goes through :func:`clean_text`, which

1. trims ordinary white space (space, tab, CR, LF) at both ends;
2. refuses characters that hide or disguise text: control characters (Unicode category Cc),
   format characters (Cf: bidi overrides and isolates, zero-width space/joiner/non-joiner, word
   joiner, BOM, soft hyphen, tag characters), line and paragraph separators (Zl, Zp),
   private-use (Co), unassigned (Cn) and lone surrogates (Cs), the remaining default-ignorable
   code points (variation selectors, Hangul fillers, the combining grapheme joiner) and more
   than :data:`MAX_MARKS` combining marks in a row;
3. normalises to NFC (NFKC for part numbers), every space character (Zs) to U+0020 and, in
   single-line text, runs of spaces to one;
4. refuses anything that reads as a price (:func:`find_price`).

Part numbers also keep to :data:`PART_NUMBER_ALPHABET`. Errors are pydantic custom errors whose
message says what was wrong and where (``contains a format character U+202E (RIGHT-TO-LEFT
OVERRIDE) at position 7``), so an API answer names the field through ``loc`` and the problem
through the message. The rules, with examples accepted and refused, are in docs/exchange.md
("No prices in text").
"""

from __future__ import annotations

import re
import unicodedata
from functools import partial
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

Kind = Literal["line", "prose", "part_number"]

# Combining marks in a row: written languages need two or three (Vietnamese, pointed Hebrew);
# long runs are "Zalgo" text, drawn over the neighbouring lines to hide them.
MAX_MARKS = 4

# Part numbers as makers print them: letters, digits and the punctuation datasheets use
# ("BC847B,215", "ECU-7731-A", "74HC595D/T1", "GRM188R71H104KA93#"), single spaces inside.
PART_NUMBER_ALPHABET = "A-Z a-z 0-9 - . , / _ + # ( ) and single spaces"
_PART_NUMBER = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9\-.,/_+#() ]*[A-Za-z0-9\-.,/_+#()])?", re.ASCII)

# Default-ignorable code points outside Cf/Cn (DerivedCoreProperties.txt): they render as
# nothing, so "BC847B" and "BC847B" + U+FE0F would look the same and never match.
_INVISIBLE = (
    (0x034F, 0x034F),  # COMBINING GRAPHEME JOINER
    (0x115F, 0x1160),  # HANGUL CHOSEONG/JUNGSEONG FILLER
    (0x17B4, 0x17B5),  # KHMER VOWEL INHERENT AQ/AA
    (0x180B, 0x180F),  # MONGOLIAN FREE VARIATION SELECTORS
    (0x2800, 0x2800),  # BRAILLE PATTERN BLANK (not default-ignorable, but renders blank)
    (0x3164, 0x3164),  # HANGUL FILLER
    (0xFE00, 0xFE0F),  # VARIATION SELECTORS
    (0xFFA0, 0xFFA0),  # HALFWIDTH HANGUL FILLER
    (0xE0100, 0xE01EF),  # VARIATION SELECTORS SUPPLEMENT
)

_REFUSED_CATEGORIES = {
    "Cc": "a control character",
    "Cf": "a format character",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
    "Co": "a private-use character",
    "Cn": "an unassigned code point",
    "Cs": "a lone surrogate",
}

# unicodedata.name() knows no names for controls; these are the ones people actually send.
_CONTROL_NAMES = {
    0x00: "NULL",
    0x07: "BELL",
    0x08: "BACKSPACE",
    0x09: "CHARACTER TABULATION",
    0x0A: "LINE FEED",
    0x0B: "LINE TABULATION",
    0x0C: "FORM FEED",
    0x0D: "CARRIAGE RETURN",
    0x1B: "ESCAPE",
    0x7F: "DELETE",
    0x85: "NEXT LINE",
}


def char_name(ch: str) -> str:
    """``U+202E (RIGHT-TO-LEFT OVERRIDE)``: how messages name a character."""
    cp = ord(ch)
    name = _CONTROL_NAMES.get(cp) or unicodedata.name(ch, "")
    return f"U+{cp:04X} ({name})" if name else f"U+{cp:04X}"


def _invisible(cp: int) -> bool:
    return any(lo <= cp <= hi for lo, hi in _INVISIBLE)


def _refuse(code: str, message: str, **ctx: Any) -> PydanticCustomError:
    return PydanticCustomError(code, message, ctx or None)


def check_characters(text: str, *, prose: bool = False, start: int = 1) -> None:
    """Raise for the first character that hides or disguises text (see the module docstring).

    ``prose`` allows line feeds (a crisis scope has paragraphs); messages count positions from
    ``start`` (the position of ``text[0]`` in what the caller sent).
    """
    if text.isascii() and text.isprintable():  # the usual case, and none of it is refused
        return
    marks = 0
    for i, ch in enumerate(text, start=start):
        if ch == "\n" and prose:
            marks = 0
            continue
        cat = unicodedata.category(ch)
        what = _REFUSED_CATEGORIES.get(cat)
        if what is None and _invisible(ord(ch)):
            what = "an invisible character"
        if what is not None:
            raise _refuse(
                "forbidden_character",
                "contains {what} {char} at position {position}",
                what=what,
                char=char_name(ch),
                position=i,
            )
        marks = marks + 1 if cat in ("Mn", "Me") else 0
        if marks > MAX_MARKS:
            raise _refuse(
                "forbidden_character",
                "more than {limit} combining marks in a row at position {position}",
                limit=MAX_MARKS,
                position=i,
            )


# --- prices ---------------------------------------------------------------------------------

# ISO 4217 alphabetic codes in use (pycountry 2025 list; tests/unit/test_text.py checks that this
# copy still equals pycountry's, so domain/ needs no third-party code list at import).
CURRENCY_CODES = frozenset(
    """
    AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BHD BIF BMD BND BOB BOV BRL BSD BTN BWP
    BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN
    ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK
    JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD
    MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP
    PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP
    SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV
    WST XAD XAF XAG XAU XBA XBB XBC XBD XCD XCG XDR XOF XPD XPF XPT XSU XTS XUA XXX YER ZAR
    ZMW ZWG
    """.split()
)
# ISO 4217 codes that are also English words or engineering abbreviations ("ALL 3 plants",
# "22 AWG", "CAD 2", "AMD 7950X", "TOP 10", "SCR 25", "CRC 32", "GHS 07"): read as a currency
# only next to a decimal amount ("CAD 3.50"), never next to a whole number.
WORDLIKE_CODES = frozenset(
    "ALL AMD AWG BAM BOB BSD BTN CAD CDF COP CRC CUP CVE GEL GHS ILS IRR KGS MAD MDL MGA MNT "
    "MOP NAD NIO PEN PHP SAR SCR SDG SOS SVC TMT TOP TRY XXX XTS".split()
)
# Currency words read as a price after any amount ("35 cents", "0.35 euro", "12 yuan").
_PRICE_WORDS = (
    "euro euros eurocent eurocents cent cents ct cts dollar dollars buck bucks yen yuan rmb "
    "renminbi kuai pence penny pennies quid franc francs rappen rupee rupees paise peso pesos "
    "reais krona kronor krone kroner öre øre zloty zlotys złoty złotych zł grosz groszy forint "
    "lira lire ruble rubles rouble roubles kopek kopeks kopeck baht ringgit rupiah dinar dinars "
    "dirham dirhams riyal riyals rial rials shekel shekels hryvnia tenge евро руб рублей рубля "
    "доллар долларов"
).split()
# Words that are a currency only sometimes: "Euro 6" is an emission standard, "5 pounds" a
# weight, "RS 485" a serial bus; these read as a price next to a decimal amount only.
_WEAK_WORDS = "euro pound pounds won dong rand rs".split()
_CJK_MARKERS = "元 円 圓 圆 块 원 角".split()  # letters of their scripts: no word boundary


_STRONG_CODES = frozenset(c.casefold() for c in CURRENCY_CODES - WORDLIKE_CODES)
_AFTER_WORDS = _STRONG_CODES | frozenset(_PRICE_WORDS)  # read as a price after any amount
_BEFORE_WORDS = _STRONG_CODES | {"rmb"}  # read as a price before an amount
_WEAK = frozenset(c.casefold() for c in WORDLIKE_CODES) | frozenset(_WEAK_WORDS)
_MAGNITUDES = frozenset("k m mn mio bn mrd tsd".split())  # 12k EUR, 1.2 mio EUR
_PER = frozenset("per je pro".split())
_UNITS = frozenset(
    "pc pcs pce pces piece pieces unit units ea each stk stck stück st reel lot".split()
)

# The matching is two regular expressions anchored on amounts, with the words around them
# captured generically and looked up in the sets above: an alternation of 200 words in the
# pattern itself made every part number cost 60 µs to check; this costs a few.
_DEC = r"(?:\d+(?:[.,'\u066b\u066c]\d+)+|[.,\u066b]\d+)"  # has a decimal or group separator
_SEP = r"\s*(?:[:=]\s*)?[~≈]?\s*"  # "EUR: 12", "EUR ~0.35"
_WORD = r"[^\W\d_]+"
# An amount, then up to two words ("12 k EUR", "0.35 per piece") or a "/" and a unit. A word
# must end before any letter or digit: "26aed1" (a hex tag) is no price, "26aed" is.
_AFTER = re.compile(
    rf"(?:(?<![\d.,])(?P<dec>{_DEC})|(?<![^\W_])(?P<int>\d+))"
    rf"(?:{_SEP}(?P<w1>{_WORD})(?![^\W_])(?:\s*(?P<w2>{_WORD})(?![^\W_]))?"
    rf"|\s*/\s*(?P<unit>{_WORD}|1\s?k|1000|100)\b)?"
)
# A word, then an amount: "EUR 0.35", "USD 12", "CAD 3.50".
_BEFORE = re.compile(
    rf"(?<![^\W\d_])(?P<w>{_WORD})(?P<sep>{_SEP})(?:(?P<dec>{_DEC})|(?P<int>\d+))"
    rf"(?P<tail>\s?(?:k|m|mn|mio|bn|mrd|tsd)(?![^\W\d_]))?"
)
_AT = re.compile(rf"@\s*{_DEC}")
_DIGIT = re.compile(r"\d")


def _after(m: re.Match[str]) -> bool:
    dec = m["dec"] is not None
    w1, w2, unit = (x.casefold() if x else "" for x in (m["w1"], m["w2"], m["unit"]))
    if w1 and w1[0] in _CJK_MARKERS:
        return True
    if w1 in _MAGNITUDES and w2:  # "12 k EUR": the currency is the word after the magnitude
        w1, w2 = w2, ""
    if w1 in _AFTER_WORDS or (dec and w1 in _WEAK):
        return True
    # A decimal amount per piece: "0.35/pc", "0,35 per piece", "0.35 each".
    per_unit = unit in _UNITS or unit.replace(" ", "") == "1k" or unit in ("100", "1000")
    return dec and (per_unit or w1 in ("each", "ea") or (w1 in _PER and w2 in _UNITS))


def _before(m: re.Match[str]) -> bool:
    w = m["w"].casefold()
    if m["dec"] is not None:
        return w in _BEFORE_WORDS or w in _WEAK
    # A whole number after a code needs a space or a colon between ("EUR 12", not "ESP32"),
    # and must end there ("USD 12k", not "GBP 74HC595").
    end = m.end()
    rest = m.string[end : end + 1]
    ends = m["tail"] is not None or not (rest.isalnum() or rest == "_")
    return w in _BEFORE_WORDS and m["sep"] != "" and ends


def find_price(text: str) -> str | None:
    """The first fragment of ``text`` that reads as a price, or None.

    The text is NFKC-normalised first (and matched ignoring case), so full-width digits and
    letters ("０．３５ ＥＵＲ") read as what they look like. A price is: any currency symbol
    (category Sc: € $ £ ¥ ₹ ¢ ...); an ISO 4217 code or currency word next to an amount, in
    either order (:data:`WORDLIKE_CODES` and words like "euro" before a number only next to a
    decimal amount); a CJK currency character after an amount; a decimal amount per piece.
    """
    probe = unicodedata.normalize("NFKC", text)
    if text.isascii():
        if "$" in text:  # the only currency symbol in ASCII
            return "$"
    else:
        for ch in text + probe:
            if unicodedata.category(ch) == "Sc":
                return ch
    if not _DIGIT.search(probe):  # every rule below needs an amount
        return None
    hits = [m for m in _AFTER.finditer(probe) if _after(m)]
    hits += [m for m in _BEFORE.finditer(probe) if _before(m)]
    hits += list(_AT.finditer(probe))
    if not hits:
        return None
    first = min(hits, key=lambda m: m.start())
    return first.group(0).strip()


def check_no_price(text: str) -> None:
    fragment = find_price(text)
    if fragment is not None:
        raise _refuse(
            "price_in_text",
            'reads as a price ("{fragment}"): prices are never exchanged on the platform',
            fragment=fragment,
        )


# --- the types ------------------------------------------------------------------------------

_SPACES = re.compile(r" {2,}")


def clean_text(value: Any, *, kind: Kind = "line", max_length: int = 200) -> Any:
    """Check and normalise one text field; non-strings pass on to pydantic's type check."""
    if not isinstance(value, str):
        return value
    if len(value) > 4 * max_length + 64:  # bound the work before walking the characters
        raise _refuse("string_too_long", "at most {limit} characters", limit=max_length)
    prose = kind == "prose"
    text = value.strip(" \t\r\n")
    start = 1 + len(value) - len(value.lstrip(" \t\r\n"))
    if prose:  # a browser sends a textarea's line breaks as CR LF
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    check_characters(text, prose=prose, start=start)
    text = unicodedata.normalize("NFKC" if kind == "part_number" else "NFC", text)
    if not text.isascii():  # the only space character in ASCII is the space itself
        text = "".join(" " if unicodedata.category(c) == "Zs" else c for c in text)
    if not prose:
        text = _SPACES.sub(" ", text)
    text = text.strip(" \n")  # a NO-BREAK SPACE at an end is a space at an end now
    if kind == "part_number" and text and not _PART_NUMBER.fullmatch(text):
        bad = next((c for c in text if not _PART_NUMBER.fullmatch(f"A{c}A")), None)
        if bad is not None:
            raise _refuse(
                "part_number_alphabet",
                "contains {char}, which is not in the part-number alphabet ({alphabet})",
                char=char_name(bad),
                alphabet=PART_NUMBER_ALPHABET,
            )
        raise _refuse("part_number_alphabet", "must start with a letter or a digit")
    check_no_price(text)
    return text


def _text(kind: Kind, max_length: int) -> BeforeValidator:
    return BeforeValidator(partial(clean_text, kind=kind, max_length=max_length))


_LINE = "one line of text: no control, bidi or zero-width characters, no prices"
# Advertised to clients (OpenAPI); not enforced as a pattern, since full-width input is
# accepted and folded to ASCII first (the validator enforces the alphabet after that).
_PART_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9\-.,/_+#() ]*$"

PartNumber = Annotated[
    str,
    _text("part_number", 64),
    Field(
        min_length=1,
        max_length=64,
        description=f"manufacturer part number: {PART_NUMBER_ALPHABET}; no prices",
        json_schema_extra={"pattern": _PART_PATTERN},
    ),
]
MakerName = Annotated[
    str, _text("line", 100), Field(min_length=1, max_length=100, description=_LINE)
]
FamilyName = Annotated[
    str, _text("line", 100), Field(min_length=1, max_length=100, description=_LINE)
]
Name = Annotated[str, _text("line", 200), Field(min_length=1, max_length=200, description=_LINE)]
Contact = Annotated[str, _text("line", 500), Field(min_length=1, max_length=500, description=_LINE)]
Label = Annotated[str, _text("line", 200), Field(max_length=200, description=_LINE)]
ScopeText = Annotated[
    str,
    _text("prose", 5000),
    Field(max_length=5000, description="paragraphs of text (line feeds allowed); no prices"),
]
PlainText = Annotated[str, _text("line", 200), Field(max_length=200, description=_LINE)]
"""Any other single line of free text, up to 200 characters (may be empty)."""
