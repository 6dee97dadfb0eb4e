"""Every form can be filled in through its generated HTML form: the posted fields come back as the
same answer the CLI/API would send. Plus the timeline SVG."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from starlette.datastructures import FormData

from dashboard.formgen import assign_errors, form_fields, parse_form, split_errors
from dashboard.gantt import gantt_svg
from models.forms import FORMS, get_form
from models.tables import StageRun, StageStatus
from tests.support.drive import answer_for


def _posted(kind: str, answer: dict[str, Any]) -> FormData:
    """What a browser posts for `answer`: checkboxes only when ticked, lists one per line, groups as
    numbered rows (plus the empty extra rows the page shows)."""
    items: list[tuple[str, str]] = []
    specs = {s.name: s for s in form_fields(kind)}
    for name, value in answer.items():
        spec = specs[name]
        if spec.kind == "group":
            for i, row in enumerate(value):
                items += [
                    (f"{name}.{i}.{k}", "on" if v is True else str(v))
                    for k, v in row.items()
                    if v is not False
                ]
            items += [(f"{name}.{len(value)}.{sub.name.rsplit('.', 1)[1]}", "") for sub in spec.rows[0]]
        elif spec.kind == "lines":
            items.append((name, "\n".join(value) + "\n"))
        elif spec.kind == "checkbox":
            if value:
                items.append((name, "on"))
        else:
            items.append((name, str(value)))
    return FormData(items)


@pytest.mark.parametrize("kind", sorted(FORMS))
def test_every_form_round_trips_through_html_fields(kind: str) -> None:
    answer = answer_for(kind)
    model = get_form(kind)
    expected = model.model_validate(answer).model_dump(mode="json")
    parsed = parse_form(kind, _posted(kind, answer))
    assert model.model_validate(parsed).model_dump(mode="json") == expected


def test_fields_carry_danish_labels_and_kinds() -> None:
    fields = {f.name: f for f in form_fields("samarbejdsaftale")}
    assert fields["maal"].kind == "lines" and fields["maal"].label == "Mål"
    assert fields["kontaktpersoner"].kind == "group" and fields["kontaktpersoner"].required
    assert [s.label for s in fields["kontaktpersoner"].rows[0]] == ["Navn", "Rolle", "E-mail"]
    assert fields["underskrevet_dato"].kind == "date"
    assert fields["antal_workshops"].value == 3  # the model's default is shown
    assert {f.name: f.kind for f in form_fields("moedeplan")}["tidspunkt"] == "datetime"
    assert form_fields("arbejdsgruppe")[0].rows[0][1].options == [
        "faglig_leder",
        "myndighed",
        "almenomraade",
        "andet",
    ]


def test_errors_land_next_to_their_fields() -> None:
    fields = form_fields("samarbejdsaftale")
    by_field, general = split_errors(
        [
            "maal.0: skal udfyldes",
            "kontaktpersoner.0.email: har et ugyldigt format",
            "formularen: Noget andet",
        ]
    )
    assert general == ["Noget andet"]
    leftover = assign_errors(fields, by_field)
    named = {f.name: f for f in fields}
    assert leftover == []
    assert named["maal"].error == "skal udfyldes"
    assert named["kontaktpersoner"].rows[0][2].error == "har et ugyldigt format"


def test_gantt_draws_planned_actual_and_late_bars() -> None:
    def stage(
        pos: int, key: str, status: StageStatus, start: date, end: date, actual: tuple[int, int] | None
    ) -> StageRun:
        return StageRun(
            course_id=1,
            stage_key=key,
            position=pos,
            name=key.capitalize(),
            status=status,
            planned_start=start,
            planned_end=end,
            actual_start=datetime(2026, 1, actual[0], 9, tzinfo=UTC) if actual else None,
            actual_end=datetime(2026, 1, actual[1], 9, tzinfo=UTC) if actual and actual[1] else None,
        )

    svg = gantt_svg(
        [
            stage(1, "behovsafklaring", StageStatus.DONE, date(2026, 1, 5), date(2026, 1, 16), (5, 14)),
            stage(2, "samarbejdsaftale", StageStatus.ACTIVE, date(2026, 1, 19), date(2026, 1, 23), (15, 0)),
            stage(3, "arbejdsgruppe", StageStatus.PLANNED, date(2026, 1, 26), date(2026, 2, 6), None),
        ],
        today=date(2026, 1, 28),
    )
    assert svg.count('class="g-planned"') == 3
    assert svg.count('class="g-actual"') == 1  # done in time
    assert svg.count('class="g-actual g-late"') == 1  # still running after its planned end
    assert 'class="g-today"' in svg and "Samarbejdsaftale: i gang" in svg
    assert "<script" not in svg
