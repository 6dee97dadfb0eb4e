"""Who may see what: no login -> 401/redirect; a municipality link shows one task, nothing else."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from itsdangerous import URLSafeTimedSerializer

from core.clock import now
from core.db import session_scope
from core.links import LINK_SALT, make_task_token, secret_key
from models.tables import HumanTask, TaskStatus
from tests.support.web import client, csrf_from, logged_in, open_tasks, seed_course

AARHUS, ODENSE = 751, 461


def test_api_without_login_is_401_problem_json() -> None:
    c = client()
    for method, path in (("get", "/api/courses"), ("get", "/api/tasks"), ("post", "/api/tasks/1/complete")):
        response = getattr(c, method)(path)
        assert response.status_code == 401, path
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"].startswith("Basic")
    wrong = client()
    wrong.auth = ("ingen", "forkert-kodeord")
    assert wrong.get("/api/courses").status_code == 401


def test_api_with_session_cookie_needs_csrf_header_for_writes() -> None:
    c = logged_in()
    assert c.get("/api/courses").status_code == 200
    assert c.post("/api/tasks/1/complete", json={"answer": {}}).status_code == 403
    token = csrf_from(c.get("/oversigt").text)
    body = {"form": "behovsafklaring", "answer": {}}
    response = c.post("/api/tasks/1/complete", json=body, headers={"X-CSRF-Token": token})
    assert response.status_code == 404


def _kommune_task(course_id: int) -> HumanTask:
    (task,) = [t for t in open_tasks(course_id) if t.assignee_role == "kommune"]
    return task


def test_municipality_link_shows_only_its_task_and_plan() -> None:
    mine = seed_course(AARHUS, kommune_task=True)
    other = seed_course(ODENSE, kommune_task=True)
    task = _kommune_task(mine)
    c = client()
    html = c.get(f"/k/{make_task_token(task.id, mine)}").text  # type: ignore[arg-type]
    assert "Nedsæt arbejdsgruppen" in html and "Aarhus" in html
    assert "Forløbets plan" in html and "Behovsafklaring" in html
    assert "Odense" not in html
    assert "/oversigt" not in html and "/forloeb/" not in html and "/opgaver" not in html
    # The same link gives no access to anything else.
    for path in (f"/forloeb/{other}", f"/opgaver/{task.id}", "/oversigt", "/api/courses"):
        assert c.get(path).status_code in (303, 401), path


def test_a_link_cannot_be_bent_to_another_task() -> None:
    mine = seed_course(AARHUS, kommune_task=True)
    other = seed_course(ODENSE, kommune_task=True)
    mine_task, other_task = _kommune_task(mine), _kommune_task(other)
    token = make_task_token(mine_task.id, mine)  # type: ignore[arg-type]
    c = client()
    forged = token.replace(token.split(".")[0], "eyJ0Ijo5OTksImMiOjF9")
    response = c.get(f"/k/{forged}")
    assert response.status_code == 403 and "Linket er ugyldigt" in response.text
    # Signed with our key, but course and task do not belong together.
    mixed = make_task_token(other_task.id, mine)  # type: ignore[arg-type]
    assert c.get(f"/k/{mixed}").status_code == 403
    wrong_key = URLSafeTimedSerializer("en-anden-nøgle", salt=LINK_SALT).dumps({"t": mine_task.id, "c": mine})
    assert c.get(f"/k/{wrong_key}").status_code == 403
    assert c.get("/k/noget-helt-andet").status_code == 403


def test_links_only_for_municipality_tasks() -> None:
    course_id = seed_course(AARHUS, overdue_tasks=1)
    (consultant_task,) = open_tasks(course_id)
    response = client().get(f"/k/{make_task_token(consultant_task.id, course_id)}")  # type: ignore[arg-type]
    assert response.status_code == 403


def test_expired_link_gets_a_clear_page(monkeypatch: pytest.MonkeyPatch) -> None:
    course_id = seed_course(AARHUS, kommune_task=True)
    task = _kommune_task(course_id)
    secret_key()
    long_ago = time.time() - timedelta(days=31).total_seconds()
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: long_ago)
    token = make_task_token(task.id, course_id)  # type: ignore[arg-type]
    monkeypatch.undo()
    response = client().get(f"/k/{token}")
    assert response.status_code == 410
    assert "Linket er udløbet" in response.text and "Traceback" not in response.text


def test_used_link_gets_a_clear_page() -> None:
    course_id = seed_course(AARHUS, kommune_task=True)
    task = _kommune_task(course_id)
    token = make_task_token(task.id, course_id)  # type: ignore[arg-type]
    with session_scope() as session:
        row = session.get(HumanTask, task.id)
        assert row is not None
        row.status, row.completed_by, row.completed_at = TaskStatus.COMPLETED, "test", now()
        session.add(row)
    c = client()
    response = c.get(f"/k/{token}")
    assert response.status_code == 410 and "allerede besvaret" in response.text
    # A valid form token for this browser session does not revive the link either.
    posted = c.post(f"/k/{token}", data={"csrf_token": csrf_from(c.get("/login").text)})
    assert posted.status_code == 410 and "allerede besvaret" in posted.text


def test_consultant_issues_a_link_and_it_is_audited() -> None:
    course_id = seed_course(AARHUS, kommune_task=True)
    task = _kommune_task(course_id)
    c = logged_in()
    page = c.get(f"/opgaver/{task.id}").text
    response = c.post(f"/opgaver/{task.id}/kommunelink", data={"csrf_token": csrf_from(page)})
    assert response.status_code == 200
    assert 'id="kommunelink"' in response.text and "http://testserver/k/" in response.text
    assert "kommunelink udstedt" in c.get(f"/forloeb/{course_id}").text
    link = re.search(r'value="(http://testserver/k/[^"]+)"', response.text)
    assert link and client().get(link.group(1)).status_code == 200
    assert "kommunelink åbnet" in c.get(f"/forloeb/{course_id}").text


def test_session_cookie_is_httponly_samesite_and_secure_over_https() -> None:
    from fastapi.testclient import TestClient

    from dashboard.app import create_app

    plain = client().get("/login").headers["set-cookie"].lower()
    assert "httponly" in plain and "samesite=lax" in plain and "secure" not in plain
    https = (
        TestClient(create_app(), base_url="https://testserver").get("/login").headers["set-cookie"].lower()
    )
    assert "httponly" in https and "secure" in https
