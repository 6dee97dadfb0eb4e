"""Reminder runs against the Prefect harness: scheduled times, moving, cancelling, holidays,
reminder runs that fail and are retried, and course-flow replays that send nothing twice."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from uuid import UUID

import pytest
from icalendar import Calendar
from prefect.client.orchestration import get_client
from prefect.flow_engine import run_flow
from prefect.states import Scheduled
from sqlmodel import select

from core import names
from core.clock import frozen
from core.db import session_scope
from core.errors import Conflict, InvalidInput, NotFound
from core.links import read_task_token
from flows.reminders import overdue_flow, reminder_flow
from models.programmes import Reminder
from models.tables import AuditEvent, EvaluationInvite, HumanTask, Meeting, Notification, ReminderRun
from notifications import compose, outbox
from services import courses, meetings, prefect_gateway
from tests.support.factories import CONSULTANT, LEADER, make_course
from tests.support.mail import SmtpServer

pytestmark = pytest.mark.usefixtures("prefect_server")
FEB = datetime(2026, 2, 2, 12, tzinfo=UTC)


def _cph(y: int, m: int, d: int, hh: int) -> datetime:
    """A Copenhagen wall-clock time in winter (UTC+1) as UTC."""
    return datetime(y, m, d, hh - 1, 0, tzinfo=UTC)


def _runs(meeting_id: int) -> list[tuple[int, str, str, datetime | None]]:
    """(version, kind, Prefect state, Prefect scheduled time) of each recorded reminder run."""
    result = []
    for run in meetings.reminder_runs(meeting_id):
        assert run.flow_run_id
        state, when = prefect_gateway.scheduled_time_of(run.flow_run_id)
        result.append((run.meeting_version, run.kind, state, when))
    return result


def test_plan_schedules_reminders_and_move_retimes_them(smtp: SmtpServer) -> None:
    course_id, _ = make_course()
    with frozen(FEB):
        planned = meetings.plan_meeting(
            course_id, "workshop", datetime(2026, 3, 3, 10), "Rådhuset", actor="t"
        )
        meeting_id = planned.meeting.id
        assert meeting_id is not None
        # Scheduling again (a replay) creates no second run: same idempotency key.
        assert meetings.schedule_meeting_reminders(meeting_id) == planned.scheduled
        assert _runs(meeting_id) == [
            (1, "paamindelse-7d", "Scheduled", _cph(2026, 2, 24, 8)),
            (1, "paamindelse-1ad", "Scheduled", _cph(2026, 3, 2, 8)),
        ]
        moved = meetings.move_meeting(meeting_id, datetime(2026, 3, 10, 13), actor="t")
    assert sorted(moved.cancelled) == sorted(planned.scheduled)
    assert _runs(meeting_id) == [
        (1, "paamindelse-7d", "Cancelled", _cph(2026, 2, 24, 8)),
        (1, "paamindelse-1ad", "Cancelled", _cph(2026, 3, 2, 8)),
        (2, "paamindelse-7d", "Scheduled", _cph(2026, 3, 3, 8)),
        (2, "paamindelse-1ad", "Scheduled", _cph(2026, 3, 9, 8)),
    ]
    invitation, update = smtp.mailbox.to(LEADER)
    assert invitation.subject.startswith("Invitation: Workshop tirsdag den 3. marts 2026 kl. 10.00")
    assert update.subject == "Flyttet: Workshop er nu tirsdag den 10. marts 2026 kl. 13.00"
    event = Calendar.from_ical(update.parts("text/calendar")[0]).walk("VEVENT")[0]
    assert int(event["SEQUENCE"]) == 1
    # The old version's reminder, had it fired anyway, sends nothing.
    assert compose.enqueue_meeting_reminder(meeting_id, "paamindelse-7d", 1, "moede_paamindelse") == []


def test_cancel_cancels_reminders_and_sends_cancellation(smtp: SmtpServer) -> None:
    course_id, _ = make_course()
    with frozen(FEB):
        planned = meetings.plan_meeting(course_id, "ledersparring", datetime(2026, 3, 3, 10), "", actor="t")
        assert planned.meeting.id is not None
        cancelled = meetings.cancel_meeting(planned.meeting.id, actor="t")
        assert sorted(cancelled.cancelled) == sorted(planned.scheduled)
        assert {state for _, _, state, _ in _runs(planned.meeting.id)} == {"Cancelled"}
        with pytest.raises(Conflict, match="aflyst"):
            meetings.move_meeting(planned.meeting.id, datetime(2026, 3, 4, 10), actor="t")
    aflyst = smtp.mailbox.to(LEADER)[-1]
    assert aflyst.subject.startswith("Aflyst: Ledersparring")
    assert "METHOD:CANCEL" in aflyst.parts("text/calendar")[0]


def test_bad_input_changes_nothing(smtp: SmtpServer) -> None:
    course_id, meeting_id = make_course()
    with frozen(FEB):
        with pytest.raises(InvalidInput, match="Grundlovsdag"):
            meetings.move_meeting(meeting_id, datetime(2026, 6, 5, 10), actor="t")
        with pytest.raises(InvalidInput, match="lørdag"):
            meetings.move_meeting(meeting_id, datetime(2026, 3, 7, 10), actor="t")
        with pytest.raises(NotFound, match="Mødet 999 findes ikke"):
            meetings.move_meeting(999, datetime(2026, 3, 4, 10), actor="t")
        with pytest.raises(InvalidInput, match="mødetype"):
            meetings.plan_meeting(course_id, "fest", datetime(2026, 3, 4, 10), "", actor="t")
    with session_scope() as session:
        meeting = session.get(Meeting, meeting_id)
        assert meeting is not None and meeting.version == 1
        assert list(session.exec(select(ReminderRun))) == []
        assert list(session.exec(select(Notification))) == []
    assert smtp.mailbox.received == []


def test_reminders_on_holidays_move_earlier() -> None:
    # 1 working day before Monday 8 June 2026: Friday 5 June is Grundlovsdag → Thursday 4 June.
    [(_, at)] = compose.reminder_times(_cph(2026, 6, 8, 10), (Reminder(working_days=1),))
    assert at.date() == date(2026, 6, 4)
    # 14 days before Friday 8 January 2027 is 25 December; 24/12 closes too → Wednesday 23 December.
    [(_, at)] = compose.reminder_times(_cph(2027, 1, 8, 10), (Reminder(days=14),))
    assert at == _cph(2026, 12, 23, 8)
    # 1 working day before Monday 4 January 2027: 31/12 and 1/1 are closed → Wednesday 30 December.
    [(_, at)] = compose.reminder_times(_cph(2027, 1, 4, 10), (Reminder(working_days=1),))
    assert at.date() == date(2026, 12, 30)


def _reminder_run(meeting_id: int, version: int = 1) -> str:
    return prefect_gateway.schedule_run(
        names.REMINDER,
        {
            "meeting_id": meeting_id,
            "kind": "paamindelse-7d",
            "version": version,
            "template": "moede_paamindelse",
        },
        datetime(2026, 2, 24, 7, tzinfo=UTC),
        f"test-{meeting_id}-{version}-{datetime.now(UTC).timestamp()}",
    )


def _execute(flow_run_id: str) -> str:
    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(UUID(flow_run_id))
        state = run_flow(reminder_flow, flow_run=flow_run, return_type="state")
    assert state is not None
    return str(state.name)


def _retry_in_prefect(flow_run_id: str) -> None:
    with get_client(sync_client=True) as client:  # what "Retry" in the Prefect UI does
        client.set_flow_run_state(UUID(flow_run_id), Scheduled(), force=True)


def test_reminder_run_fails_when_smtp_is_down_and_a_retry_sends_once(smtp: SmtpServer) -> None:
    _course_id, meeting_id = make_course()
    flow_run_id = _reminder_run(meeting_id)
    smtp.stop()
    assert _execute(flow_run_id) == "Failed"
    failed = outbox.failed_ids()
    assert len(failed) == 2 and "Connection refused" in (outbox.get_row(failed[0]).last_error or "")
    smtp.start()
    _retry_in_prefect(flow_run_id)
    assert _execute(flow_run_id) == "Completed"
    _retry_in_prefect(flow_run_id)
    assert _execute(flow_run_id) == "Completed"
    assert [m.subject for m in smtp.mailbox.to(LEADER)] == [
        "Påmindelse: Workshop 1 tirsdag den 3. marts 2026 kl. 10.00"
    ]
    assert len(smtp.mailbox.to(CONSULTANT)) == 1


def test_reminder_run_for_a_moved_meeting_sends_nothing(smtp: SmtpServer) -> None:
    _course_id, meeting_id = make_course()
    with session_scope() as session:
        meeting = session.get(Meeting, meeting_id)
        assert meeting is not None
        meeting.version = 2
        session.add(meeting)
    assert _execute(_reminder_run(meeting_id, version=1)) == "Completed"
    assert smtp.mailbox.received == []


def test_overdue_task_reminders_weekly_max_three_then_escalation(smtp: SmtpServer) -> None:
    course_id, _ = make_course()
    with session_scope() as session:
        session.add(
            HumanTask(
                course_id=course_id,
                stage_key="arbejdsgruppe",
                key="arbejdsgruppe",
                kind="arbejdsgruppe",
                title="Registrér arbejdsgruppens medlemmer",
                assignee_role="kommune",
                due_date=date(2026, 2, 6),
            )
        )
    # Friday 6 Feb due; reminders Mon 9 Feb (first working day after), then weekly; at most 3.
    for day in (date(2026, 2, 6), date(2026, 2, 7), date(2026, 2, 9), date(2026, 2, 10), date(2026, 2, 16)):
        overdue_flow(day=day)
    assert [m.subject[:8] for m in smtp.mailbox.to(LEADER)] == ["Rykker 1", "Rykker 2"]
    for day in (date(2026, 2, 23), date(2026, 3, 2), date(2026, 3, 9)):
        overdue_flow(day=day)
    assert [m.subject[:8] for m in smtp.mailbox.to(LEADER)] == ["Rykker 1", "Rykker 2", "Rykker 3"]
    [escalation] = smtp.mailbox.to(CONSULTANT)
    assert escalation.subject == 'Opgave overskredet i Aarhus: "Registrér arbejdsgruppens medlemmer"'
    # The municipality answers through a signed link (no login), each reminder with a fresh one;
    # the consultant is sent to the task in the dashboard inbox.
    links = [re.findall(r"http://\S+", m.parts("text/plain")[0]) for m in smtp.mailbox.to(LEADER)]
    assert all(len(found) == 1 and "/k/" in found[0] for found in links)
    assert read_task_token(links[0][0].rsplit("/", 1)[1]).course_id == course_id
    assert re.findall(r"http://\S+/opgaver/\d+", escalation.parts("text/plain")[0])


def test_course_flow_sends_invitations_once_across_replays_and_a_crash(
    smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Drive a real course to the mapping workshop: its invitation goes out once, even though the
    flow body replays after every resume and once crashes right after sending it."""
    from tests.support.drive import answer_for, open_tasks, run_until_wait, state_of

    course = courses.start_course("Odense", "minoritetsetniske", "Konsulent Testesen", date(2026, 1, 5))
    assert course.id is not None and course.flow_run_id is not None
    real = meetings.schedule_meeting_reminders
    crashes = []

    def crash_once(meeting_id: int) -> list[str]:
        if not crashes:
            crashes.append(meeting_id)
            raise RuntimeError("strømmen gik")
        return real(meeting_id)

    monkeypatch.setattr(meetings, "schedule_meeting_reminders", crash_once)
    with frozen(FEB):
        run_until_wait(course.flow_run_id)
        for _ in range(12):
            name, key = state_of(course.flow_run_id)
            if name == "Failed":
                _retry_in_prefect(course.flow_run_id)
                run_until_wait(course.flow_run_id)
                continue
            if key == "workshop-planlaegning-1":
                break
            [task] = open_tasks(course.id)
            answer = answer_for(task.kind)
            if task.kind == "samarbejdsaftale":
                answer["kontaktpersoner"][0]["email"] = LEADER
            courses.complete_task(task.id or 0, answer, actor="test")
            run_until_wait(course.flow_run_id)
    assert state_of(course.flow_run_id) == ("Suspended", "workshop-planlaegning-1")
    assert len(crashes) == 1
    subjects = [m.subject for m in smtp.mailbox.to(LEADER)]
    invitations = [s for s in subjects if s.startswith("Invitation")]
    assert len(invitations) == 1 and invitations[0].startswith("Invitation: Afdækningsworkshop ")
    # The municipality's own tasks (working group, data collection) were announced once each.
    assert sorted(s.split('"')[1] for s in subjects if s.startswith("Ny opgave")) == [
        "Afslut dataindsamlingen (tjekliste)",
        "Registrér arbejdsgruppens medlemmer",
    ]
    assert len(subjects) == 3
    with session_scope() as session:
        workshop = session.exec(select(Meeting).where(Meeting.key == "afdaekningsworkshop")).one()
        runs = list(session.exec(select(ReminderRun).where(ReminderRun.meeting_id == workshop.id)))
    assert sorted(r.kind for r in runs) == ["paamindelse-1ad", "paamindelse-7d"]
    with get_client(sync_client=True) as client:
        for run in runs:
            assert run.flow_run_id
            flow_run = client.read_flow_run(UUID(run.flow_run_id))
            assert flow_run.idempotency_key == f"{course.uid}-afdaekningsworkshop-{run.kind}-v1"
            assert flow_run.parameters["version"] == 1


