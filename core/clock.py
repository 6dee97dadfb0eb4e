"""The one clock. Everything that needs "now" asks here, so tests can freeze time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
_frozen: datetime | None = None


def now() -> datetime:
    """Current time, timezone-aware (UTC)."""
    return _frozen if _frozen is not None else datetime.now(UTC)


def today() -> date:
    """Today's date in Copenhagen: the date people mean."""
    return now().astimezone(COPENHAGEN).date()


@contextmanager
def frozen(at: datetime) -> Iterator[None]:
    """Freeze `now()` at `at` (aware datetime) for the duration of the block."""
    global _frozen
    if at.tzinfo is None:
        raise ValueError("frozen() needs a timezone-aware datetime")
    before, _frozen = _frozen, at.astimezone(UTC)
    try:
        yield
    finally:
        _frozen = before


def as_utc(value: datetime) -> datetime:
    """SQLite hands timestamps back naive; they were stored as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def local_to_utc(value: datetime) -> datetime:
    """A time people typed (naive = Copenhagen time) as aware UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=COPENHAGEN)
    return value.astimezone(UTC)


def local_date(value: datetime) -> date:
    """A stored timestamp's Copenhagen date: the day people mean."""
    return as_utc(value).astimezone(COPENHAGEN).date()


def days_since(value: datetime | None, day: date) -> int | None:
    """Whole days from a stored timestamp's Copenhagen date to `day` (None for none)."""
    if value is None:
        return None
    return (day - local_date(value)).days


def format_local(value: datetime | None) -> str:
    """A stored timestamp as Copenhagen time, e.g. '03.03.2026 10.00' ('' for none)."""
    if value is None:
        return ""
    return as_utc(value).astimezone(COPENHAGEN).strftime("%d.%m.%Y %H.%M")
