"""Completing tasks through the generated HTML forms resumes the course (Prefect harness)."""

from __future__ import annotations

import re
from datetime import date

import pytest

from core.links import TaskLink, read_task_token
from core.settings import get_settings
from models.tables import StageStatus
from notifications.render import danish_date
from services import courses, read_model
from tests.support.drive import answer_for, open_tasks, run_until_wait
from tests.support.mail import SmtpServer
from tests.support.web import client, csrf_from, logged_in

pytestmark = pytest.mark.usefixtures("prefect_server")


def _current_stage(html: str) -> str:
    match = re.search(r'<dd id="current-stage">([^<(]+)', html)
    assert match
    return match.group(1).strip()


def test_consultant_completes_a_task_in_the_browser_form_and_the_stage_advances() -> None:
    c = logged_in("kk", "Konsulent K")
    course = courses.start_course("Odense", "minoritetsetniske", "Konsulent K", date(2026, 1, 5), actor="kk")
    assert course.flow_run_id and course.id
    run_until_wait(course.flow_run_id)
    inbox = c.get("/opgaver").text
    task_id = int(re.search(r'data-task="(\d+)"', inbox).group(1))  # type: ignore[union-attr]
    form = c.get(f"/opgaver/{task_id}").text
    assert "Dato for formødet" in form and "Aftalt fokus for forløbet" in form
    response = c.post(
        f"/opgaver/{task_id}",
        data={
            "csrf_token": csrf_from(form),
            "formoede_dato": "2026-01-12",
            "antal_formoeder": "1",
            "fokus": "Opsporing",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/forloeb/{course.id}?udfoert={task_id}"
    assert _current_stage(c.get(f"/forloeb/{course.id}").text) == "Behovsafklaring"
    run_until_wait(course.flow_run_id)
    page = c.get(f"/forloeb/{course.id}").text
    assert _current_stage(page) == "Samarbejdsaftale"
    assert "Opsporing" in page  # the answer is shown with the task
    assert "opgave udført" in page and ">kk<" in page  # audited with the user


def test_municipality_answers_through_the_link_it_was_mailed_without_an_account(smtp: SmtpServer) -> None:
    course = courses.start_course("Vejle", "minoritetsetniske", "Konsulent K", date(2026, 1, 5), actor="kk")
    assert course.flow_run_id and course.id
    run_until_wait(course.flow_run_id)
    for kind in ("behovsafklaring", "samarbejdsaftale"):
        task, *_ = open_tasks(course.id)
        assert task.kind == kind and task.id
        courses.complete_task(task.id, answer_for(kind), actor="kk")
        run_until_wait(course.flow_run_id)
    task, *_ = open_tasks(course.id)
    assert task.kind == "arbejdsgruppe" and task.assignee_role == "kommune" and task.id
    # The contact from the agreement got a mail with a link of their own (no login).
    [mail] = [m for m in smtp.mailbox.to("faglig.leder@kommune.example") if m.subject.startswith("Ny opgave")]
    assert mail.subject == 'Ny opgave til jer: "Registrér arbejdsgruppens medlemmer" - frist ' + danish_date(
        task.due_date
    )
    [text] = mail.parts("text/plain")
    url = re.search(r"http://\S+/k/(\S+)", text)
    assert url and url.group(0).startswith(get_settings().public_url)
    token = url.group(1)
    assert read_task_token(token) == TaskLink(task.id, course.id)
    anonymous = client()
    page = anonymous.get(f"/k/{token}").text
    data = {
        "csrf_token": csrf_from(page),
        "medlemmer.0.navn": "A Leder",
        "medlemmer.0.rolle": "faglig_leder",
        "medlemmer.1.navn": "B Rådgiver",
        "medlemmer.1.rolle": "myndighed",
    }
    refused = anonymous.post(f"/k/{token}", data=data)
    assert refused.status_code == 422 and "almenområdet" in refused.text
    data |= {"medlemmer.2.navn": "C Lærer", "medlemmer.2.rolle": "almenomraade"}
    done = anonymous.post(f"/k/{token}", data=data)
    assert done.status_code == 200 and "Tak for jeres svar" in done.text
    assert read_model.get_task(task.id).completed_by == "kommune: Vejle (link)"
    assert anonymous.get(f"/k/{token}").status_code == 410
    run_until_wait(course.flow_run_id)
    stages = {s.stage_key: s.status for s in read_model.course_detail(course.id).stages}
    assert stages["arbejdsgruppe"] == StageStatus.DONE and stages["dataindsamling"] == StageStatus.ACTIVE
