"""The CLI's tables: rich's look, drawn fast enough for a listing of 1,000 courses.

`rich.table.Table` sends every cell through its general layout machinery (measure, pad, wrap,
crop, align): about 50 µs a cell on the 2-core test machine, so `forloeb status` with 1,000
courses (9,000 cells) spent ~0.45 s drawing its table. `Table` here takes what the commands use
(column headers, an optional title, rows of strings), computes the column widths with rich's own
rules, and draws the *plain* cells (one line of single-width characters, no markup, no emoji
code) with string operations, wrapping and cropping them the way rich does. Every other cell
(markup such as `[red]...[/]`, `:emoji:` codes, line breaks, wide characters) becomes rich's Text:
drawn by its own `render` when it fits on one line, by rich's cell layout when it must wrap; the
header row and the title go through rich too. The output is the same text, styles and box
characters as rich's table (tests/unit/test_cli_table.py draws both on random tables at many
widths, with and without colour, and compares); a width too narrow for the table is left to rich.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from rich.box import HEAVY_HEAD
from rich.cells import cell_len
from rich.measure import Measurement
from rich.padding import Padding
from rich.segment import Segment
from rich.style import Style

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.table import Table as RichTable
    from rich.text import Text

_PAD = (0, 1, 0, 1)  # rich's default cell padding: one space left and right


class Table:
    """A table of strings with a header row and an optional title, drawn like `rich.table.Table`
    with its defaults (heavy-head box, left-justified, wrapped, ellipsis, title centred)."""

    def __init__(self, *headers: str, title: str | None = None) -> None:
        self.headers = list(headers)
        self.title = title
        self.rows: list[tuple[str, ...]] = []

    def add_row(self, *cells: str) -> None:
        if len(cells) != len(self.headers):
            raise ValueError(f"{len(cells)} cells for {len(self.headers)} columns")
        self.rows.append(cells)

    def to_rich(self) -> RichTable:
        """The same table as a `rich.table.Table` (the reference the tests compare with)."""
        from rich.table import Table as RichTable

        table = RichTable(*self.headers, title=self.title)
        for row in self.rows:
            table.add_row(*row)
        return table

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        columns = len(self.headers)
        extra_width = columns + 1  # the vertical box lines
        if not columns or options.max_width - extra_width < 3 * columns:
            yield self.to_rich()  # too narrow to bother: rich's own layout, whatever it does
            return
        # Each cell as a plain str (drawn here) or a rich Text (drawn by rich), by column.
        cells = [[_cell(console, options, row[i]) for row in self.rows] for i in range(columns)]
        measured = [
            [_cell(console, options, header), *column]
            for header, column in zip(self.headers, cells, strict=True)
        ]
        widths = _column_widths(console, options.update_width(options.max_width - extra_width), measured)
        if min(widths) < 3:
            yield self.to_rich()
            return
        render_options = options.update(width=sum(widths) + extra_width, highlight=False, height=None)
        if self.title:
            title = console.render_str(self.title, style="table.title", highlight=False)
            yield from console.render(title, options=render_options.update(justify="center"))
        box = HEAVY_HEAD.substitute(render_options, safe=console.safe_box)
        border = console.get_style("") + console.get_style("")
        yield Segment(box.get_top(widths), border)
        yield Segment.line()
        # The header row through rich: bold, and aligned to the bottom when a header wraps.
        header_style = console.get_style("table.header") + console.get_style("")
        rendered = [
            _rich_cell(console, render_options, header, width, header_style)
            for header, width in zip(self.headers, widths, strict=True)
        ]
        height = max(len(lines) for lines in rendered)
        rendered = [
            Segment.set_shape(Segment.align_bottom(lines, width, height, header_style), width, height)
            for lines, width in zip(rendered, widths, strict=True)
        ]
        yield from _row_lines(rendered, box.head_left, box.head_vertical, box.head_right, border)
        yield Segment(box.get_row(widths, "head", edge=True), border)
        yield Segment.line()
        for index in range(len(self.rows)):
            edges = (
                (box.foot_left, box.foot_vertical, box.foot_right)
                if index == len(self.rows) - 1
                else (box.mid_left, box.mid_vertical, box.mid_right)
            )
            row = [column[index] for column in cells]
            yield from _body_row(console, render_options, row, widths, *edges, border)
        yield Segment(box.get_bottom(widths), border)
        yield Segment.line()


def _body_row(
    console: Console,
    options: ConsoleOptions,
    row: list[str | Text],
    widths: list[int],
    left: str,
    divider: str,
    right: str,
    border: Style,
) -> Iterator[Segment]:
    plain = [cell for cell in row if isinstance(cell, str)]
    if len(plain) == len(row):  # the common case: one string per line of the row
        texts = [_wrap_plain(cell, width - 2) for cell, width in zip(plain, widths, strict=True)]
        for line_no in range(max(len(lines) for lines in texts)):
            parts = [
                f" {lines[line_no]} " if line_no < len(lines) else " " * width
                for lines, width in zip(texts, widths, strict=True)
            ]
            yield Segment(left + divider.join(parts) + right)
            yield Segment.line()
        return
    null = Style.null()
    rendered = [
        [[Segment(f" {line} ")] for line in _wrap_plain(cell, width - 2)]
        if isinstance(cell, str)
        else _styled_line(console, cell, width) or _rich_cell(console, options, cell, width, null)
        for cell, width in zip(row, widths, strict=True)
    ]
    height = max(len(lines) for lines in rendered)
    rendered = [
        Segment.set_shape(Segment.align_top(lines, width, height, null), width, height)
        for lines, width in zip(rendered, widths, strict=True)
    ]
    yield from _row_lines(rendered, left, divider, right, border)


def _styled_line(console: Console, cell: Text, width: int) -> list[list[Segment]] | None:
    """A styled cell (say `[red]2026-11-19[/]`) that fits on one line, drawn as rich draws it
    (padded to the width, spans as they are); None when rich has to wrap it."""
    if "\n" in cell.plain or "\t" in cell.plain or cell.cell_len > width - 2:
        return None
    line = cell.copy()
    line.truncate(width - 2, overflow="ellipsis", pad=True)
    pad = Segment(" ", Style.null())
    return [[pad, *line.render(console), pad]]


def _rich_cell(
    console: Console, options: ConsoleOptions, cell: str | Text, width: int, style: Style
) -> list[list[Segment]]:
    """One cell's lines, drawn by rich as its table draws a cell."""
    cell_options = options.update(
        width=width, justify="left", no_wrap=False, overflow="ellipsis", height=None, highlight=False
    )
    return console.render_lines(Padding(cell, _PAD), cell_options, style=style)


