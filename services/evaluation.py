"""The evaluation form (issue 15): answered by link, counted, closed, and its results.

When a stage message with `link: evaluation` is sent (`notifications.compose`), each recipient gets
an `EvaluationInvite` with a personal token. The form (`ProgrammeDef.evaluation`) is answered once
per link, without login; the answer is stored apart (`EvaluationAnswer`) without a name, an address
or a reference to the invite, so the consultant sees counts and results, never who answered what.
The evaluation is open while the course has an open task with form `evaluering`: the consultant
closes it on that task (`close`), which completes the task with the counted numbers, and the course
goes on as with any other answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from core.clock import today
from core.cpr import contains_cpr, refuse_cpr
from core.db import session_scope
from core.errors import AlreadyCompleted, Conflict, InvalidInput, NotFound
from models.forms import CPR_MESSAGE
from models.programmes import EvaluationDef, EvaluationQuestion, find_programme, latest_version
from models.tables import Course, EvaluationAnswer, EvaluationInvite, HumanTask, Municipality, TaskStatus

FORM = "evaluering"
"""The form of the consultant's task that the evaluation closes."""
MAX_TEXT = 2000


@dataclass(frozen=True)
class EvaluationLink:
    """What the public form page needs: nothing about who the person is."""

    course_id: int
    kommune: str
    programme: str
    form: EvaluationDef
    answered: bool
    closed: bool


@dataclass(frozen=True)
class EvaluationStatus:
    sent: int
    answered: int
    first_sent: date | None
    open_task_id: int | None
    """The consultant's open evaluation task (None: closed, or not begun)."""


def evaluation_of(programme: str, version: int) -> EvaluationDef | None:
    definition = find_programme(programme, version)
    return definition.evaluation if definition is not None else None


def _open_task(session: Session, course_id: int) -> HumanTask | None:
    return session.exec(
        select(HumanTask).where(
            HumanTask.course_id == course_id, HumanTask.kind == FORM, HumanTask.status == TaskStatus.OPEN
        )
    ).first()


def _invite(session: Session, token: str) -> EvaluationInvite:
    invite = session.exec(select(EvaluationInvite).where(EvaluationInvite.token == token)).first()
    if invite is None or not token:
        raise NotFound("Linket til evalueringen findes ikke.")
    return invite


def read_link(token: str) -> EvaluationLink:
    with session_scope() as session:
        invite = _invite(session, token)
        course = session.get(Course, invite.course_id)
        assert course is not None and course.id is not None
        form = evaluation_of(course.programme, course.programme_version)
        if form is None:
            raise NotFound("Forløbets program har intet evalueringsskema.")
        municipality = session.get(Municipality, course.municipality_code)
        definition = find_programme(course.programme, course.programme_version)
        return EvaluationLink(
            course_id=course.id,
            kommune=municipality.name if municipality else str(course.municipality_code),
            programme=definition.name if definition else course.programme,
            form=form,
            answered=invite.answered,
            closed=_open_task(session, course.id) is None,
        )


def validate(form: EvaluationDef, raw: Mapping[str, Any]) -> dict[str, Any]:
    """The answers by question key, or `InvalidInput` with `details` = {question key: message}."""
    answers: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for question in form.questions:
        value = str(raw.get(question.key) or "").strip()
        if question.kind == "scale":
            if value not in {"1", "2", "3", "4", "5"}:
                errors[question.key] = "Vælg et svar fra 1 til 5."
            else:
                answers[question.key] = int(value)
        elif len(value) > MAX_TEXT:
            errors[question.key] = f"Højst {MAX_TEXT} tegn."
        elif contains_cpr(value):
            errors[question.key] = CPR_MESSAGE
        elif not value and question.required:
            errors[question.key] = "Skal udfyldes."
        elif value:
            answers[question.key] = value
    if errors:
        raise InvalidInput("Ret de markerede svar og send igen.", details=errors)
    return answers


def submit(token: str, raw: Mapping[str, Any]) -> None:
    """Store one anonymous answer for the link's course; the link is used up in the same transaction."""
    with session_scope() as session:
        invite = _invite(session, token)
        course = session.get(Course, invite.course_id)
        assert course is not None and course.id is not None
        if invite.answered:
            raise AlreadyCompleted("Du har allerede besvaret evalueringen. Tak for dit svar.")
        if _open_task(session, course.id) is None:
            raise Conflict("Evalueringen er lukket, så der kan ikke længere svares.")
        form = evaluation_of(course.programme, course.programme_version)
        if form is None:
            raise NotFound("Forløbets program har intet evalueringsskema.")
        answers = validate(form, raw)
        used = session.execute(
            update(EvaluationInvite)
            .where(col(EvaluationInvite.id) == invite.id, col(EvaluationInvite.answered).is_(False))
            .values(answered=True)
        )
        if used.rowcount != 1:  # type: ignore[attr-defined]
            raise AlreadyCompleted("Du har allerede besvaret evalueringen. Tak for dit svar.")
        session.add(
            EvaluationAnswer(
                course_id=course.id,
                programme=course.programme,
                programme_version=course.programme_version,
                submitted_on=today(),
                answers=answers,
            )
        )


