"""Driftsstatus (/drift) and the operations API: admins see stuck courses in Danish and repair
them with one button; consultants have no access (Prefect harness: the courses really run)."""

from __future__ import annotations

import base64
from datetime import date
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from sqlmodel import select

from core.db import session_scope
from models.forms import get_form
from models.tables import AuditEvent, UserRole
from services import courses, read_model
from tests.support.drive import make_legacy_wait, run_until_wait, state_of
from tests.support.web import PASSWORD, client, csrf_from, logged_in, make_user

pytestmark = pytest.mark.usefixtures("prefect_server")


def _course_with_lost_schema(name: str) -> int:
    """A course waiting the way it did before the course engine (started before the upgrade), whose
    wait lost its form schema: the case the repair of a lost schema is for."""
    course = courses.start_course(name, "minoritetsetniske", "Konsulent K", date(2026, 1, 5))
    assert course.id and course.flow_run_id
    run_until_wait(course.flow_run_id)
    make_legacy_wait(course.flow_run_id, "behovsafklaring", get_form("behovsafklaring"))
    with get_client(sync_client=True) as client_:
        client_.delete_flow_run_input(UUID(course.flow_run_id), "suspended-behovsafklaring-schema")
    return course.id


def _basic(username: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{PASSWORD}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_only_admins_see_operations() -> None:
    c = logged_in("kk", "Konsulent K")
    assert c.get("/drift").status_code == 403
    assert "Driftsstatus" not in c.get("/oversigt").text
    api = client().get("/api/operations", headers=_basic("kk"))
    assert api.status_code == 403 and api.headers["content-type"] == "application/problem+json"


def test_a_healthy_installation_says_nothing_is_stuck() -> None:
    c = logged_in("chef", "Chef", UserRole.ADMIN)
    page = c.get("/drift")
    assert page.status_code == 200 and "Ingen forløb sidder fast" in page.text
    assert 'href="/drift"' in c.get("/oversigt").text


def test_admin_repairs_a_stuck_course_with_one_button_and_it_is_audited() -> None:
    course_id = _course_with_lost_schema("Aarhus")
    c = logged_in("chef", "Chef", UserRole.ADMIN)
    page = c.get("/drift").text
    assert 'data-finding="lost_schema"' in page and "mangler formularens skema" in page
    response = c.post(f"/drift/forloeb/{course_id}/genoptag", data={"csrf_token": csrf_from(page)})
    assert response.status_code == 303 and response.headers["location"] == f"/drift?rettet={course_id}"
    after = c.get(response.headers["location"]).text
    assert f"Forløb {course_id} er rettet" in after and "Ingen forløb sidder fast" in after
    with session_scope() as session:
        repairs = session.exec(
            select(AuditEvent).where(AuditEvent.course_id == course_id, AuditEvent.action == "reparation")
        ).all()
    assert [(e.actor, e.detail.split(":")[0]) for e in repairs] == [("chef", "lost_schema")]


def test_repairs_need_the_csrf_token() -> None:
    course_id = _course_with_lost_schema("Odense")
    c = logged_in("chef", "Chef", UserRole.ADMIN)
    assert c.post(f"/drift/forloeb/{course_id}/genoptag", data={}).status_code == 403
    assert c.post("/drift/ret-alle", data={}).status_code == 403
    assert 'data-finding="lost_schema"' in c.get("/drift").text  # nothing was repaired


def test_operations_api_lists_and_resumes() -> None:
    course_id = _course_with_lost_schema("Vejle")
    make_user("chef", "Chef", UserRole.ADMIN)
    api = client()
    listed = api.get("/api/operations", headers=_basic("chef"))
    assert listed.status_code == 200
    body = listed.json()
    assert body["courses_checked"] == 1
    assert [(f["course_id"], f["kind"], f["automatic"]) for f in body["findings"]] == [
        (course_id, "lost_schema", True)
    ]
    resumed = api.post(f"/api/courses/{course_id}/resume", headers=_basic("chef"))
    assert resumed.status_code == 200 and resumed.json() == {"repairs": ["formularens skema er gemt igen"]}
    again = api.post(f"/api/courses/{course_id}/resume", headers=_basic("chef"))
    assert again.json() == {"repairs": []}
    assert api.get("/api/operations", headers=_basic("chef")).json()["findings"] == []
    assert api.post("/api/courses/999999/resume", headers=_basic("chef")).status_code == 404


def test_repair_all_fixes_every_course_that_can_be_fixed() -> None:
    first, second = _course_with_lost_schema("Kolding"), _course_with_lost_schema("Horsens")
    c = logged_in("chef", "Chef", UserRole.ADMIN)
    page = c.get("/drift").text
    assert page.count('data-finding="lost_schema"') == 2
    response = c.post("/drift/ret-alle", data={"csrf_token": csrf_from(page)})
    assert response.headers["location"] == "/drift?rettet=alle"
    assert "Ingen forløb sidder fast" in c.get("/drift").text
    for course_id in (first, second):
        with session_scope() as session:
            repaired = session.exec(
                select(AuditEvent.course_id).where(
                    AuditEvent.course_id == course_id, AuditEvent.action == "reparation"
                )
            ).all()
        assert repaired == [course_id]
        # still waiting on its first task, now answerable
        assert state_of(read_model.get_course(course_id).flow_run_id or "") == (
            "Suspended",
            "behovsafklaring",
        )
