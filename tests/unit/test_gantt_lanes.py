"""The Gantt chart: one lane per track for a programme with parallel tracks, none for one track."""

from __future__ import annotations

import re
from datetime import date, timedelta

from dashboard.gantt import gantt_svg
from models.tables import StageRun, StageStatus

DAY = date(2026, 3, 2)


def run(key: str, track: str, position: int, status: StageStatus = StageStatus.PLANNED) -> StageRun:
    start = DAY + timedelta(weeks=4 * position)
    return StageRun(
        course_id=1,
        stage_key=key,
        track=track,
        position=position,
        name=key.capitalize(),
        status=status,
        planned_start=start,
        planned_end=start + timedelta(weeks=4),
    )


def labels(svg: str) -> list[tuple[str, str]]:
    return re.findall(r'class="g-(lane-label|label)">([^<]+)<', svg)


def test_one_track_has_no_lanes() -> None:
    svg = str(gantt_svg([run("a", "hoved", 1), run("b", "hoved", 2)], DAY, [("hoved", "Hovedspor")]))
    assert "g-lane" not in svg
    assert labels(svg) == [("label", "A"), ("label", "B")]
    assert 'viewBox="0 0 920 90"' in svg  # 28 + 2 rows of 26 + 10, as before lanes


def test_each_track_gets_a_lane_in_the_programme_order() -> None:
    # Stage rows as read in any order: the lanes follow the programme's tracks, stages by number.
    stages = [
        run("x", "kompetence", 2),
        run("a", "hoved", 1),
        run("w", "kompetence", 1),
        run("b", "hoved", 2),
    ]
    svg = str(gantt_svg(stages, DAY, [("hoved", "Rådgivning"), ("kompetence", "Børns Vilkår")]))
    assert labels(svg) == [
        ("lane-label", "Rådgivning"),
        ("label", "A"),
        ("label", "B"),
        ("lane-label", "Børns Vilkår"),
        ("label", "W"),
        ("label", "X"),
    ]
    assert 'viewBox="0 0 920 186"' in svg  # 28 + 2 lane headers of 22 + 4 rows of 26 + 10
    # Without the programme (an unknown version): lanes by the tracks' keys, in the order seen.
    assert [t for _k, t in labels(str(gantt_svg(stages, DAY)))] == ["kompetence", "W", "X", "hoved", "A", "B"]