def test_evaluation_request_is_sent_when_the_evaluation_stage_starts(smtp: SmtpServer) -> None:
    course_id, _ = make_course()
    ids = compose.enqueue_stage_messages(course_id, "evaluering")
    for notification_id in ids:
        outbox.deliver(notification_id)
    assert compose.enqueue_stage_messages(course_id, "evaluering") == ids
    [mail] = smtp.mailbox.to(LEADER)
    assert mail.subject == "Evaluering af rådgivningsforløbet i Aarhus"
    with session_scope() as session:  # the person's own link (one answer per link)
        [invite] = session.exec(select(EvaluationInvite).where(EvaluationInvite.course_id == course_id))
    assert invite.email == LEADER and f"/evaluering/{invite.token}" in mail.parts("text/html")[0]
    assert compose.enqueue_stage_messages(course_id, "arbejdsgruppe") == []


def test_consultant_moves_and_cancels_a_meeting_on_the_course_page(smtp: SmtpServer) -> None:
    from tests.support.web import csrf_from, logged_in

    course_id, _ = make_course()
    c = logged_in()
    with frozen(FEB):
        planned = meetings.plan_meeting(
            course_id, "workshop", datetime(2026, 3, 3, 10), "Rådhuset", actor="t"
        )
        meeting_id = planned.meeting.id
        page = c.get(f"/forloeb/{course_id}").text
        assert f'action="/moeder/{meeting_id}/flyt"' in page and 'value="2026-03-03T10:00"' in page
        token = csrf_from(page)
        # A Saturday is refused in Danish and changes nothing.
        refused = c.post(f"/moeder/{meeting_id}/flyt", data={"csrf_token": token, "til": "2026-03-07T10:00"})
        assert refused.status_code == 422 and "ikke en arbejdsdag" in refused.text
        moved = c.post(f"/moeder/{meeting_id}/flyt", data={"csrf_token": token, "til": "2026-03-10T13:00"})
        assert moved.status_code == 303
        after = c.get(moved.headers["location"]).text
    assert (
        'id="meeting-change"' in after and "Mødet er flyttet" in after and "påmindelserne følger med" in after
    )
    assert [(v, state) for v, _kind, state, _when in _runs(meeting_id)] == [
        (1, "Cancelled"),
        (1, "Cancelled"),
        (2, "Scheduled"),
        (2, "Scheduled"),
    ]
    assert (
        smtp.mailbox.to(LEADER)[-1].subject == "Flyttet: Workshop er nu tirsdag den 10. marts 2026 kl. 13.00"
    )
    with frozen(FEB):
        cancelled = c.post(f"/moeder/{meeting_id}/aflys", data={"csrf_token": token})
        assert cancelled.status_code == 303
        assert "Mødet er aflyst" in c.get(cancelled.headers["location"]).text
        again = c.post(f"/moeder/{meeting_id}/aflys", data={"csrf_token": token})
    assert again.status_code == 409 and "kan ikke ændres" in again.text
    assert [state for _v, _kind, state, _when in _runs(meeting_id)] == ["Cancelled"] * 4
    assert smtp.mailbox.to(LEADER)[-1].subject.startswith("Aflyst")
    with session_scope() as session:
        actions = [
            e.action for e in session.exec(select(AuditEvent).where(AuditEvent.course_id == course_id))
        ]
    assert "møde flyttet" in actions and "møde aflyst" in actions
