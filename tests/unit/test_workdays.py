from __future__ import annotations

from datetime import date

from core.workdays import (
    add_months,
    add_working_days,
    holiday_name,
    is_working_day,
    next_working_day,
    previous_working_day,
    revisit_date,
    working_days_between,
)


def test_holidays_and_days_offices_close() -> None:
    assert holiday_name(date(2026, 12, 25)) == "Juledag"
    assert not is_working_day(date(2026, 12, 24))  # juleaftensdag (optional category)
    assert not is_working_day(date(2026, 6, 5))  # grundlovsdag
    assert not is_working_day(date(2026, 5, 1))  # 1. maj
    assert not is_working_day(date(2026, 12, 31))
    assert not is_working_day(date(2026, 4, 2))  # skærtorsdag
    assert is_working_day(date(2026, 5, 8))  # store bededag is gone from 2024
    assert not is_working_day(date(2026, 11, 28))  # a Saturday
    assert is_working_day(date(2026, 11, 23))


def test_moving_to_working_days() -> None:
    assert next_working_day(date(2026, 12, 24)) == date(2026, 12, 28)
    assert previous_working_day(date(2026, 12, 27)) == date(2026, 12, 23)
    assert previous_working_day(date(2026, 6, 5)) == date(2026, 6, 4)
    assert add_working_days(date(2026, 12, 23), 1) == date(2026, 12, 28)
    assert add_working_days(date(2026, 12, 28), -1) == date(2026, 12, 23)
    assert add_working_days(date(2026, 11, 23), 0) == date(2026, 11, 23)
    assert working_days_between(date(2026, 12, 23), date(2026, 12, 28)) == 1
    assert working_days_between(date(2026, 12, 28), date(2026, 12, 23)) == -1


def test_months_clamp_to_month_end() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2027, 8, 31), 6) == date(2028, 2, 29)
    assert add_months(date(2026, 11, 15), 2) == date(2027, 1, 15)


def test_revisit_lands_on_a_working_day() -> None:
    # 24 June + 6 months = 24 December (closed) → 28 December.
    assert revisit_date(date(2026, 6, 24), 6) == date(2026, 12, 28)
    assert revisit_date(date(2026, 6, 2), 6) == date(2026, 12, 2)
