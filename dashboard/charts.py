"""The Nøgletal page's charts: SVG drawn on the server by pygal, shown as `<img src="data:...">`.

pygal (a kept-up SVG charting library, no browser needed) writes its styles into the SVG and adds a
script for tooltips. As an image the SVG is its own document: the page's CSP (`style-src 'self'`,
`script-src 'self'`) does not apply inside it, a browser never runs an image's scripts, and it loads
nothing (the tooltip script and its CDN address are switched off: `js=[]`, and what is left of the
script is cut out). Every chart has a text alternative, and the same numbers are in a table beside
it and in the exports."""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from services.evaluation import QuestionResult
from services.kpi import ConsultantRow, MonthRow, StageLeadTime

COLOURS = ("#1f5f8b", "#e07b39", "#7a9e3b", "#8c5d9f")
_SCRIPT = re.compile(rb"<script.*?</script>", re.S)


@lru_cache(maxsize=1)
def _style() -> Any:
    from pygal.style import Style

    return Style(
        background="#ffffff",
        plot_background="#ffffff",
        foreground="#1d2731",
        foreground_strong="#1d2731",
        foreground_subtle="#5b6b7a",
        colors=COLOURS,
        font_family="system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif",
        label_font_size=12,
        major_label_font_size=12,
        legend_font_size=13,
        title_font_size=15,
        value_font_size=11,
        tooltip_font_size=12,
        transition="0s",
    )


def _config(height: int, **extra: Any) -> dict[str, Any]:
    return {
        "style": _style(),
        "js": [],  # no tooltip script, no CDN
        "width": 820,
        "explicit_size": True,  # width and height on the <svg>: the image has a natural size
        "height": height,
        "legend_at_bottom": True,
        "legend_at_bottom_columns": 3,
        "print_values": False,
        "show_y_guides": True,
        "truncate_label": 40,
        "truncate_legend": -1,
        "margin": 12,
        "no_data_text": "Ingen data i perioden",
        "disable_xml_declaration": False,
        **extra,
    }


def _data_uri(chart: Any) -> str:
    svg = _SCRIPT.sub(b"", chart.render())
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


def months_chart(months: Sequence[MonthRow]) -> str:
    import pygal

    chart = pygal.Bar(**_config(350, x_label_rotation=0, show_minor_x_labels=len(months) <= 18))
    chart.x_labels = [m.label for m in months]
    if len(months) > 18:
        chart.x_labels_major = [m.label for i, m in enumerate(months) if i % 3 == 0]
    chart.add("Startet", [m.started for m in months])
    chart.add("Afsluttet", [m.finished for m in months])
    return _data_uri(chart)


def lead_time_chart(stages: Sequence[StageLeadTime], with_programme: bool) -> str:
    import pygal

    chart = pygal.HorizontalBar(**_config(110 + 34 * max(len(stages), 1), x_title="Dage"))
    labels = [f"{s.programme_name}: {s.stage_name}" if with_programme else s.stage_name for s in stages]
    chart.x_labels = list(reversed(labels))  # HorizontalBar draws the first label at the bottom
    chart.add("Planlagt (median)", [s.planned_median_days for s in reversed(stages)])
    chart.add("Faktisk (median)", [s.actual_median_days for s in reversed(stages)])
    chart.add("Faktisk (p90)", [s.actual_p90_days for s in reversed(stages)])
    return _data_uri(chart)


def consultants_chart(rows: Sequence[ConsultantRow]) -> str:
    import pygal

    shown = list(rows[:15])
    chart = pygal.HorizontalBar(**_config(120 + 30 * max(len(shown), 1)))
    chart.x_labels = [r.consultant for r in reversed(shown)]
    chart.add("Aktive forløb", [r.active_courses for r in reversed(shown)])
    chart.add("Overskredne opgaver", [r.overdue_tasks for r in reversed(shown)])
    return _data_uri(chart)


SCALE_COLOURS = ("#b03a2e", "#e07b39", "#9a9a9a", "#7a9e3b", "#1f5f8b")


def evaluation_chart(questions: Sequence[QuestionResult]) -> str:
    """The scale questions: how many answered 1, 2, 3, 4 and 5, one stacked bar per question."""
    import pygal
    from pygal.style import Style

    scales = [q for q in questions if q.kind == "scale"]
    style = Style(**{**_style().to_dict(), "colors": SCALE_COLOURS})
    chart = pygal.HorizontalStackedBar(
        **{**_config(120 + 44 * max(len(scales), 1), x_title="Antal svar", truncate_label=60), "style": style}
    )
    chart.x_labels = [q.text for q in reversed(scales)]
    for score in range(1, 6):
        chart.add(str(score), [q.counts[score - 1] for q in reversed(scales)])
    return _data_uri(chart)
