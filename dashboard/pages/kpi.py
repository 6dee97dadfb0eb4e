"""Nøgletal (issue 15): how the programmes perform in a period, for consultants and admins. The
numbers come from `services.kpi`; the charts are pygal SVG drawn here (`dashboard.charts`); every
table on the page downloads as CSV and XLSX (`services.kpi_export`), and so does one row per course
('forloeb'). The same numbers as JSON: `dashboard.api_kpi`.

    /noegletal?program=&fra=&til=           the page (period: dates, both included)
    /noegletal/<tabel>.csv | .xlsx           one table; `alle.xlsx`: every table, one sheet each
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from core.errors import InvalidInput, NotFound
from dashboard import charts
from dashboard.pages.common import User
from dashboard.templating import render
from services import kpi, kpi_export

router = APIRouter(include_in_schema=False)
EXPORTS = (*kpi.TABLE_KEYS, "forloeb")


def _date(value: str | None, what: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{what} skal være en dato (åååå-mm-dd), ikke '{value[:20]}'.") from None


def selection(request: Request) -> tuple[str | None, kpi.Period]:
    """The programme ('' or missing: all) and the period asked for (default: the last 12 months)."""
    p = request.query_params
    period = kpi.period_from(_date(p.get("fra"), "Fra"), _date(p.get("til"), "Til"))
    return (p.get("program") or None), period


def cell(value: Any, column: kpi.Column) -> str:
    """A table cell as the page shows it: 13,5 · 50,0 % · 03.03.2026 · – for nothing."""
    if value is None:
        return "–"
    if isinstance(value, date):
        return kpi.danish_date(value)
    if column.kind == "pct":
        return f"{value:.1f} %".replace(".", ",")
    if column.kind == "days":
        return f"{value:.1f}".replace(".", ",").removesuffix(",0")
    return str(value)


@router.get("/noegletal")
def kpi_page(request: Request, user: User) -> Response:
    programme, period = selection(request)
    report = kpi.cached_report(programme, period)
    with_programme = programme is None and len({s.programme for s in report.stages}) > 1
    return render(
        request,
        "kpi.html",
        {
            "r": report,
            "tables": {t.key: t for t in kpi.tables(report)},
            "programmes": kpi.programme_options(),
            "cell": cell,
            "charts": {
                "maaneder": charts.months_chart(report.months),
                "faser": charts.lead_time_chart(report.stages, with_programme),
                "konsulenter": charts.consultants_chart(report.consultants),
            },
            "with_programme": with_programme,
            "export_query": request.url.query,
        },
    )


@router.get("/noegletal/{name}.{fmt}")
def kpi_export_file(request: Request, user: User, name: str, fmt: str) -> Response:
    if fmt not in ("csv", "xlsx") or (name not in EXPORTS and not (name == "alle" and fmt == "xlsx")):
        raise NotFound(
            f"Der er ingen eksport '{name}.{fmt}'. Tabellerne: {', '.join(EXPORTS)} (csv eller xlsx)."
        )
    programme, period = selection(request)
    found: list[kpi.Table] = []
    if name != "forloeb":
        found = kpi.tables(kpi.report(programme, period))
        if name != "alle":
            found = [t for t in found if t.key == name]
    if name in ("forloeb", "alle"):
        found.append(kpi.course_table(kpi.course_rows(programme, period)))
    filename = (
        f"noegletal-{name}-{programme or 'alle'}-{period.start.isoformat()}-{period.end.isoformat()}.{fmt}"
    )
    if fmt == "csv":
        body, media_type = kpi_export.to_csv(found[0]), kpi_export.CSV_MEDIA_TYPE
    else:
        body, media_type = kpi_export.to_xlsx(found), kpi_export.XLSX_MEDIA_TYPE
    return Response(
        body, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )
