"""The course timeline as an inline SVG Gantt chart, drawn on the server: one row per stage,
the planned period as a light bar and the actual period as a dark one, a line for today."""

from __future__ import annotations

from datetime import date, timedelta

from markupsafe import Markup, escape

from core.clock import COPENHAGEN, as_utc
from models.tables import StageRun, StageStatus

MONTHS = ["jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec"]
LABEL_W = 190
CHART_W = 720
ROW_H = 26
TOP = 28


def _local(value: object) -> date | None:
    from datetime import datetime

    if isinstance(value, datetime):
        return as_utc(value).astimezone(COPENHAGEN).date()
    return None


def gantt_svg(stages: list[StageRun], today: date) -> Markup:
    if not stages:
        return Markup('<p class="muted">Forløbet har endnu ingen faseplan.</p>')
    dates: list[date] = [today]
    for s in stages:
        dates += [s.planned_start, s.planned_end]
        dates += [d for d in (_local(s.actual_start), _local(s.actual_end)) if d]
    first = min(dates) - timedelta(days=3)
    last = max(dates) + timedelta(days=3)
    span = max((last - first).days, 1)

    def x(day: date) -> float:
        return LABEL_W + (day - first).days / span * CHART_W

    height = TOP + ROW_H * len(stages) + 10
    width = LABEL_W + CHART_W + 10
    parts = [
        f'<svg class="gantt" role="img" aria-label="Tidslinje: planlagt og faktisk forløb" '
        f'viewBox="0 0 {width} {height}" width="100%" xmlns="http://www.w3.org/2000/svg">',
        "<title>Tidslinje for forløbets faser (lys: planlagt, mørk: faktisk)</title>",
    ]
    month = date(first.year, first.month, 1)
    while month <= last:
        if month >= first and x(month) + 60 < LABEL_W + CHART_W:
            mx = x(month)
            parts.append(f'<line x1="{mx:.1f}" y1="{TOP - 6}" x2="{mx:.1f}" y2="{height}" class="g-grid"/>')
            parts.append(
                f'<text x="{mx + 3:.1f}" y="{TOP - 10}" class="g-month">'
                f"{MONTHS[month.month - 1]} {month.year}</text>"
            )
        month = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    for i, s in enumerate(stages):
        y = TOP + i * ROW_H
        status = {StageStatus.DONE: "afsluttet", StageStatus.ACTIVE: "i gang"}.get(s.status, "planlagt")
        parts.append(f'<text x="4" y="{y + 17}" class="g-label">{escape(s.name)}</text>')
        px1, px2 = x(s.planned_start), x(s.planned_end + timedelta(days=1))
        parts.append(
            f'<rect x="{px1:.1f}" y="{y + 4}" width="{max(px2 - px1, 2):.1f}" '
            f'height="{ROW_H - 8}" class="g-planned"><title>{escape(s.name)}: planlagt '
            f"{s.planned_start:%d.%m.%Y}–{s.planned_end:%d.%m.%Y}</title></rect>"
        )
        start = _local(s.actual_start)
        if start:
            end = _local(s.actual_end) or today
            late = end > s.planned_end
            ax1, ax2 = x(start), x(end + timedelta(days=1))
            cls = "g-actual g-late" if late else "g-actual"
            parts.append(
                f'<rect x="{ax1:.1f}" y="{y + 9}" width="{max(ax2 - ax1, 2):.1f}" '
                f'height="{ROW_H - 18}" class="{cls}">'
                f"<title>{escape(s.name)}: {status}, faktisk {start:%d.%m.%Y}–"
                f"{'' if not s.actual_end else f'{end:%d.%m.%Y}'}</title></rect>"
            )
    tx = x(today)
    parts.append(f'<line x1="{tx:.1f}" y1="{TOP - 6}" x2="{tx:.1f}" y2="{height}" class="g-today"/>')
    parts.append(f'<text x="{tx + 3:.1f}" y="{height - 2}" class="g-today-label">i dag</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
