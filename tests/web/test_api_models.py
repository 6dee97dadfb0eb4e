"""The API's course model derives from the read model's row (Base/Public): every field of the row
reaches the API with the same value, and the OpenAPI schema lists them all."""

from __future__ import annotations

from datetime import timedelta

from core.clock import now
from core.db import session_scope
from dashboard.api import CourseOut
from models.tables import Meeting, MeetingStatus
from services import read_model
from tests.support.web import PASSWORD, client, make_user, seed_course


def test_every_overview_field_reaches_the_api_with_its_value() -> None:
    course_id = seed_course(751, "Konsulent K", overdue_tasks=2)
    with session_scope() as session:
        session.add(
            Meeting(
                course_id=course_id,
                key="workshop-1",
                kind="workshop",
                title="Workshop 1",
                planned_at=now() + timedelta(days=3),
                location="Rådhuset",
                status=MeetingStatus.PLANNED,
            )
        )
    make_user("kk", "Konsulent K")
    api = client()
    api.auth = ("kk", PASSWORD)
    [item] = api.get("/api/courses").json()["items"]
    [row] = read_model.overview(read_model.OverviewFilters(course_id=course_id)).rows
    expected = row.model_dump(mode="json")
    assert set(read_model.OverviewRow.model_fields) <= set(CourseOut.model_fields)
    assert {k: item[k] for k in expected} == expected
    assert set(item) == set(expected) | {"flow_run_url"}
    # Timestamps carry their offset (SQLite reads them back naive); the next task is there too.
    assert item["next_meeting_at"].endswith("Z") or item["next_meeting_at"].endswith("+00:00")
    assert item["next_task_id"] is not None and item["overdue_tasks"] == 2

    schema = api.get("/api/openapi.json").json()["components"]["schemas"]
    course_schema = schema.get("CourseOut-Output", schema.get("CourseOut"))
    assert set(course_schema["properties"]) == set(expected) | {"flow_run_url"}
    assert set(course_schema["required"]) >= set(expected)
