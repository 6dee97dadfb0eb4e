"""Mails carry no answer content (issue 14): every message the compose code makes, for a course and
an application whose every answer field holds a unique sentinel, is scanned (subject, text, HTML,
.ics) for the sentinels. What a mail may carry is the course's frame (municipality, programme,
consultant, stage, task titles and deadlines, meeting time and place) and the recipient's own name
in the greeting; never what people answered.

Every template is made (the evaluation reminders too): a new template that no path below makes fails
the test."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlmodel import select

from core.clock import today
from core.db import session_scope
from models.examples import sample_answer
from models.forms import FORMS
from models.programmes import get_programme, latest_version
from models.tables import (
    Application,
    ApplicationStatus,
    Contact,
    Course,
    HumanTask,
    Meeting,
    NetworkMeeting,
    NetworkMember,
    Notification,
    TaskStatus,
)
from notifications import compose
from notifications.render import TEMPLATES
from services.accounts import set_consultant_preference
from tests.support.web import seed_course

_counter = itertools.count()


def _sentinels(value: Any, made: list[str], *, keep: tuple[str, ...] = ()) -> Any:
    """`value` with every string replaced by a unique sentinel (e-mails stay e-mails)."""
    if isinstance(value, dict):
        return {k: (v if k in keep else _sentinels(v, made, keep=keep)) for k, v in value.items()}
    if isinstance(value, list):
        return [_sentinels(v, made, keep=keep) for v in value]
    if isinstance(value, str):
        sentinel = f"SENTINEL{next(_counter):04d}X"
        made.append(sentinel)
        return f"{sentinel.lower()}@kommune.example" if "@" in value else sentinel
    return value


def _course_with_sentinel_answers(made: list[str]) -> tuple[int, int]:
    course_id = seed_course(751, overdue_tasks=1, kommune_task=True)
    with session_scope() as session:
        course = session.get(Course, course_id)
        assert course is not None
        course.focus = _sentinels("fokus", made)
        session.add(course)
        session.add(
            Contact(course_id=course_id, name="Fiktiv Leder", role="Leder", email="leder@kommune.example")
        )
        for n, kind in enumerate(FORMS):
            answer = _sentinels(sample_answer(kind, date(2026, 3, 2)), made)
            session.add(
                HumanTask(
                    course_id=course_id,
                    stage_key="behovsafklaring",
                    key=f"svar-{n}",
                    kind=kind,
                    title=f"Opgave {n}",
                    assignee_role="konsulent",
                    due_date=today(),
                    status=TaskStatus.COMPLETED,
                    answer=answer,
                    completed_by="kk",
                )
            )
        meeting = Meeting(
            course_id=course_id,
            key="workshop-1",
            kind="workshop",
            title="Workshop 1",
            planned_at=datetime.now(UTC) + timedelta(days=10),
            location="Rådhuset, mødelokale 2",
        )
        session.add(meeting)
        session.flush()
        assert meeting.id is not None
        return course_id, meeting.id


def _course_of(programme: str, code: int, made: list[str]) -> int:
    definition = latest_version(programme)
    with session_scope() as session:
        course = Course(
            municipality_code=code,
            programme=programme,
            programme_version=definition.version,
            consultant="Konsulent K",
            start_date=today(),
            focus=_sentinels("fokus", made),
        )
        session.add(course)
        session.flush()
        assert course.id is not None
        session.add(
            Contact(course_id=course.id, name="Fiktiv Leder", role="Leder", email="leder@kommune.example")
        )
        session.add(  # the evaluation is open: its reminders go out
            HumanTask(
                course_id=course.id,
                stage_key="evaluering",
                key="evaluering",
                kind="evaluering",
                title="Evaluering",
                assignee_role="konsulent",
                due_date=today() + timedelta(days=30),
            )
        )
        return course.id


def _network() -> tuple[int, int]:
    """A member (the sign-up's name is the member's own: the greeting) and a planned meeting."""
    with session_scope() as session:
        member = NetworkMember(
            municipality_code=751, name="Fiktiv Leder", email="leder@kommune.example", token="t" * 32
        )
        meeting = NetworkMeeting(
            title="Netværksmøde", starts_at=datetime.now(UTC) + timedelta(days=20), created_by="kk"
        )
        session.add(member)
        session.add(meeting)
        session.flush()
        assert member.id is not None and meeting.id is not None
        return member.id, meeting.id


def _application_with_sentinel_answers(made: list[str], decision: str, municipality_code: int) -> int:
    answers = _sentinels(
        {
            "motivation": "m",
            "udfordringer": "u",
            "forventninger": "f",
            "forankring": "f",
            "fokus": "f",
            "organisering": "o",
            "underskriver_navn": "n",
            "underskriver_titel": "t",
            "tidligere_bistand": [{"ordning": "o", "aar": 2024, "beskrivelse": "b"}],
        },
        made,
    )
    answers["kontaktpersoner"] = [
        {"navn": "Fiktiv Leder", "rolle": "Børnechef", "email": "leder@kommune.example"}
    ]
    with session_scope() as session:
        application = Application(
            municipality_code=municipality_code,
            programme="overgreb",
            answers=answers,
            preferred_start=today() + timedelta(days=30),
            status=ApplicationStatus.ACCEPTED,
            decision=decision,
            consultant="Konsulent K",
            start_date=today() + timedelta(days=30),
        )
        session.add(application)
        session.flush()
        assert application.id is not None
        return application.id


def test_no_mail_carries_what_people_answered() -> None:
    made: list[str] = []
    course_id, meeting_id = _course_with_sentinel_answers(made)
    with session_scope() as session:
        course = session.get(Course, course_id)
        assert course is not None
        programme = get_programme(course.programme, course.programme_version)
        open_keys = [
            t.key for t in session.exec(select(HumanTask).where(HumanTask.status == TaskStatus.OPEN))
        ]
    set_consultant_preference("Konsulent K", stage_summary=True)  # faseskift goes to the consultant
    stages = [(course_id, s.key) for s in programme.stages]
    for code, key in ((101, "inddragelse"), (147, "overgreb")):  # their stages send fase_start
        other = _course_of(key, code, made)
        stages += [(other, s.key) for s in latest_version(key).stages]
    for course, stage_key in stages:
        compose.enqueue_stage_messages(course, stage_key, "on_start")
        compose.enqueue_stage_messages(course, stage_key, "on_end")
    for key in open_keys:
        compose.enqueue_task_opened(course_id, key)
    for days in range(1, 40):  # every reminder up to the consultant's escalation
        compose.enqueue_overdue_task_reminders(today() + timedelta(days=days))
        compose.enqueue_evaluation_reminders(today() + timedelta(days=days))
    with session_scope() as session:
        version = session.exec(select(Meeting.version).where(Meeting.id == meeting_id)).one()
    for template in ("moede_paamindelse", "genbesoeg_paamindelse"):
        compose.enqueue_meeting_reminder(meeting_id, template, version, template)
    for template in ("moede_invitation", "moede_flyttet", "moede_aflyst"):
        compose.enqueue_meeting_message(meeting_id, template, previous=datetime.now(UTC))  # type: ignore[arg-type]
    letters = {
        "ansoegning_kvittering": {"modtaget": datetime.now(UTC), "mangler": []},
        "ansoegning_mangler": {"mangler": ["referat"]},
        "ansoegning_optaget": {"start": today() + timedelta(days=30), "periode": "", "begrundelse": ""},
        "ansoegning_udskudt": {
            "start": today() + timedelta(days=200),
            "periode": "2027-H1",
            "begrundelse": "",
        },
        "ansoegning_afslag": {
            "start": None,
            "periode": "",
            "begrundelse": "Opfylder ikke minimumskriterierne",
        },
    }
    for n, (template, extra) in enumerate(letters.items()):
        application_id = _application_with_sentinel_answers(made, template, (621, 101, 147, 155, 157)[n])
        compose.enqueue_application_message(application_id, template, f"brev-{n}", extra)
    member_id, network_meeting_id = _network()
    compose.enqueue_network_welcome(member_id)
    for template in ("netvaerk_invitation", "netvaerk_flyttet", "netvaerk_aflyst"):
        compose.enqueue_network_meeting_message(network_meeting_id, template, previous=datetime.now(UTC))  # type: ignore[arg-type]
    previews = [
        compose.preview(template, course_id)[1] for template in TEMPLATES if template in _COURSE_TEMPLATES
    ]

    with session_scope() as session:
        mails = list(session.exec(select(Notification)))
    texts = [(m.purpose, m.subject, m.body_text, m.body_html, m.ics or "") for m in mails]
    texts += [("preview", r.subject, r.text, r.html, r.ics or "") for r in previews]
    made_templates = {m.purpose for m in mails}
    assert made_templates >= set(TEMPLATES), (
        "a template no path here makes: add it",
        sorted(set(TEMPLATES) - made_templates),
    )
    assert len(made) > 100
    leaks = [
        (purpose, s)
        for purpose, *parts in texts
        for s in made
        if any(s in p or s.lower() in p for p in parts)
    ]
    assert not leaks, f"answer content in mails: {leaks[:10]}"


_COURSE_TEMPLATES = {t for t in TEMPLATES if not t.startswith(("ansoegning", "netvaerk"))}
