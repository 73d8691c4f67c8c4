"""Direct identifiers in free text: what the screen looks for inside one cell, story or name.

Split from ``screen.py`` (which walks files, headers and columns) so that the patterns and
their rules sit together, each with its reason. The rules:

- **NHS number**: ten digits passing the modulus-11 check, written in any grouping (spaces or
  dashes, 3-3-4 or otherwise), with letters glued on ("NHS9434765919", "9434765919x",
  "nhs:943 476 5919"), dotted 3-3-4, as float text ("9434765919.0") or scientific
  ("9.434765919E+09"), in any script's digits, with zero-width characters between.
  Not an NHS number: a digit run of 11 or more (no 10-digit run is taken out of it), and
  anything inside a hex digest of 32, 40, 56, 64, 96 or 128 characters (pseudonymised keys
  are 64-character HMAC-SHA-256 digests and often hold ten decimal digits in a row).
- **Full postcode**: outward and inward code, in any case, with 0-3 spaces between them (pcds
  "CV1 2AB", unspaced "CV12AB", ONS pcd7 "B1  1AA", pcd8 "B1   1AA"). An outward code alone
  ("CV1") is an area, not an address. "B2 3rd" written in lower case is an ordinal, not an
  inward code; "B2 3RD" counts.
- **Date of birth**: a full date (digits, ISO, "3 March 1990", "03-Mar-90", "March 3rd, 1990",
  19900303)
  within 30 characters after a cue: born, DOB, D.O.B., date of birth, birth date, birthday,
  bday ("born in Coventry on 3 March 1990"). A date on its own is an event, not a birth; a
  year ("born in 1990") or a month ("born in March 1990") is not a date of birth.
- **Street address**: a house number (1-3 digits, optional letter or range, optionally after
  "Flat 3,") then one to three capitalised words and a street word (Road, Street, Avenue,
  Lane, Close, Drive, Way, Crescent, Grove, Place, Court, Gardens, Terrace, Walk, Row, Square,
  Parade, Mews, Rise, Croft, View, ...). A street without a number ("Family Hub on Park Road")
  is a place anyone may name; a year ("in 2024 Foleshill Road ...") is not a house number.
  Hill, End, Green and Park are not street words here: "20 Tile Hill families" is a count.
- **E-mail address**, and **UK phone number**: 0 or +44/0044/44 (with "(0)" allowed) then a
  national number of 9 or 10 digits starting 1, 2, 3 or 7 (geographic, non-geographic and
  mobile; 08/09 freephone and premium numbers are services, not people).
- **File names**: the same, with underscores read as spaces, %-escapes decoded, and a date
  of birth after a cue in any separators ("dob_1990_03_03", "born19900303").
"""

from __future__ import annotations

import re
import unicodedata
from itertools import chain
from urllib.parse import unquote

