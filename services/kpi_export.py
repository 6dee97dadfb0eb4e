"""The Nøgletal tables (`services.kpi.Table`) as CSV and XLSX files, with Danish headers and dates.

CSV is what Danish Excel opens with a double click: UTF-8 with a byte order mark, `;` between
fields, decimal comma ("13,5"), dates dd.mm.åååå. XLSX (openpyxl, write-only: 10,000 courses in
about a second) holds real numbers and dates, shown as 13,5 and dd.mm.åååå by Excel's formats, one
sheet per table."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from datetime import date
from typing import Any

from services.kpi import Column, Table, danish_date

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def header(column: Column) -> str:
    return f"{column.header} (%)" if column.kind == "pct" else column.header


def csv_value(value: Any, column: Column) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return danish_date(value)
    if column.kind in ("days", "pct") and isinstance(value, int | float):
        return f"{value:.1f}".replace(".", ",")
    return str(value)


def to_csv(table: Table) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([header(c) for c in table.columns])
    for row in table.rows:
        writer.writerow([csv_value(v, c) for v, c in zip(row, table.columns, strict=True)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def sheet_name(title: str) -> str:
    """Excel's rules: at most 31 characters, none of []:*?/\\."""
    return re.sub(r"[\[\]:*?/\\]", "", title)[:31].strip()


def to_xlsx(tables: Sequence[Table]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    formats = {"date": "DD.MM.YYYY", "days": "0.0", "pct": "0.0", "int": "0"}
    for table in tables:
        sheet = workbook.create_sheet(sheet_name(table.title))
        for i, column in enumerate(table.columns):
            width = max(len(header(column)), 10 if column.kind != "text" else 14) + 2
            sheet.column_dimensions[_letter(i)].width = min(width, 40)
        heads = []
        for column in table.columns:
            cell = WriteOnlyCell(sheet, value=header(column))
            cell.font = bold
            heads.append(cell)
        sheet.append(heads)
        dated = [i for i, c in enumerate(table.columns) if c.kind in ("date", "days", "pct")]
        for row in table.rows:
            values: list[Any] = list(row)
            for i in dated:
                if values[i] is not None:
                    cell = WriteOnlyCell(sheet, value=values[i])
                    cell.number_format = formats[table.columns[i].kind]
                    values[i] = cell
            sheet.append(values)
        if table.note:
            sheet.append([])
            sheet.append([table.note])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return str(get_column_letter(index + 1))
