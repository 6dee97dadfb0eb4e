"""The CLI's fast table draws exactly what rich's table draws: text, styles and box characters."""

from __future__ import annotations

import io
import random

import pytest
from rich.console import Console

from forloeb.table import Table

WORDS = [
    "",
    " ",
    "Aarhus",
    "København",
    "Ærø",
    "Lyngby-Taarbæk",
    "minoritetsetniske",
    "Konsulent G",
    "7/11 Workshops med prøvehandlinger",
    "#3282 Opgave i Workshops med prøvehandlinger",
    "2026-11-19",
    "[red]2026-11-19 (overskredet)[/]",
    "[bold]fed[/] og ikke",
    "a [b] c",
    "løbenummer-uden-mellemrum-som-er-meget-langt",
    "  indrykket",
    "mellemrum  til sidst  ",
    "to\nlinjer",
    "tab\there",
    "kl. 10:00 og 11:30",
    ":smile: emoji",
    "日本語のテキスト",
    "e\u0301",
    "x" * 60,
    "ord " * 15,
]


def _draw(table: object, width: int, *, color: bool) -> str:
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=width,
        force_terminal=color,
        color_system="truecolor" if color else None,
        legacy_windows=False,
    )
    console.print(table)
    return buffer.getvalue()


def _random_table(rng: random.Random) -> Table:
    columns = rng.randint(1, 9)
    title = rng.choice([None, "", "Kommuner (98)", "[b]Opgaver[/] (12) med en lang titel der skal ombrydes"])
    table = Table(*(rng.choice(WORDS[2:]) for _ in range(columns)), title=title)
    for _ in range(rng.randint(0, 12)):
        table.add_row(*(rng.choice(WORDS) for _ in range(columns)))
    return table


def test_same_output_as_rich_on_random_tables() -> None:
    for seed in range(60):
        table = _random_table(random.Random(seed))
        for width in (12, 30, 45, 60, 80, 100, 140, 200, 400):
            for color in (False, True):
                expected = _draw(table.to_rich(), width, color=color)
                assert _draw(table, width, color=color) == expected, (seed, width, color)


def test_status_like_table_at_terminal_widths() -> None:
    """The shape `forloeb status` prints: ids, names, stages, markup for overdue dates."""
    rng = random.Random(1)
    table = Table("Nr", "Kommune", "Program", "Konsulent", "Status", "Fase", "Dage i fase", "Næste", "Frist")
    for number in range(1, 80):
        table.add_row(
            str(number),
            rng.choice(["Aarhus", "Lyngby-Taarbæk", "Ærø", "Frederikshavn"]),
            "minoritetsetniske",
            f"Konsulent {rng.choice('ABC')}",
            rng.choice(["Aktiv", "Fejlet", "I gang"]),
            f"{rng.randint(1, 11)}/11 {rng.choice(['Behovsafklaring', 'Workshops med prøvehandlinger'])}",
            str(rng.randint(-5, 400)),
            f"#{number * 7} Opgave i Genbesøg" if number % 3 else "",
            "[red]2026-11-19 (overskredet)[/]" if number % 5 == 0 else "2026-12-04",
        )
    for width in (40, 57, 80, 100, 132, 160, 220):
        for color in (False, True):
            assert _draw(table, width, color=color) == _draw(table.to_rich(), width, color=color)


def test_a_row_must_fill_every_column() -> None:
    with pytest.raises(ValueError):
        Table("a", "b").add_row("x")
