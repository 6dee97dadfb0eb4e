"""Find things that look like Danish CPR numbers in free text, so they are never stored.

A CPR number is DDMMYY followed by four digits, optionally separated by '-', '/' or a space.
The date must be valid (the century follows from the 7th digit); modulus-11 is not required
since 2007, so it is not checked. `stdnum.dk.cpr` knows the date rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Digits on both sides are excluded, so longer numbers (account numbers, 8-digit phone
# numbers with a prefix) do not produce a match in their middle.
_CANDIDATE = re.compile(r"(?<![\d])(\d{6})[-/ ]?(\d{4})(?![\d])")


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


def contains_cpr(text: str) -> bool:
    """True if `text` holds something that is a valid CPR number by date rules."""
    return any(_is_valid_cpr(m.group(1) + m.group(2)) for m in _CANDIDATE.finditer(text))


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
