"""The JSON API against the real app DB and the Prefect harness: a completion resumes the flow."""

from __future__ import annotations

import pytest

from tests.support.drive import answer_for, run_until_wait
from tests.support.web import PASSWORD, client, make_user

AUTH = ("kk", PASSWORD)


@pytest.fixture
def api() -> object:
    make_user("kk", "Konsulent K")
    c = client()
    c.auth = AUTH
    return c


@pytest.mark.usefixtures("prefect_server")
def test_start_drive_and_complete_through_the_api(api) -> None:  # type: ignore[no-untyped-def]
    response = api.post(
        "/api/courses",
        json={
            "municipality": "aarhus",
            "programme": "minoritetsetniske",
            "consultant": "Konsulent K",
            "start_date": "2026-01-05",
        },
    )
    assert response.status_code == 201, response.text
    course = response.json()["course"]
    assert course["municipality"] == "Aarhus" and course["flow_run_url"].endswith(course["flow_run_id"])
    run_until_wait(course["flow_run_id"])

    detail = api.get(f"/api/courses/{course['id']}").json()
    assert detail["course"]["stage_key"] == "behovsafklaring"
    assert len(detail["stages"]) == 11
    (task,) = [t for t in detail["tasks"] if t["status"] == "open"]
    assert task["kind"] == "behovsafklaring"

    bad = api.post(
        f"/api/tasks/{task['id']}/complete",
        json={"form": "behovsafklaring", "answer": {"formoede_dato": "i morgen"}},
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    problem = bad.json()
    assert problem["status"] == 422 and problem["detail"].startswith("Formularen er ikke gyldig")
    assert any(e.startswith("fokus:") for e in problem["errors"])
    assert any(e.startswith("formoede_dato:") for e in problem["errors"])
    assert api.get(f"/api/tasks/{task['id']}").json()["status"] == "open"

    other_form = api.post(
        f"/api/tasks/{task['id']}/complete",
        json={"form": "moede-afholdt", "answer": {"afholdt_dato": "2026-01-05"}},
    )
    assert other_form.status_code == 409 and "'behovsafklaring'" in other_form.json()["detail"]
    body = {"form": "behovsafklaring", "answer": answer_for("behovsafklaring")}
    done = api.post(f"/api/tasks/{task['id']}/complete", json=body)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "completed" and done.json()["completed_by"] == "kk"
    again = api.post(f"/api/tasks/{task['id']}/complete", json=body)
    assert again.status_code == 409 and "allerede udført" in again.json()["detail"]

    run_until_wait(course["flow_run_id"])
    detail = api.get(f"/api/courses/{course['id']}").json()
    assert detail["course"]["stage_key"] == "samarbejdsaftale"
    open_tasks = api.get("/api/tasks", params={"course_id": course["id"]}).json()
    assert [t["kind"] for t in open_tasks["items"]] == ["samarbejdsaftale"]

    duplicate = api.post(
        "/api/courses", json={"municipality": "751", "programme": "minoritetsetniske", "consultant": "X Y"}
    )
    assert duplicate.status_code == 409 and "allerede et aktivt forløb" in duplicate.json()["detail"]


def test_list_filter_and_not_found(api) -> None:  # type: ignore[no-untyped-def]
    from tests.support.web import seed_course

    seed_course(751, "Konsulent K", overdue_tasks=1)
    seed_course(461, "Konsulent L")
    listing = api.get("/api/courses", params={"consultant": "Konsulent L"}).json()
    assert listing["total"] == 1 and listing["items"][0]["municipality"] == "Odense"
    overdue = api.get("/api/courses", params={"overdue_only": "true"}).json()
    assert [c["municipality"] for c in overdue["items"]] == ["Aarhus"]
    missing = api.get("/api/courses/424242")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["detail"] == "Forløb 424242 findes ikke."
    assert (
        api.post("/api/tasks/424242/complete", json={"form": "evaluering", "answer": {}}).status_code == 404
    )
    bad_query = api.get("/api/courses", params={"page_size": 0})
    assert bad_query.status_code == 422 and bad_query.json()["errors"]
    unknown_programme = api.post(
        "/api/courses", json={"municipality": "Aarhus", "programme": "ukendt", "consultant": "K"}
    )
    assert unknown_programme.status_code == 422 and "Ukendt program" in str(
        unknown_programme.json()["errors"]
    )


def test_notifications_api_lists_and_retries_only_failed(api, smtp) -> None:  # type: ignore[no-untyped-def]
    from notifications import compose, outbox
    from tests.support.factories import LEADER, make_course

    body = api.get("/api/notifications").json()
    assert body == {"items": [], "total": 0}
    assert api.post("/api/notifications/1/retry").status_code == 404
    _course_id, meeting_id = make_course()
    smtp.stop()
    ids = compose.enqueue_meeting_message(meeting_id, "moede_invitation")
    with pytest.raises(outbox.DeliveryFailed):
        outbox.deliver(ids[0])
    failed = api.get("/api/notifications", params={"status": "failed"}).json()
    assert [row["id"] for row in failed["items"]] == [ids[0]]
    assert failed["items"][0]["needs_attention"] and failed["items"][0]["status_label"] == "Fejlet"
    smtp.start()
    assert api.post(f"/api/notifications/{ids[0]}/retry").status_code == 200
    assert api.post(f"/api/notifications/{ids[0]}/retry").status_code == 409
    assert len(smtp.mailbox.to(LEADER)) == 1


def test_openapi_schema_is_served() -> None:
    schema = client().get("/api/openapi.json").json()
    paths = schema["paths"]
    for path in ("/api/courses", "/api/courses/{course_id}", "/api/tasks", "/api/tasks/{task_id}/complete"):
        assert path in paths
    assert "/api/notifications/{notification_id}/retry" in paths
    assert not any(p.startswith("/oversigt") for p in paths)
    assert "ProblemDetail" in schema["components"]["schemas"]
