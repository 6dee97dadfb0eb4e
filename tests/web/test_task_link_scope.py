"""Issue 14: a municipality's (or a partner's) link opens exactly its own task, and a consultant can
revoke the links to a task: a revoked link shows a clear Danish page and changes nothing."""

from __future__ import annotations

from sqlmodel import select

from core.db import session_scope
from core.links import make_task_token, read_task_token
from models.tables import AuditEvent, HumanTask, TaskStatus
from tests.support.web import client, csrf_from, logged_in, open_tasks, seed_course, seed_two_track_course

AARHUS, ODENSE, VEJLE = 751, 461, 630


def _task(course_id: int, role: str = "kommune") -> HumanTask:
    (task,) = [t for t in open_tasks(course_id) if t.assignee_role == role]
    return task


def test_a_link_for_task_a_opens_and_submits_nothing_else() -> None:
    mine, other = seed_course(AARHUS, kommune_task=True), seed_course(ODENSE, kommune_task=True)
    a, b = _task(mine), _task(other)
    assert a.id is not None and b.id is not None
    c = client()
    token = make_task_token(a.id, mine)
    page = c.get(f"/k/{token}")
    assert page.status_code == 200 and f'action="/k/{token}"' in page.text
    csrf = csrf_from(page.text)
    # The browser that holds A's link is nobody anywhere else: not on B's page, B's form, the API.
    for method, path in (
        ("GET", f"/opgaver/{b.id}"),
        ("POST", f"/opgaver/{b.id}"),
        ("POST", f"/opgaver/{b.id}/kommunelink"),
        ("GET", f"/forloeb/{other}"),
        ("GET", f"/api/tasks/{b.id}"),
        ("POST", f"/api/tasks/{b.id}/complete"),
    ):
        response = c.request(method, path, data={"csrf_token": csrf} if method == "POST" else None)
        assert response.status_code in (303, 401), (method, path, response.status_code)
        if response.status_code == 303:
            assert response.headers["location"].startswith("/login")
    # The token names one task; pointing it at B means signing anew, which only the server can.
    assert read_task_token(token).task_id == a.id
    assert c.get(f"/k/{make_task_token(b.id, mine)}").status_code == 403  # B under A's course
    assert all(
        t.status == TaskStatus.OPEN and t.answer is None for t in (*open_tasks(mine), *open_tasks(other))
    )


def test_a_partner_link_sees_only_its_own_tracks_task() -> None:
    course_id = seed_two_track_course(VEJLE)
    kommune, partner = _task(course_id, "kommune"), _task(course_id, "boerns-vilkaar")
    assert kommune.id is not None and partner.id is not None
    c = client()
    page = c.get(f"/k/{make_task_token(partner.id, course_id)}")
    assert page.status_code == 200 and partner.title in page.text
    assert kommune.title not in page.text  # the municipality's task on the main track
    assert "/opgaver" not in page.text and "/forloeb/" not in page.text
    assert c.get(f"/opgaver/{kommune.id}").status_code == 303
    assert c.get(f"/api/tasks/{kommune.id}").status_code == 401
    # And the municipality's link shows the municipality's task, not Børns Vilkår's.
    other = client().get(f"/k/{make_task_token(kommune.id, course_id)}")
    assert other.status_code == 200 and kommune.title in other.text and partner.title not in other.text


def test_a_revoked_link_says_so_in_danish_and_changes_nothing() -> None:
    course_id = seed_course(AARHUS, kommune_task=True)
    task = _task(course_id)
    assert task.id is not None
    old = make_task_token(task.id, course_id)
    municipality = client()
    form = municipality.get(f"/k/{old}")
    assert form.status_code == 200
    csrf = csrf_from(form.text)

    consultant = logged_in()
    page = consultant.get(f"/opgaver/{task.id}").text
    assert "Træk links tilbage" in page
    revoked = consultant.post(
        f"/opgaver/{task.id}/kommunelink/tilbagekald", data={"csrf_token": csrf_from(page)}
    )
    assert revoked.status_code == 303
    assert "trukket tilbage" in consultant.get(revoked.headers["location"]).text

    for response in (
        municipality.get(f"/k/{old}"),
        municipality.post(f"/k/{old}", data={"csrf_token": csrf, "antal_medlemmer": "5"}),
    ):
        assert response.status_code == 410
        assert "Linket er trukket tilbage" in response.text and "Intet er ændret" in response.text
    (still,) = open_tasks(course_id)
    assert still.status == TaskStatus.OPEN and still.answer is None and still.completed_by is None
    with session_scope() as session:
        actions = [
            e.action for e in session.exec(select(AuditEvent).where(AuditEvent.course_id == course_id))
        ]
    assert actions.count("kommunelinks tilbagekaldt") == 1
    assert (
        "kommunelink åbnet" in actions and actions[-1] == "kommunelinks tilbagekaldt"
    )  # refused opens: not logged

    # A link made after the revocation (the page's button, a reminder's) works.
    fresh = consultant.post(f"/opgaver/{task.id}/kommunelink", data={"csrf_token": csrf_from(page)})
    assert fresh.status_code == 200
    assert client().get(f"/k/{make_task_token(task.id, course_id)}").status_code == 200
    assert client().get(f"/k/{old}").status_code == 410


def test_revoking_a_finished_tasks_links_is_refused() -> None:
    course_id = seed_course(AARHUS, kommune_task=True)
    task = _task(course_id)
    with session_scope() as session:
        row = session.get(HumanTask, task.id)
        assert row is not None
        row.status = TaskStatus.COMPLETED
        session.add(row)
    c = logged_in()
    csrf = csrf_from(c.get("/konto").text)
    response = c.post(f"/opgaver/{task.id}/kommunelink/tilbagekald", data={"csrf_token": csrf})
    assert response.status_code == 409 and "allerede udført" in response.text
