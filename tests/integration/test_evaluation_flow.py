"""The evaluering stage against the Prefect harness (issue 15): its mail gives each contact person
a personal link, those who have not answered are reminded on working days (5 and 10 working days
after, at most two), and closing the evaluation on the consultant's task completes the stage with
the counted answers; a closed evaluation takes no answers and sends no reminders."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import col, select

from core.clock import as_utc, frozen
from core.db import session_scope
from core.errors import Conflict
from core.workdays import add_working_days, is_working_day
from models.tables import EvaluationInvite, HumanTask, Notification, StageRun, StageStatus
from notifications import compose
from services import courses, evaluation, read_model, recovery
from tests.support.drive import answer_for, open_tasks, run_until_wait, state_of

pytestmark = pytest.mark.usefixtures("prefect_server")
SECOND = {"navn": "Fiktiv Rådgiver", "rolle": "Rådgiver", "email": "raadgiver@kommune.example"}
ANSWER = {"udbytte": "4", "beredskab": "5", "forankring": "3", "samarbejde": "5", "bedst": "Beredskabet"}


def _drive_to_the_evaluation(course_id: int, run_id: str) -> HumanTask:
    """Answer every task (waking the timer as the lead runner would) until the evaluation task is open."""
    for _ in range(100):
        assert state_of(run_id)[0] == "Suspended"
        tasks = open_tasks(course_id)
        if any(t.kind == "evaluering" for t in tasks):
            return next(t for t in tasks if t.kind == "evaluering")
        if not tasks:
            course = read_model.get_course(course_id)
            assert course.wake_at is not None
            with frozen(as_utc(course.wake_at) + timedelta(minutes=1)):
                recovery.repair_automatically(actor="runner-test")
                run_until_wait(run_id)
            continue
        answer = answer_for(tasks[0].kind)
        if "kontaktpersoner" in answer:  # two contact people: one answers, one is reminded
            answer["kontaktpersoner"] = [*answer["kontaktpersoner"], SECOND]
        courses.complete_task(tasks[0].id or 0, answer, actor="test")
        run_until_wait(run_id)
    raise AssertionError("the course never reached its evaluation")


def _reminders(course_id: int) -> list[Notification]:
    with session_scope() as session:
        return list(
            session.exec(
                select(Notification)
                .where(Notification.course_id == course_id, Notification.purpose == "evaluering_paamindelse")
                .order_by(col(Notification.id))
            )
        )


def test_the_evaluation_stage_mails_links_reminds_twice_and_closing_completes_it() -> None:
    course = courses.start_course("Aalborg", "overgreb", "Konsulent K", date(2026, 1, 5))
    assert course.id is not None and course.flow_run_id is not None
    course_id, run_id = course.id, course.flow_run_id
    run_until_wait(run_id)
    task = _drive_to_the_evaluation(course_id, run_id)

    with session_scope() as session:
        invites = list(session.exec(select(EvaluationInvite).where(EvaluationInvite.course_id == course_id)))
        mails = list(
            session.exec(
                select(Notification).where(
                    Notification.course_id == course_id, Notification.purpose == "evaluering"
                )
            )
        )
    assert len(invites) == 2 and len(mails) == len(invites)  # one mail each, with the person's own link
    for invite in invites:
        [mail] = [m for m in mails if m.recipient == invite.email]
        assert f"/evaluering/{invite.token}" in mail.body_text
    first, *others = invites
    evaluation.submit(first.token, ANSWER)
    with pytest.raises(Conflict):  # one answer per link
        evaluation.submit(first.token, ANSWER)

    sent = first.sent_on
    day = sent
    while day < add_working_days(sent, 25):  # every day for five weeks, weekends and holidays too
        ids = compose.enqueue_evaluation_reminders(day)
        if not is_working_day(day):
            assert ids == []
        day += timedelta(days=1)
    reminders = _reminders(course_id)
    assert sorted(r.recipient for r in reminders) == sorted(2 * [i.email for i in others])  # at most two
    assert first.email not in {r.recipient for r in reminders}  # who answered is not reminded
    assert {r.subject for r in reminders} == {"Påmindelse: evaluering af rådgivningsforløbet i Aalborg"}
    assert all(
        other.token in r.body_text for r in reminders for other in others if r.recipient == other.email
    )

    status = evaluation.status(course_id)
    assert (status.sent, status.answered, status.open_task_id) == (len(invites), 1, task.id)
    evaluation.close(task.id or 0, actor="Konsulent K", main_points="Godt udbytte")
    run_until_wait(run_id)
    with session_scope() as session:
        done = session.get(HumanTask, task.id)
        stage = session.exec(
            select(StageRun).where(StageRun.course_id == course_id, StageRun.stage_key == "evaluering")
        ).one()
    assert done is not None and done.answer == {
        "udsendt_dato": sent.isoformat(),
        "antal_besvarelser": 1,
        "hovedpointer": "Godt udbytte",
    }
    assert stage.status == StageStatus.DONE
    assert state_of(run_id)[0] == "Completed"  # overgreb ends with its evaluation
    with pytest.raises(Conflict, match="lukket"):
        evaluation.submit(others[0].token, ANSWER)
    assert compose.enqueue_evaluation_reminders(add_working_days(sent, 30)) == []
    [result] = evaluation.results(course_id=course_id)
    assert result.answers == 1