SEP = "\x00"  # joins a column's values into one text: no pattern matches across it
_SPACES = r" \t\u00a0\u200b-\u200d\u2060\ufeff"  # and the zero-width ones
_SP = rf"[{_SPACES}]"  # never \s: cells are joined with NUL, and NUL must not join two cells
_DIGEST_LENGTHS = {32, 40, 56, 64, 96, 128}
_HEX_RUN = re.compile(r"(?<![0-9A-Fa-f])[0-9A-Fa-f]{32,}(?![0-9A-Fa-f])")
# Digits with at most one separator (1-2 spaces, or a dash/underscore with optional spaces)
# between any two; maximal, so a longer run is seen whole.
_DIGIT_RUN = re.compile(
    rf"[0-9](?<![0-9][0-9])(?:(?:{_SP}{{1,2}}|{_SP}?[-\u2010-\u2015_]{_SP}?)?[0-9]){{9,}}(?![0-9])"
)
# A quick first look for NHS and phone numbers: ten or more characters of digits and the
# separators either may use, a digit at each end. The exact patterns run only inside these.
_NUMBERISH = re.compile(rf"[0-9+(][0-9{_SPACES}_()+.\-\u2010-\u2015]{{8,}}[0-9]")
_DOTTED = re.compile(r"[0-9](?<![0-9.][0-9])[0-9]{2}\.[0-9]{3}\.[0-9]{4}(?![0-9]|\.[0-9])")
_DIGITS = re.compile(r"[0-9]+")
_SCIENTIFIC = re.compile(r"[0-9](?<![\w.][0-9])\.([0-9]{1,14})[eE]\+?([0-9]{1,2})(?!\w|\.[0-9])")
_OUTWARD = r"(?:[A-PR-UWYZ][0-9][0-9A-HJKPSTUW]?|[A-PR-UWYZ][A-HK-Y][0-9][0-9ABEHMNPRVWXY]?)"
_POSTCODE = re.compile(
    rf"(?<![A-Za-z0-9])(?:{_OUTWARD}|GIR){_SP}{{0,3}}[0-9][ABD-HJLNP-UW-Z]{{2}}(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_ORDINAL = re.compile(r"[0-9](?:st|nd|rd|th)", re.IGNORECASE)
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_DATE = (
    r"(?:\d{1,2}[/.\-]\d{1,2}[/.\-](?:\d{4}|\d{2})|\d{4}[/.\-]\d{1,2}[/.\-]\d{1,2}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?(?:\s+of)?[\s\-/]+{_MONTH}\.?[\s\-/,]+(?:\d{{4}}|\d{{2}})"
    rf"|{_MONTH}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}|(?:19|20)\d{{6}})"
)
_CUE = (
    r"(?<![a-z])(?:born|dob|d\.\s?o\.\s?b\.?|date\s+of\s+birth|birth\s*date|birth\s*day"
    r"|b'?day|date\s+born)(?![a-z])"
)
_BIRTH_CUES = ("born", "dob", "d.o.b", "d. o. b", "birth", "bday", "b'day")
_DOB = re.compile(rf"{_CUE}[^\d\x00]{{0,30}}?{_DATE}(?!\d)", re.IGNORECASE)
# In a file name any separators, or none, may sit between the cue and the date's parts.
_NAME_DOB = re.compile(
    rf"{_CUE}[\W_]*(?:(?:19|20)\d\d[\W_]?\d\d[\W_]?\d\d|\d\d[\W_]?\d\d[\W_]?(?:19|20)\d\d)"
    r"(?!\d)",
    re.IGNORECASE,
)
_STREET = (
    r"Road|Rd|Street|St|Avenue|Ave|Lane|Ln|Close|Drive|Dr|Way|Crescent|Cres|Grove|Place|Pl"
    r"|Court|Ct|Gardens|Gdns|Terrace|Tce|Walk|Row|Square|Sq|Parade|Mews|Rise|Croft|View"
    r"|Boulevard|Wharf|Yard|Chase|Approach|Broadway|Circus"
)
_ADDRESS = re.compile(
    rf"\d(?<![\w£$€.,:/\-]\d)\d{{0,2}}[A-Za-z]?(?:[-/]\d{{1,3}}[A-Za-z]?)?,?{_SP}+"
    rf"(?:[A-Z][A-Za-z'\u2019\-]*{_SP}+){{1,3}}(?i:{_STREET})(?![\w'\u2019])"
)
_EMAIL_LOCAL = re.compile(r"[\w.%+\-]{1,64}$")
_EMAIL_DOMAIN = re.compile(r"[A-Za-z0-9](?:[\w\-]*[A-Za-z0-9])?(?:\.[\w\-]+)*\.[A-Za-z]{2,}")
_PHONE = re.compile(
    rf"(?<![\w+])(?:(?:\+|00)?{_SP}?44{_SP}?[\-]?{_SP}?(?:\(0\){_SP}?)?|\(?0)[1237]"
    rf"(?:[{_SPACES}\-)]{{0,2}}\d){{8,9}}(?!\d)"
)


def nhs_number_valid(digits: str) -> bool:
    """Modulus 11: weights 10..2 on the first nine digits; check digit 11 - (sum mod 11)."""
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


def mask_digests(text: str) -> str:
    """Hex digests (pseudonymised keys) blanked with '#', keeping every position."""

    def blank(m: re.Match) -> str:
        return "#" * len(m.group()) if len(m.group()) in _DIGEST_LENGTHS else m.group()

    return _HEX_RUN.sub(blank, text)


def is_digest(value: str) -> bool:
    value = value.strip()
    return len(value) in _DIGEST_LENGTHS and _HEX_RUN.fullmatch(value) is not None


def _nhs_number(text: str) -> int | None:
    runs = (
        run
        for span in _NUMBERISH.finditer(text)
        for run in _DIGIT_RUN.finditer(text, span.start(), span.end())
    )
    for run in runs:
        groups = list(_DIGITS.finditer(run.group()))
        for i, first in enumerate(groups):
            digits = ""
            for group in groups[i:]:
                digits += group.group()
                if len(digits) >= 10:
                    break
            if len(digits) == 10 and nhs_number_valid(digits):
                return run.start() + first.start()
    for span in _NUMBERISH.finditer(text):
        for m in _DOTTED.finditer(text, span.start(), span.end()):
            if nhs_number_valid(m.group().replace(".", "")):
                return m.start()
    for m in _SCIENTIFIC.finditer(text):
        whole, fraction, exponent = m.group()[0], m.group(1), int(m.group(2))
        if exponent >= len(fraction):
            digits = whole + fraction + "0" * (exponent - len(fraction))
            if nhs_number_valid(digits):
                return m.start()
    return None


def _postcode(text: str) -> int | None:
    for m in _POSTCODE.finditer(text):
        inward = m.group()[-3:]
        if _ORDINAL.fullmatch(inward) and not inward.isupper():
            continue  # "b2 3rd": an ordinal in running text
        return m.start()
    return None


def _date_of_birth(text: str) -> int | None:
    lower = text.lower()
    if not any(cue in lower for cue in _BIRTH_CUES):
        return None
    m = _DOB.search(text)
    return m.start() if m else None


def _email(text: str) -> int | None:
    at = text.find("@")
    while at != -1:
        local = _EMAIL_LOCAL.search(text, max(0, at - 64), at)
        if local and _EMAIL_DOMAIN.match(text, at + 1):
            return local.start()
        at = text.find("@", at + 1)
    return None


def _phone(text: str) -> int | None:
    for span in _NUMBERISH.finditer(text):
        if m := _PHONE.search(text, span.start(), span.end()):
            return m.start()
    return None


def _address(text: str) -> int | None:
    m = _ADDRESS.search(text)
    return m.start() if m else None


DETECTORS = (
    ("an NHS number", _nhs_number),
    ("a full postcode", _postcode),
    ("a date of birth", _date_of_birth),
    ("a street address", _address),
    ("an e-mail address", _email),
    ("a phone number", _phone),
)
_ANY_DIGIT_OR_AT = re.compile(r"[0-9@]")
# Other scripts' digits (fullwidth, Arabic-Indic, ...) read as 0-9, one character for one.
_DIGIT_TABLE = {
    cp: ord("0") + unicodedata.decimal(chr(cp))
    for cp in chain(range(128, 0x10000), range(0x1D7CE, 0x1D800))
    if unicodedata.decimal(chr(cp), None) is not None
}


def first_identifier(text: str, *, masked: bool = False) -> tuple[int, str] | None:
    """(position, kind) of the earliest identifier in ``text``; hex digests never count
    (``masked``: they are already blanked by ``mask_digests``).

    Every pattern needs a digit or an '@', so text with neither is passed at once."""
    if not text.isascii():
        text = text.translate(_DIGIT_TABLE)
    if not _ANY_DIGIT_OR_AT.search(text):
        return None
    text = text if masked else mask_digests(text)
    found = [(pos, kind) for kind, detect in DETECTORS if (pos := detect(text)) is not None]
    return min(found) if found else None


def identifier_in_text(text: str) -> str | None:
    """The kind of the first identifier in free text ("an NHS number", "a full postcode",
    "a date of birth", "a street address", "an e-mail address", "a phone number"), else
    None. Never returns the value."""
    found = first_identifier(str(text))
    return found[1] if found else None


def identifier_in_name(name: str) -> str | None:
    """The kind of identifier a file name holds, so the door can log its SHA-256 instead."""
    text = unquote(str(name)).replace("_", " ")
    if _NAME_DOB.search(text):
        return "a date of birth"
    return identifier_in_text(text)