def status(course_id: int) -> EvaluationStatus:
    with session_scope() as session:
        sent, answered, first = session.exec(
            select(
                func.count(col(EvaluationInvite.id)),
                func.count(col(EvaluationInvite.id)).filter(col(EvaluationInvite.answered).is_(True)),
                func.min(EvaluationInvite.sent_on),
            ).where(EvaluationInvite.course_id == course_id)
        ).one()
        task = _open_task(session, course_id)
        return EvaluationStatus(int(sent), int(answered), first, task.id if task else None)


def close(task_id: int, *, actor: str, main_points: str = "") -> HumanTask:
    """Close the evaluation: complete the consultant's task with the counted numbers (the links stop
    taking answers, and reminders stop), and the course goes on."""
    from services.courses import complete_task

    refuse_cpr(main_points)
    with session_scope() as session:
        task = session.get(HumanTask, task_id)
        if task is None:
            raise NotFound(f"Opgave {task_id} findes ikke.")
        if task.kind != FORM:
            raise InvalidInput(f"Opgave {task_id} er ikke en evaluering.")
        course_id = task.course_id
    counted = status(course_id)
    answer = {
        "udsendt_dato": (counted.first_sent or today()).isoformat(),
        "antal_besvarelser": counted.answered,
        "hovedpointer": main_points,
    }
    return complete_task(task_id, answer, actor=actor, course_id=course_id)


# --- results ---------------------------------------------------------------------------------


@dataclass
class QuestionResult:
    key: str
    text: str
    kind: str
    low: str = ""
    high: str = ""
    counts: list[int] = field(default_factory=lambda: [0, 0, 0, 0, 0])
    """Answers 1..5 (scale)."""
    texts: list[str] = field(default_factory=list)
    """Free text answers (text)."""

    @property
    def answered(self) -> int:
        return sum(self.counts) if self.kind == "scale" else len(self.texts)

    @property
    def mean(self) -> float | None:
        total = sum(self.counts)
        if self.kind != "scale" or not total:
            return None
        return sum(score * n for score, n in enumerate(self.counts, start=1)) / total


@dataclass
class ProgrammeResults:
    programme: str
    name: str
    answers: int
    courses: int
    questions: list[QuestionResult]


def aggregate(
    questions: Iterable[EvaluationQuestion], answers: Iterable[dict[str, Any]]
) -> list[QuestionResult]:
    """Pure: scales counted per score (1-5), free text listed in order; unknown keys ignored."""
    results = {
        q.key: QuestionResult(
            q.key, q.text, q.kind, q.low if q.kind == "scale" else "", q.high if q.kind == "scale" else ""
        )
        for q in questions
    }
    for answer in answers:
        for key, value in answer.items():
            result = results.get(key)
            if result is None:
                continue
            if result.kind == "scale" and isinstance(value, int) and 1 <= value <= 5:
                result.counts[value - 1] += 1
            elif result.kind == "text" and isinstance(value, str) and value:
                result.texts.append(value)
    return list(results.values())


def results(
    *,
    programme: str | None = None,
    start: date | None = None,
    end: date | None = None,
    course_id: int | None = None,
) -> list[ProgrammeResults]:
    """Answers per programme (the newest version's questions; keys are kept across versions), for
    one course or answered within [start, end]."""
    query = select(EvaluationAnswer).order_by(col(EvaluationAnswer.id))
    if programme:
        query = query.where(EvaluationAnswer.programme == programme)
    if start:
        query = query.where(col(EvaluationAnswer.submitted_on) >= start)
    if end:
        query = query.where(col(EvaluationAnswer.submitted_on) <= end)
    if course_id is not None:
        query = query.where(EvaluationAnswer.course_id == course_id)
    with session_scope() as session:
        rows = [(a.programme, a.programme_version, a.course_id, a.answers) for a in session.exec(query)]
    found: list[ProgrammeResults] = []
    for key in sorted({r[0] for r in rows}):
        mine = [r for r in rows if r[0] == key]
        try:
            definition = latest_version(key)
        except KeyError:
            continue
        form = definition.evaluation or next(
            (e for e in (evaluation_of(key, v) for v in sorted({r[1] for r in mine}, reverse=True)) if e),
            None,
        )
        if form is None:
            continue
        found.append(
            ProgrammeResults(
                programme=key,
                name=definition.name,
                answers=len(mine),
                courses=len({r[2] for r in mine}),
                questions=aggregate(form.questions, (r[3] for r in mine)),
            )
        )
    return found
