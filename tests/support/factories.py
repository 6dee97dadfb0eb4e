"""Small factories for tests: rows written straight to the app database, no Prefect.
Made-up municipal staff only; never data about children."""

from __future__ import annotations

from datetime import UTC, date, datetime

from core.db import session_scope
from models.tables import Contact, Course, Meeting

LEADER = "leder@kommune.example"
CONSULTANT = "konsulent@styrelsen.example"


def make_course(*, with_meeting: bool = True) -> tuple[int, int]:
    """A course in Aarhus with one fictitious contact and a workshop on Tuesday 3 March 2026 10.00."""
    with session_scope() as session:
        course = Course(
            municipality_code=751,
            programme="minoritetsetniske",
            programme_version=1,
            consultant="Konsulent Testesen",
            start_date=date(2026, 1, 5),
            uid="c0ffee",
        )
        session.add(course)
        session.flush()
        assert course.id is not None
        session.add(Contact(course_id=course.id, name="Fiktiv Leder", role="Faglig leder", email=LEADER))
        meeting = Meeting(
            course_id=course.id,
            key="workshop-1",
            kind="workshop",
            title="Workshop 1",
            planned_at=datetime(2026, 3, 3, 9, 0, tzinfo=UTC),
            location="Rådhuset, mødelokale 2",
        )
        session.add(meeting)
        session.flush()
        assert meeting.id is not None
        return course.id, meeting.id
