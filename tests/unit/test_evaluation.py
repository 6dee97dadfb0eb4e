"""The evaluation form (issue 15): its definition in every programme, the answer's validation (scales
1-5, free text with the CPR check), and the results: scales counted per score, free text listed,
per programme and period."""

from __future__ import annotations

from datetime import date

import pytest

from core.db import session_scope
from core.errors import InvalidInput
from models import programmes as definitions
from models.forms import CPR_MESSAGE
from models.programmes import EvaluationDef, EvaluationQuestion
from models.tables import Course, EvaluationAnswer
from services import evaluation

FORM = EvaluationDef(
    questions=(
        EvaluationQuestion(key="udbytte", text="Udbytte?", kind="scale"),
        EvaluationQuestion(key="samarbejde", text="Samarbejde?", kind="scale", low="Dårligt", high="Godt"),
        EvaluationQuestion(key="bedst", text="Bedst?", kind="text"),
    )
)


def test_every_programme_defines_an_evaluation_form_with_scales_and_free_text() -> None:
    for key in definitions.programme_keys():
        for (k, _version), programme in definitions.catalog().programmes.items():
            if k != key:
                continue
            assert programme.evaluation is not None, k
            kinds = {q.kind for q in programme.evaluation.questions}
            assert kinds == {"scale", "text"}, k


def test_aggregate_counts_each_score_lists_free_text_and_ignores_unknown_keys() -> None:
    answers = [
        {"udbytte": 5, "samarbejde": 4, "bedst": "Workshoppene"},
        {"udbytte": 4, "samarbejde": 4},
        {"udbytte": 5, "samarbejde": 2, "bedst": "Sparringen", "gammelt-spoergsmaal": 1},
        {"udbytte": 9},  # out of range: not counted
    ]
    udbytte, samarbejde, bedst = evaluation.aggregate(FORM.questions, answers)
    assert udbytte.counts == [0, 0, 0, 1, 2] and udbytte.answered == 3
    assert udbytte.mean == pytest.approx(14 / 3)
    assert samarbejde.counts == [0, 1, 0, 2, 0] and (samarbejde.low, samarbejde.high) == ("Dårligt", "Godt")
    assert bedst.texts == ["Workshoppene", "Sparringen"] and bedst.mean is None
    assert evaluation.aggregate(FORM.questions, [])[0].mean is None


def test_validate_requires_every_scale_and_refuses_cpr_numbers_in_free_text() -> None:
    assert evaluation.validate(FORM, {"udbytte": "5", "samarbejde": "1", "bedst": " Godt "}) == {
        "udbytte": 5,
        "samarbejde": 1,
        "bedst": "Godt",
    }
    assert evaluation.validate(FORM, {"udbytte": "3", "samarbejde": "3", "bedst": ""}) == {
        "udbytte": 3,
        "samarbejde": 3,
    }
    with pytest.raises(InvalidInput) as refused:
        evaluation.validate(FORM, {"udbytte": "6", "bedst": "Barnet 010190-1234 fik hjælp"})
    assert refused.value.details == {
        "udbytte": "Vælg et svar fra 1 til 5.",
        "samarbejde": "Vælg et svar fra 1 til 5.",
        "bedst": CPR_MESSAGE,
    }
    with pytest.raises(InvalidInput):
        evaluation.validate(FORM, {"udbytte": "1", "samarbejde": "1", "bedst": "x" * 2001})


def test_a_definition_with_duplicate_question_keys_or_an_evaluation_link_without_a_form_is_refused() -> None:
    text = (definitions.DEFINITIONS_DIR / "overgreb-v1.yaml").read_text(encoding="utf-8")
    with pytest.raises(definitions.DefinitionError, match="spørgsmål 'udbytte' findes allerede"):
        definitions.parse(text.replace("- key: beredskab\n      text:", "- key: udbytte\n      text:"), "x")
    start, end = text.index("\nevaluation:"), text.index("\ntracks:")
    with pytest.raises(definitions.DefinitionError, match="link: evaluation kræver et evaluation-afsnit"):
        definitions.parse(text[:start] + text[end:], "x")


def _course(programme: str, municipality_code: int = 751) -> int:
    with session_scope() as session:
        course = Course(
            municipality_code=municipality_code,
            programme=programme,
            programme_version=1,
            consultant="Konsulent K",
            start_date=date(2026, 1, 5),
        )
        session.add(course)
        session.flush()
        assert course.id is not None
        return course.id


def _answer(course_id: int, programme: str, day: date, answers: dict[str, object]) -> None:
    with session_scope() as session:
        session.add(
            EvaluationAnswer(
                course_id=course_id,
                programme=programme,
                programme_version=1,
                submitted_on=day,
                answers=answers,
            )
        )


def test_results_per_programme_period_and_course() -> None:
    first, second, other = _course("overgreb"), _course("overgreb", 461), _course("inddragelse")
    _answer(first, "overgreb", date(2026, 3, 2), {"udbytte": 5, "bedst": "Beredskabet"})
    _answer(first, "overgreb", date(2026, 3, 3), {"udbytte": 3})
    _answer(second, "overgreb", date(2026, 9, 1), {"udbytte": 1})
    _answer(other, "inddragelse", date(2026, 3, 2), {"udbytte": 4})

    everything = evaluation.results()
    assert [(r.programme, r.answers, r.courses) for r in everything] == [
        ("inddragelse", 1, 1),
        ("overgreb", 3, 2),
    ]
    spring = evaluation.results(programme="overgreb", start=date(2026, 1, 1), end=date(2026, 6, 30))
    [overgreb] = spring
    by_key = {q.key: q for q in overgreb.questions}
    assert by_key["udbytte"].counts == [0, 0, 1, 0, 1] and by_key["bedst"].texts == ["Beredskabet"]
    assert by_key["udbytte"].text.startswith("I hvilken grad")  # the programme's own question
    [one] = evaluation.results(course_id=second)
    assert one.answers == 1 and {q.key: q for q in one.questions}["udbytte"].counts == [1, 0, 0, 0, 0]


def test_the_kpi_report_carries_the_evaluation_scores_of_the_period() -> None:
    from services import kpi

    course = _course("overgreb")
    _answer(course, "overgreb", date(2026, 3, 2), {"udbytte": 5})
    _answer(course, "overgreb", date(2026, 3, 3), {"udbytte": 2})
    scores = kpi.evaluation_scores("overgreb", kpi.Period(date(2026, 1, 1), date(2026, 6, 30)))
    [udbytte] = [s for s in scores if s.answers]
    assert udbytte.mean == 3.5 and udbytte.question.startswith("I hvilken grad")
    assert kpi.evaluation_scores("overgreb", kpi.Period(date(2025, 1, 1), date(2025, 6, 30))) == []
