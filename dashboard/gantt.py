"""The course timeline as an inline SVG Gantt chart, drawn on the server: one row per stage,
the planned period as a light bar and the actual period as a dark one, a line for today.

A programme with parallel tracks gets one lane per track: a lane header with the track's name,
then its stages as rows (in the order of `lanes`, stages by their number within the track). A
one-track course looks as it always did."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from markupsafe import Markup, escape

from core.clock import local_date
from models.tables import StageRun, StageStatus

MONTHS = ["jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec"]
LABEL_W = 190
CHART_W = 720
ROW_H = 26
LANE_H = 22
TOP = 28


def _local(value: object) -> date | None:
    from datetime import datetime

    if isinstance(value, datetime):
        return local_date(value)
    return None


def _rows(stages: list[StageRun], lanes: Sequence[tuple[str, str]] | None) -> list[StageRun | str]:
    """What is drawn, top to bottom: a stage row, or a lane header (the track's name). Lanes only
    when the stages belong to more than one track."""
    tracks = list(dict.fromkeys(s.track for s in stages))
    if len(tracks) < 2:
        return list(stages)
    names = dict(lanes or ())
    order = [key for key, _name in lanes or () if key in tracks]
    order += [key for key in tracks if key not in order]
    rows: list[StageRun | str] = []
    for key in order:
        rows.append(names.get(key, key))
        rows += [s for s in sorted(stages, key=lambda s: s.position) if s.track == key]
    return rows


def gantt_svg(stages: list[StageRun], today: date, lanes: Sequence[tuple[str, str]] | None = None) -> Markup:
    """`lanes`: the programme's tracks as (key, name), in its order (the main track first)."""
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

    rows = _rows(stages, lanes)
    height = TOP + sum(LANE_H if isinstance(row, str) else ROW_H for row in rows) + 10
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
    y = TOP
    for item in rows:
        if isinstance(item, str):
            parts.append(
                f'<rect x="0" y="{y + 2}" width="{width}" height="{LANE_H - 4}" class="g-lane"/>'
                f'<text x="4" y="{y + LANE_H - 7}" class="g-lane-label">{escape(item)}</text>'
            )
            y += LANE_H
            continue
        s = item
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
        y += ROW_H
    tx = x(today)
    parts.append(f'<line x1="{tx:.1f}" y1="{TOP - 6}" x2="{tx:.1f}" y2="{height}" class="g-today"/>')
    parts.append(f'<text x="{tx + 3:.1f}" y="{height - 2}" class="g-today-label">i dag</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