def _cell(console: Console, options: ConsoleOptions, text: str) -> str | Text:
    """`text` itself when it is plain (drawn here), else rich's Text for it (markup parsed, emoji
    codes replaced, control codes removed), exactly as rich's table would make it."""
    if text.isprintable() and "[" not in text and text.count(":") < 2 and cell_len(text) == len(text):
        return text
    return console.render_str(text, markup=options.markup, highlight=False)


class _Measured:
    """Stands in for a column's cells when rich measures the column: its narrowest and widest."""

    def __init__(self, minimum: int, maximum: int) -> None:
        self.measurement = Measurement(minimum, maximum)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return self.measurement

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        return iter(())


def _measure_text(console: Console, options: ConsoleOptions, cell: str | Text) -> tuple[int, int]:
    """(longest word, longest line): what rich's `Text.__rich_measure__` returns."""
    if isinstance(cell, str):
        words = cell.split()
        return (max(map(len, words)) if words else len(cell)), len(cell)
    measurement = cell.__rich_measure__(console, options)
    return measurement.minimum, measurement.maximum


def _column_widths(console: Console, options: ConsoleOptions, columns: list[list[str | Text]]) -> list[int]:
    """Column widths with padding, by `rich.table.Table._calculate_column_widths` (no expand,
    no fixed widths): each column as wide as its widest cell; when the table is too wide, the
    widest columns shrink first, then all of them evenly."""
    proxies = []
    for column in columns:
        sizes = [_measure_text(console, options, cell) for cell in column]
        proxies.append(Padding(_Measured(max(s[0] for s in sizes), max(s[1] for s in sizes)), _PAD))

    def measure(width: int, proxy: Padding) -> Measurement:
        if width < 1:
            return Measurement(0, 0)
        return Measurement.get(console, options.update_width(width), proxy).with_maximum(width)

    max_width = options.max_width
    widths = [measure(max_width, proxy).maximum or 1 for proxy in proxies]
    if sum(widths) > max_width:
        from rich._ratio import ratio_reduce
        from rich.table import Table as RichTable

        widths = RichTable._collapse_widths(widths, [True] * len(widths), max_width)
        if sum(widths) > max_width:
            widths = ratio_reduce(sum(widths) - max_width, [1] * len(widths), widths, widths)
        widths = [measure(width, proxy).maximum or 0 for width, proxy in zip(widths, proxies, strict=True)]
    return widths


@lru_cache(maxsize=4096)
def _wrap_plain(text: str, width: int) -> list[str]:
    """A plain cell's lines, each exactly `width` wide: rich's `Text.wrap` (word wrap; a word
    longer than the line is cut with an ellipsis) and left justification, for single-width text.
    Cached: a listing repeats its names, stages and dates (callers do not change the list)."""
    if len(text) <= width:
        return [text.ljust(width)]
    from rich._wrap import divide_line

    offsets = divide_line(text, width, fold=False)
    lines = []
    for start, end in zip([0, *offsets], [*offsets, len(text)], strict=True):
        line = text[start:end]
        if len(line) > width:  # trailing spaces beyond the width go first (Text.rstrip_end)
            line = line[: len(line) - min(len(line) - len(line.rstrip()), len(line) - width)]
        lines.append(line[: width - 1] + "…" if len(line) > width else line.ljust(width))
    return lines


def _row_lines(
    cells: Sequence[list[list[Segment]]], left: str, divider: str, right: str, border: Style
) -> Iterator[Segment]:
    """Rows of rendered cells (all of one height) between the box's vertical lines."""
    for line_no in range(len(cells[0])):
        yield Segment(left, border)
        for index, cell in enumerate(cells):
            if index:
                yield Segment(divider, border)
            yield from cell[line_no]
        yield Segment(right, border)
        yield Segment.line()
