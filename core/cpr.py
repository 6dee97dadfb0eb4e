"""Find things that look like Danish CPR numbers in free text, so they are never stored.

A CPR number is DDMMYY followed by four digits. The spellings found: `DDMMYYSSSS`, `DDMMYY-SSSS`
(also with '/', '.', one or two spaces or line breaks, or a dash such as '–' between the two parts,
with spaces around a dash), and the date written with dots or dashes, `DD.MM.YY-SSSS` /
`DD-MM-YY-SSSS`. Letters and punctuation around it do not matter; digits right before or after it
do (a longer number is something else: an account, a journal number).

The date must be valid (the century follows from the 7th digit, `stdnum.dk.cpr`). Modulus-11 is
NOT checked: since 2007 CPR numbers are issued that fail it, so a mod-11 check would let real
numbers through. The price is that some 10-digit numbers that start with a valid date are taken
for CPR numbers too; for an application about municipal practice that is the right side to err on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from core.errors import CprNumberFound

CPR_MESSAGE = (
    "Teksten ser ud til at indeholde et CPR-nummer. CPR-numre må ikke registreres i forløbet; "
    "brug en anonym sagsreference som 'sag-07'."
)

_SEP = r"(?:[-/.\u2010-\u2015\u2212]|\s{0,2}[-\u2010-\u2015\u2212]\s{0,2}|\s{1,2})"
_CANDIDATE = re.compile(
    r"(?<!\d)"
    r"(?:(\d{2})([.-]?)(\d{2})\2(\d{2}))"  # DDMMYY, DD.MM.YY or DD-MM-YY (the same mark twice)
    rf"{_SEP}?"
    r"(\d{4})(?!\d)"
)
"""Digits on both sides are excluded, so longer numbers (account numbers, phone numbers with a
prefix) do not produce a match in their middle."""


def _is_valid_cpr(digits: str) -> bool:
    # Imported here: every command that reads the database loads the forms (models.forms), and
    # few of them check a CPR number.
    from stdnum.dk import cpr as stdnum_cpr
    from stdnum.exceptions import ValidationError

    try:
        stdnum_cpr.get_birth_date(digits)
    except (ValidationError, ValueError):
        return False
    return True


def _found(text: str) -> Iterable[re.Match[str]]:
    for match in _CANDIDATE.finditer(text):
        if _is_valid_cpr(match.group(1) + match.group(3) + match.group(4) + match.group(5)):
            yield match


def contains_cpr(text: str) -> bool:
    """True if `text` holds something that is a valid CPR number by date rules."""
    return any(True for _ in _found(text))


def mask_cpr(text: str) -> str:
    """`text` with every CPR number replaced by 'XXXXXX-XXXX' (for logs)."""
    return _CANDIDATE.sub(
        lambda m: "XXXXXX-XXXX" if _is_valid_cpr(m.group(1) + m.group(3) + m.group(4) + m.group(5)) else m[0],
        text,
    )


def strings_in(value: object) -> Iterable[str]:
    """Every string inside nested dicts/lists/tuples (keys included)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings_in(key)
            yield from strings_in(item)
    elif isinstance(value, list | tuple | set):
        for item in value:
            yield from strings_in(item)


def any_contains_cpr(value: object) -> bool:
    return any(contains_cpr(s) for s in strings_in(value))


def refuse_cpr(*values: object) -> None:
    """Raise `CprNumberFound` (the Danish message, never the value) if any string in `values` -
    nested dicts and lists included - holds a CPR number. Every free-text input goes through this
    before anything is stored."""
    if any_contains_cpr(values):
        raise CprNumberFound(CPR_MESSAGE)
