"""The evaluation form by personal link (issue 15): answered once without login, stored without a
name, CPR refused, closed once the consultant closes it; the consultant's task shows the count, and
the results per course and per programme show the scales as a chart and the free text."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from core.clock import today
from core.db import session_scope
from models.tables import Contact, EvaluationAnswer, EvaluationInvite, HumanTask, Notification, TaskStatus
from notifications import compose
from tests.support.web import _add_task, client, csrf_from, logged_in, seed_course

PEOPLE = (("Fiktiv Leder", "leder@kommune.example"), ("Fiktiv Rådgiver", "raadgiver@kommune.example"))
ANSWER = {"udbytte": "5", "redskaber": "4", "forankring": "3", "samarbejde": "5", "bedst": "Workshoppene"}


def _evaluation_sent() -> tuple[int, int, dict[str, str]]:
    """A course whose evaluation was mailed to two contact people: (course, task, email -> link path)."""
    course_id = seed_course(751)
    with session_scope() as session:
        for name, email in PEOPLE:
            session.add(Contact(course_id=course_id, name=name, role="Leder", email=email))
    title = "Registrér evalueringens besvarelser"
    due = today() + timedelta(days=14)
    task_id = _add_task(course_id, "evaluering", "evaluering", "evaluering", title, "konsulent", due)
    compose.enqueue_stage_messages(course_id, "evaluering")
    with session_scope() as session:
        invites = list(session.exec(select(EvaluationInvite).where(EvaluationInvite.course_id == course_id)))
        mails = list(session.exec(select(Notification).where(Notification.purpose == "evaluering")))
    links = {i.email: f"/evaluering/{i.token}" for i in invites}
    assert set(links) == {email for _, email in PEOPLE}
    for mail in mails:  # each person's mail carries that person's own link
        assert links[mail.recipient] in (mail.body_text or "")
    return course_id, task_id, links


def test_each_person_answers_once_by_link_anonymously_and_cpr_is_refused() -> None:
    course_id, _task_id, links = _evaluation_sent()
    anon = client()
    page = anon.get(links["leder@kommune.example"])
    assert page.status_code == 200 and "Send evalueringen" in page.text and "anonymt" in page.text
    assert "Fiktiv Leder" not in page.text
    token = csrf_from(page.text)

    refused = anon.post(
        links["leder@kommune.example"],
        data={**ANSWER, "bedst": "Sagen om 010190-1234", "redskaber": "", "csrf_token": token},
    )
    assert (
        refused.status_code == 422
        and "CPR-nummer" in refused.text
        and "Vælg et svar fra 1 til 5" in refused.text
    )
    assert "Sagen om 010190-1234" in refused.text  # shown again to correct, never stored
    no_csrf = anon.post(links["leder@kommune.example"], data=ANSWER)
    assert no_csrf.status_code == 403

    done = anon.post(links["leder@kommune.example"], data={**ANSWER, "csrf_token": token})
    assert done.status_code == 200 and "Tak for dit svar" in done.text
    again = anon.post(links["leder@kommune.example"], data={**ANSWER, "csrf_token": token})
    assert again.status_code == 410 and "allerede besvaret" in again.text
    assert anon.get(links["leder@kommune.example"]).status_code == 410
    assert anon.get("/evaluering/findes-ikke").status_code == 404

    with session_scope() as session:
        [answer] = session.exec(select(EvaluationAnswer).where(EvaluationAnswer.course_id == course_id))
        answered = {i.email: i.answered for i in session.exec(select(EvaluationInvite))}
    assert answer.answers == {
        "udbytte": 5,
        "redskaber": 4,
        "forankring": 3,
        "samarbejde": 5,
        "bedst": "Workshoppene",
    }
    assert not {"name", "email", "token", "invite_id"} & set(EvaluationAnswer.model_fields)
    assert "CPR" not in str(answer.answers) and "Fiktiv" not in str(answer.answers)
    assert answered == {"leder@kommune.example": True, "raadgiver@kommune.example": False}


def test_the_consultant_sees_the_count_and_the_results_and_a_closed_evaluation_takes_no_answers() -> None:
    course_id, task_id, links = _evaluation_sent()
    anon = client()
    token = csrf_from(anon.get(links["raadgiver@kommune.example"]).text)
    assert (
        anon.post(links["raadgiver@kommune.example"], data={**ANSWER, "csrf_token": token}).status_code == 200
    )

    assert client().get("/evalueringer").status_code == 303  # consultants only
    c = logged_in()
    task = c.get(f"/opgaver/{task_id}")
    assert task.status_code == 200
    assert (
        "<strong>1 af 2</strong> har besvaret evalueringen" in task.text and "Luk evalueringen" in task.text
    )
    assert "Antal besvarelser" not in task.text  # no count typed by hand

    course = c.get(f"/evalueringer?forloeb={course_id}")
    assert course.status_code == 200 and "1 af 2 har svaret" in course.text
    assert 'src="data:image/svg+xml;base64,' in course.text and "Workshoppene" in course.text
    assert "Fiktiv" not in course.text  # nobody's name next to the answers
    overview = c.get("/evalueringer?program=minoritetsetniske")
    assert overview.status_code == 200 and "1 svar fra 1 forløb" in overview.text
    assert "Workshoppene" in overview.text and "<td>5,0</td>" in overview.text
    old = c.get("/evalueringer?fra=2020-01-01&til=2020-12-31")
    assert old.status_code == 200 and 'id="no-answers"' in old.text

    with session_scope() as session:  # closed on the task (the close itself: the integration test)
        row = session.get(HumanTask, task_id)
        assert row is not None
        row.status = TaskStatus.COMPLETED
        session.add(row)
    closed = anon.get(links["leder@kommune.example"])
    assert closed.status_code == 410 and "Evalueringen er lukket" in closed.text
