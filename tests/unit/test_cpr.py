from __future__ import annotations

import pytest

from core.cpr import any_contains_cpr, contains_cpr


@pytest.mark.parametrize(
    "text",
    [
        "0101001234",
        "010100-1234",
        "010100/1234",
        "010100 1234",
        "Sagen om 311299-4321 blev lukket",
        "2902004234",  # 29 Feb 2000 exists (7th digit 4 with year 00 means 2000)
        "150540-0000",  # modulus-11 is not required since 2007
        "01.01.00-1234",
        "01-01-00-1234",
        "010100 – 1234",
        "Barn:010100\n1234.",
        "ab010100.1234cd",
    ],
)
def test_finds_cpr_numbers(text: str) -> None:
    assert contains_cpr(text)


@pytest.mark.parametrize(
    "text",
    [
        "sag-07",
        "12345678",  # a phone number
        "+45 12 34 56 78",
        "tlf. 1234 5678",
        "3201001234",  # no 32nd day
        "0113001234",  # no 13th month
        "2902011234",  # 29 Feb 2001 does not exist
        "2902001234",  # 7th digit 1 with year 00 is 1900: no 29 February
        "010100-12345",  # too many digits: not a CPR number
        "journalnr. 20261231123456",
        "2026-03-03 10:00",
        "03.03.2026 kl. 10.00",
        "01.01.2026 1234",  # a four-digit year: a date, not a CPR number
        "01.01-00-1234",  # the date's two marks differ
    ],
)
def test_leaves_other_numbers_alone(text: str) -> None:
    assert not contains_cpr(text)


def test_searches_nested_values_and_keys() -> None:
    assert any_contains_cpr({"a": [{"b": "ok"}, {"c": "ref 010100-1234"}]})
    assert any_contains_cpr({"010100-1234": "x"})
    assert not any_contains_cpr({"a": [1, 2, {"b": "sag-01"}], "n": 1234567890})
