"""The nightly purge as a Prefect flow run (issue 14), against the session's Prefect server: the
`sletning` flow purges what is due and returns the counts; a second night has nothing to do."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from core.clock import now
from core.db import session_scope
from core.workdays import add_months
from flows.privacy import purge_flow
from models.tables import AuditEvent, Contact
from tests.support.privacy import finished_course

pytestmark = pytest.mark.usefixtures("prefect_server")


def test_the_nightly_purge_flow_purges_what_is_due_and_is_audited() -> None:
    finished = now() - timedelta(days=1)
    course_id = finished_course(751, finished, "fiktiv.leder@kommune.example", "Fiktiv Leder")
    day = add_months(finished.date(), 12)

    counts = purge_flow(day=day)

    assert counts["forloeb"] == 1 and counts["contacts"] == 1 and counts["messages"] == 1
    with session_scope() as session:
        assert session.exec(select(Contact).where(Contact.course_id == course_id)).one().name == ""
        [event] = session.exec(select(AuditEvent).where(AuditEvent.action == "sletning efter opbevaringstid"))
    assert event.actor == "sletning" and f"forløb {course_id};" in event.detail
    assert sum(purge_flow(day=day).values()) == 0
