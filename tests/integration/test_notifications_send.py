"""Outbox + render + send against a real SMTP server and a real webhook receiver."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from icalendar import Calendar
from sqlmodel import select

from core.clock import frozen
from core.db import session_scope
from core.errors import Conflict
from models.tables import Meeting, MeetingStatus, Notification
from notifications import compose, outbox
from tests.support.factories import CONSULTANT, LEADER, make_course
from tests.support.mail import SmtpServer


def _deliver_all(ids: list[int]) -> None:
    for notification_id in ids:
        outbox.deliver(notification_id)


def test_invitation_reaches_smtp_with_danish_text_and_ics(smtp: SmtpServer) -> None:
    _course_id, meeting_id = make_course()
    with frozen(datetime(2026, 2, 2, 12, tzinfo=UTC)):
        ids = compose.enqueue_meeting_message(meeting_id, "moede_invitation")
        _deliver_all(ids)
    assert len(ids) == 2
    [mail] = smtp.mailbox.to(LEADER)
    assert mail.envelope_to == [LEADER]
    assert mail.subject == "Invitation: Workshop 1 tirsdag den 3. marts 2026 kl. 10.00"
    [html] = mail.parts("text/html")
    assert "Kære Fiktiv Leder" in html and "I inviteres" in html
    assert "tirsdag den 3. marts 2026 kl. 10.00" in html
    [ics_text] = mail.parts("text/calendar")
    cal = Calendar.from_ical(ics_text)
    assert str(cal["METHOD"]) == "REQUEST"
    [event] = cal.walk("VEVENT")
    assert str(event["UID"]) == "c0ffee-workshop-1@forloeb"
    assert int(event["SEQUENCE"]) == 0
    start = event.decoded("DTSTART")
    assert start.astimezone(UTC) == datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    assert str(start.tzinfo) == "Europe/Copenhagen"
    assert len(smtp.mailbox.to(CONSULTANT)) == 1
    assert len(smtp.mailbox.received) == 2


def test_enqueue_and_deliver_twice_sends_once(smtp: SmtpServer) -> None:
    _course_id, meeting_id = make_course()
    first = compose.enqueue_meeting_message(meeting_id, "moede_invitation")
    _deliver_all(first)
    again = compose.enqueue_meeting_message(meeting_id, "moede_invitation")
    _deliver_all(again)
    assert first == again
    assert len(smtp.mailbox.received) == 2
    with pytest.raises(Conflict, match="allerede sendt"):
        outbox.retry(first[0])
    assert len(smtp.mailbox.received) == 2


def test_smtp_down_fails_row_then_retry_sends_exactly_once(smtp: SmtpServer) -> None:
    _course_id, meeting_id = make_course()
    smtp.stop()
    ids = compose.enqueue_meeting_message(meeting_id, "moede_invitation")
    with pytest.raises(outbox.DeliveryFailed):
        outbox.deliver(ids[0])
    row = outbox.get_row(ids[0])
    assert row.status == "failed" and row.attempts == 3
    assert row.last_error and "Connection refused" in row.last_error
    smtp.start()
    assert outbox.retry(ids[0]) is True
    assert outbox.get_row(ids[0]).status == "sent"
    with pytest.raises(Conflict):
        outbox.retry(ids[0])
    assert len(smtp.mailbox.to(LEADER)) == 1
    assert outbox.failed_ids() == []


def test_webhook_channel_gets_consultant_messages(smtp: SmtpServer, webhook: list[dict[str, Any]]) -> None:
    _course_id, meeting_id = make_course()
    ids = compose.enqueue_meeting_message(meeting_id, "moede_invitation")
    _deliver_all(ids)
    assert len(ids) == 3
    [post] = webhook
    assert post["title"].startswith("Invitation: Workshop 1")
    assert "tirsdag den 3. marts 2026 kl. 10.00" in post["message"]
    with session_scope() as session:
        channels = sorted(n.recipient for n in session.exec(select(Notification)))
    assert channels == ["kanal-1", CONSULTANT, LEADER]


def test_move_and_cancel_ics_keep_uid_and_raise_sequence(smtp: SmtpServer) -> None:
    _course_id, meeting_id = make_course()
    with session_scope() as session:
        meeting = session.get(Meeting, meeting_id)
        assert meeting is not None
        meeting.version = 2
        meeting.planned_at = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)
        session.add(meeting)
    _deliver_all(compose.enqueue_meeting_message(meeting_id, "moede_flyttet"))
    with session_scope() as session:
        meeting = session.get(Meeting, meeting_id)
        assert meeting is not None
        meeting.version = 3
        meeting.status = MeetingStatus.CANCELLED
        session.add(meeting)
    _deliver_all(compose.enqueue_meeting_message(meeting_id, "moede_aflyst"))
    moved, cancelled = smtp.mailbox.to(LEADER)
    assert moved.subject == "Flyttet: Workshop 1 er nu onsdag den 4. marts 2026 kl. 10.00"
    assert cancelled.subject.startswith("Aflyst: Workshop 1")
    moved_cal = Calendar.from_ical(moved.parts("text/calendar")[0])
    cancel_cal = Calendar.from_ical(cancelled.parts("text/calendar")[0])
    [moved_event], [cancel_event] = moved_cal.walk("VEVENT"), cancel_cal.walk("VEVENT")
    assert moved_event["UID"] == cancel_event["UID"] == "c0ffee-workshop-1@forloeb"
    assert (int(moved_event["SEQUENCE"]), int(cancel_event["SEQUENCE"])) == (1, 2)
    assert str(cancel_cal["METHOD"]) == "CANCEL" and str(cancel_event["STATUS"]) == "CANCELLED"


def test_reminder_for_an_old_version_sends_nothing(smtp: SmtpServer) -> None:
    _course_id, meeting_id = make_course()
    assert compose.enqueue_meeting_reminder(meeting_id, "paamindelse-7d", 2, "moede_paamindelse") == []
    ids = compose.enqueue_meeting_reminder(meeting_id, "paamindelse-7d", 1, "moede_paamindelse")
    _deliver_all(ids)
    assert smtp.mailbox.to(LEADER)[0].subject == "Påmindelse: Workshop 1 tirsdag den 3. marts 2026 kl. 10.00"


def test_stage_summary_only_for_consultants_who_asked(smtp: SmtpServer) -> None:
    from models.tables import ConsultantPreference

    course_id, _ = make_course()
    assert compose.enqueue_stage_messages(course_id, "arbejdsgruppe") == []
    with session_scope() as session:
        session.add(
            ConsultantPreference(
                consultant="Konsulent Testesen", email="kt@styrelsen.example", stage_summary=True
            )
        )
    _deliver_all(compose.enqueue_stage_messages(course_id, "arbejdsgruppe"))
    [mail] = smtp.mailbox.received
    assert mail.envelope_to == ["kt@styrelsen.example"]
    assert mail.subject == "Aarhus: forløbet er nu i fase 3 Arbejdsgruppe"
