"""What to send, to whom, when: reads the app database, renders, enqueues in the outbox.

Every function returns the outbox ids it enqueued (existing ids when run again: the keys make
each message once). Municipal recipients are the course's contacts; the consultant gets mail at
`ConsultantPreference.email` or FORLOEB_CONSULTANT_EMAIL, and messages to the consultant are also
posted to each extra Apprise URL (FORLOEB_NOTIFY_URLS, as recipients `kanal-1`, `kanal-2`, ...).
"""

from __future__ import annotations

import secrets
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from sqlmodel import Session, col, select

from core.clock import COPENHAGEN, as_utc, now, today
from core.db import session_scope
from core.errors import InvalidInput, NotFound
from core.links import link_expires, municipality_task_url
from core.workdays import add_working_days, is_working_day, previous_working_day, working_days_between
from models.programmes import ProgrammeDef, Reminder, StageMessage, find_programme, get_programme
from models.tables import (
    ConsultantPreference,
    Contact,
    Course,
    EvaluationInvite,
    HumanTask,
    Meeting,
    MeetingStatus,
    Municipality,
    NetworkMeeting,
    NetworkMember,
    TaskStatus,
)
from notifications.ics import meeting_ics, meeting_uid
from notifications.outbox import Message, enqueue
from notifications.render import Rendered, render

MeetingTemplate = Literal["moede_invitation", "moede_flyttet", "moede_aflyst"]
MAX_TASK_REMINDERS = 3


@dataclass(frozen=True)
class Recipient:
    channel: str
    address: str
    name: str


def consultant_email(session: Session, consultant: str) -> str:
    from core.settings import get_settings

    pref = session.get(ConsultantPreference, consultant)
    return pref.email if pref and pref.email else get_settings().consultant_email


def _consultant(session: Session, course: Course) -> list[Recipient]:
    from core.settings import get_settings

    found = [Recipient("mail", consultant_email(session, course.consultant), course.consultant)]
    for index, _url in enumerate(get_settings().notify_urls, start=1):
        found.append(Recipient("kanal", f"kanal-{index}", "konsulenter"))
    return found


def _municipality(session: Session, course_id: int, organisation: str = "kommune") -> list[Recipient]:
    contacts = session.exec(
        select(Contact)
        .where(Contact.course_id == course_id, Contact.organisation == organisation)
        .order_by(col(Contact.id))
    )
    return [Recipient("mail", c.email, c.name) for c in contacts]


def _programme_of(course: Course) -> ProgrammeDef | None:
    return find_programme(course.programme, course.programme_version)


def answers_by_link(course: Course, role: str) -> bool:
    """Whether the role answers its tasks through a signed link (no login): the municipality and
    partners, as the course's programme says (a role it does not know: only 'kommune')."""
    programme = _programme_of(course)
    try:
        return programme is not None and programme.role(role).answers == "link"
    except KeyError:
        return role == "kommune"


def role_recipients(session: Session, course: Course, roles: tuple[str, ...] | list[str]) -> list[Recipient]:
    """The people of each role: the consultant for the agency, the course's contact people of the
    municipality or a partner (a partner without any: its address from the programme)."""
    programme = _programme_of(course)
    found: list[Recipient] = []
    for role in roles:
        try:
            organisation = programme.organisation_of(role) if programme else None
        except KeyError:
            organisation = None
        if organisation is None:
            found += (
                _municipality(session, course.id or 0) if role == "kommune" else _consultant(session, course)
            )
        elif organisation.kind == "agency":
            found += _consultant(session, course)
        else:
            people = _municipality(session, course.id or 0, organisation.key)
            if not people and organisation.email:
                people = [Recipient("mail", organisation.email, organisation.name)]
            found += people
    unique: dict[tuple[str, str], Recipient] = {}
    for person in found:
        unique.setdefault((person.channel, person.address), person)
    return list(unique.values())


def _meeting_people(session: Session, course: Course, meeting: Meeting) -> list[Recipient]:
    """Who is invited to a meeting: the roles its kind invites (the municipality when the programme
    does not say), and always the consultant."""
    programme = _programme_of(course)
    invite: tuple[str, ...] = ("kommune",)
    if programme is not None:
        with suppress(KeyError):
            invite = programme.meeting_kind(meeting.kind).invite
    return role_recipients(session, course, [r for r in invite if r != "konsulent"]) + _consultant(
        session, course
    )


def _course(session: Session, course_id: int) -> tuple[Course, dict[str, Any]]:
    course = session.get(Course, course_id)
    if course is None:
        raise NotFound(f"Forløb {course_id} findes ikke.")
    municipality = session.get(Municipality, course.municipality_code)
    programme = get_programme(course.programme, course.programme_version)
    base = {
        "kommune": municipality.name if municipality else str(course.municipality_code),
        "program": programme.name,
        "konsulent": course.consultant,
    }
    return course, base


def _meeting_context(meeting: Meeting, programme: ProgrammeDef | None = None) -> dict[str, Any]:
    purpose = ""
    if programme is not None:
        with suppress(KeyError):
            purpose = programme.meeting_kind(meeting.kind).purpose
    return {
        "formaal": purpose,
        "titel": meeting.title,
        "kind": meeting.kind,
        "tidspunkt": as_utc(meeting.planned_at),
        "sted": meeting.location or "Aftales nærmere",
        "link": meeting.link,
    }


def _public(path: str) -> str:
    from core.settings import get_settings

    return get_settings().public_url.rstrip("/") + path


def _enqueue_all(
    session: Session,
    course: Course,
    *,
    purpose: str,
    key: str,
    template: str,
    context: dict[str, Any],
    recipients: list[Recipient],
    ics: str | None = None,
    meeting_id: int | None = None,
) -> list[int]:
    ids = []
    for person in recipients:
        rendered = render(template, {**context, "modtager": person.name}, ics=ics)
        ids.append(
            enqueue(
                session,
                Message(
                    course_id=course.id,
                    purpose=purpose,
                    channel=person.channel,
                    recipient=person.address,
                    key=f"{key}:{person.channel}:{person.address}",
                    rendered=rendered,
                    meeting_id=meeting_id,
                ),
            )
        )
    return ids


def _meeting(session: Session, meeting_id: int) -> Meeting:
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFound(f"Mødet {meeting_id} findes ikke.")
    return meeting


def enqueue_meeting_message(
    meeting_id: int, template: MeetingTemplate, previous: datetime | None = None
) -> list[int]:
    """Invitation, update or cancellation (with .ics) for the meeting's current version."""
    with session_scope() as session:
        meeting = _meeting(session, meeting_id)
        course, base = _course(session, meeting.course_id)
        recipients = _meeting_people(session, course, meeting)
        emails = [r.address for r in recipients if r.channel == "mail"]
        ics = meeting_ics(
            uid=meeting_uid(course.uid, meeting.key),
            title=f"{meeting.title}: {base['kommune']}",
            start=as_utc(meeting.planned_at),
            location=meeting.location,
            url=meeting.link,
            description=f"Rådgivningsforløbet {base['program']} for {base['kommune']}.",
            sequence=meeting.version - 1,
            method="CANCEL" if template == "moede_aflyst" else "REQUEST",
            organizer=consultant_email(session, course.consultant),
            attendees=emails,
            stamp=now(),
        )
        context = {**base, "moede": _meeting_context(meeting, _programme_of(course)), "tidligere": previous}
        return _enqueue_all(
            session,
            course,
            purpose=template,
            key=f"{course.uid}:{template}:{meeting.key}:v{meeting.version}",
            template=template,
            context=context,
            recipients=recipients,
            ics=ics,
            meeting_id=meeting.id,
        )


def enqueue_meeting_reminder(meeting_id: int, kind: str, version: int, template: str) -> list[int]:
    """A reminder for `version` of the meeting; nothing if it has since moved or been cancelled."""
    with session_scope() as session:
        meeting = _meeting(session, meeting_id)
        if meeting.status != MeetingStatus.PLANNED or meeting.version != version:
            return []
        course, base = _course(session, meeting.course_id)
        context = {
            **base,
            "moede": _meeting_context(meeting, _programme_of(course)),
            "netvaerk_link": _public("/netvaerk"),
        }
        return _enqueue_all(
            session,
            course,
            purpose=template,
            key=f"{course.uid}:{kind}:{meeting.key}:v{version}",
            template=template,
            context=context,
            recipients=_meeting_people(session, course, meeting),
            meeting_id=meeting.id,
        )


def reminder_times(meeting_at: datetime, reminders: tuple[Reminder, ...]) -> list[tuple[Reminder, datetime]]:
    """When each reminder fires (aware UTC): on a working day, moved earlier if needed."""
    meeting_day = meeting_at.astimezone(COPENHAGEN).date()
    result = []
    for reminder in reminders:
        if reminder.days:
            day = previous_working_day(meeting_day - timedelta(days=reminder.days))
        else:
            day = add_working_days(meeting_day, -reminder.working_days)
        local = datetime.combine(day, reminder.at, tzinfo=COPENHAGEN)
        result.append((reminder, local.astimezone(UTC)))
    return result


@dataclass(frozen=True)
class PlannedReminder:
    meeting_id: int
    meeting_version: int
    kind: str
    template: str
    at: datetime
    idempotency_key: str


def planned_reminders(meeting_id: int) -> list[PlannedReminder]:
    """The reminders a meeting's current version should have, skipping those already past."""
    with session_scope() as session:
        meeting = _meeting(session, meeting_id)
        if meeting.status != MeetingStatus.PLANNED:
            return []
        course = session.get(Course, meeting.course_id)
        assert course is not None and meeting.id is not None
        programme = get_programme(course.programme, course.programme_version)
        times = reminder_times(as_utc(meeting.planned_at), programme.meeting_reminders(meeting.kind))
        return [
            PlannedReminder(
                meeting_id=meeting.id,
                meeting_version=meeting.version,
                kind=reminder.kind,
                template=reminder.template,
                at=at,
                idempotency_key=f"{course.uid}-{meeting.key}-{reminder.kind}-v{meeting.version}",
            )
            for reminder, at in times
            if at > now()
        ]


def task_reminder_number(due: date, day: date) -> int:
    """Which reminder is due on `day` for a task due on `due`: the first on the first working day
    after the due date, then weekly, at most 3; 0 for none."""
    if not is_working_day(day) or day <= due:
        return 0
    number = 0
    for n in range(1, MAX_TASK_REMINDERS + 1):
        first = due + timedelta(days=1 + 7 * (n - 1))
        if day >= first:
            number = n
    return number


def _task_link(course: Course, task: HumanTask) -> str:
    """Where the assignee answers: a fresh signed link for a role that answers by link (the
    municipality, a partner; no login), the dashboard inbox for the consultant."""
    assert task.id is not None
    if answers_by_link(course, task.assignee_role):
        return municipality_task_url(task.id, task.course_id)
    return _public(f"/opgaver/{task.id}")


def enqueue_task_opened(course_id: int, task_key: str) -> list[int]:
    """A new task for a role that answers by link (the municipality, a partner): mail its people a
    link to answer it without an account."""
    with session_scope() as session:
        task = session.exec(
            select(HumanTask).where(HumanTask.course_id == course_id, HumanTask.key == task_key)
        ).first()
        if task is None or task.status != TaskStatus.OPEN:
            return []
        course, base = _course(session, course_id)
        if not answers_by_link(course, task.assignee_role):
            return []
        return _enqueue_all(
            session,
            course,
            purpose="opgave_ny",
            key=f"{course.uid}:opgave_ny:{task.key}",
            template="opgave_ny",
            context={
                **base,
                "opgave": {"titel": task.title, "frist": task.due_date},
                "link": _task_link(course, task),
                "link_udloeber": link_expires(),
            },
            recipients=role_recipients(session, course, [task.assignee_role]),
        )


def enqueue_overdue_task_reminders(day: date) -> list[int]:
    """Reminders to each overdue open task's assignee; escalation to the consultant at the last."""
    ids: list[int] = []
    with session_scope() as session:
        tasks = list(
            session.exec(
                select(HumanTask).where(HumanTask.status == TaskStatus.OPEN, col(HumanTask.due_date) < day)
            )
        )
        for task in tasks:
            number = task_reminder_number(task.due_date, day)
            if not number:
                continue
            course, base = _course(session, task.course_id)
            context = {
                **base,
                "opgave": {"titel": task.title, "frist": task.due_date},
                "nummer": number,
                "link": _task_link(course, task),
            }
            by_link = answers_by_link(course, task.assignee_role)
            assignees = role_recipients(session, course, [task.assignee_role])
            ids += _enqueue_all(
                session,
                course,
                purpose="opgave_rykker",
                key=f"{course.uid}:opgave_rykker:{task.key}:{number}",
                template="opgave_rykker",
                context=context,
                recipients=assignees,
            )
            if number == MAX_TASK_REMINDERS and by_link:
                ids += _enqueue_all(
                    session,
                    course,
                    purpose="opgave_eskalering",
                    key=f"{course.uid}:opgave_eskalering:{task.key}",
                    template="opgave_eskalering",
                    context={**context, "link": _public(f"/opgaver/{task.id}")},
                    recipients=_consultant(session, course),
                )
    return ids


def _stage_message(
    session: Session, course: Course, base: dict[str, Any], stage_key: str, stage: Any, message: StageMessage
) -> list[int]:
    from core.settings import get_settings

    link = ""
    if message.link == "evaluation" and not get_settings().evaluation_url:
        return _evaluation_request(session, course, base, stage_key, stage, message)
    if message.link == "evaluation":
        link = get_settings().evaluation_url
    elif message.link == "course":
        link = _public(f"/forloeb/{course.id}")
    return _enqueue_all(
        session,
        course,
        purpose=message.template,
        key=f"{course.uid}:{message.template}:{stage_key}",
        template=message.template,
        context={**base, "link": link, "fase": {"navn": stage.name, "beskrivelse": stage.description}},
        recipients=role_recipients(session, course, message.to),
    )


def evaluation_link(token: str) -> str:
    return _public(f"/evaluering/{token}")


def _evaluation_invite(session: Session, course: Course, person: Recipient) -> EvaluationInvite:
    """The person's own link to the course's evaluation (made once: a replay finds it)."""
    invite = session.exec(
        select(EvaluationInvite).where(
            EvaluationInvite.course_id == course.id, EvaluationInvite.email == person.address
        )
    ).first()
    if invite is None:
        invite = EvaluationInvite(
            course_id=course.id or 0,
            token=secrets.token_urlsafe(24),
            email=person.address,
            name=person.name,
            sent_on=today(),
        )
        session.add(invite)
        session.flush()
    return invite


def _evaluation_request(
    session: Session, course: Course, base: dict[str, Any], stage_key: str, stage: Any, message: StageMessage
) -> list[int]:
    """The evaluation form's mail: each recipient gets a personal link (one answer per link)."""
    ids: list[int] = []
    context = {**base, "fase": {"navn": stage.name, "beskrivelse": stage.description}}
    for person in role_recipients(session, course, message.to):
        link = ""
        if person.channel == "mail":
            link = evaluation_link(_evaluation_invite(session, course, person).token)
        ids += _enqueue_all(
            session,
            course,
            purpose=message.template,
            key=f"{course.uid}:{message.template}:{stage_key}",
            template=message.template,
            context={**context, "link": link},
            recipients=[person],
        )
    return ids


EVALUATION_REMINDER_DAYS = (5, 10)
"""Working days after the evaluation mail when those who have not answered are reminded (at most two)."""


def enqueue_evaluation_reminders(day: date) -> list[int]:
    """On working days: a reminder to each person who has not answered an evaluation that is still
    open (the course has an open task with form `evaluering`), 5 and 10 working days after the mail."""
    ids: list[int] = []
    if not is_working_day(day):
        return ids
    with session_scope() as session:
        open_courses = set(
            session.exec(
                select(HumanTask.course_id).where(
                    HumanTask.kind == "evaluering", HumanTask.status == TaskStatus.OPEN
                )
            )
        )
        if not open_courses:
            return ids
        invites = session.exec(
            select(EvaluationInvite)
            .where(col(EvaluationInvite.course_id).in_(open_courses), EvaluationInvite.answered == False)  # noqa: E712
            .order_by(col(EvaluationInvite.id))
        )
        for invite in list(invites):
            waited = working_days_between(invite.sent_on, day)
            number = sum(1 for threshold in EVALUATION_REMINDER_DAYS if waited >= threshold)
            if not number:
                continue
            course, base = _course(session, invite.course_id)
            ids += _enqueue_all(
                session,
                course,
                purpose="evaluering_paamindelse",
                key=f"{course.uid}:evaluering_paamindelse:{invite.id}:{number}",
                template="evaluering_paamindelse",
                context={**base, "link": evaluation_link(invite.token), "nummer": number},
                recipients=[Recipient("mail", invite.email, invite.name)],
            )
    return ids


def enqueue_stage_messages(course_id: int, stage_key: str, when: str = "on_start") -> list[int]:
    """On entering (`on_start`) or leaving (`on_end`) a stage: the stage's messages from the
    programme, and on entering, the stage-change summary to a consultant who asked for it."""
    ids: list[int] = []
    with session_scope() as session:
        course, base = _course(session, course_id)
        programme = get_programme(course.programme, course.programme_version)
        stage = programme.stage(stage_key)
        messages = stage.messages.on_start if when == "on_start" else stage.messages.on_end
        for message in messages:
            ids += _stage_message(session, course, base, stage_key, stage, message)
        pref = session.get(ConsultantPreference, course.consultant)
        if when == "on_start" and pref is not None and pref.stage_summary:
            open_tasks = session.exec(
                select(HumanTask)
                .where(HumanTask.course_id == course_id, HumanTask.status == TaskStatus.OPEN)
                .order_by(col(HumanTask.due_date))
            )
            track = programme.track_of[stage_key]
            context = {
                **base,
                "fase": {
                    "nummer": programme.stage_position[stage_key],
                    "antal": len(track.stages),
                    "navn": stage.name,
                    "beskrivelse": stage.description,
                    "spor": track.name if len(programme.tracks) > 1 else "",
                },
                "opgaver": [{"titel": t.title, "frist": t.due_date} for t in open_tasks],
                "link": _public(f"/forloeb/{course_id}"),
            }
            ids += _enqueue_all(
                session,
                course,
                purpose="faseskift",
                key=f"{course.uid}:faseskift:{stage_key}",
                template="faseskift",
                context=context,
                recipients=_consultant(session, course)[:1],
            )
    return ids


def meeting_id_for(course_id: int, meeting_key: str) -> int | None:
    with session_scope() as session:
        return session.exec(
            select(Meeting.id).where(Meeting.course_id == course_id, Meeting.key == meeting_key)
        ).first()


def preview(template: str, course_id: int) -> tuple[str, Rendered]:
    """Render `template` with the course's own data, for `forloeb preview` (nothing is sent).
    Returns the recipient and the message. Meetings: the next planned one, else a sample."""
    from notifications.render import TEMPLATES

    if template not in TEMPLATES:
        raise InvalidInput(f"Ukendt skabelon '{template}'. Vælg en af: {', '.join(TEMPLATES)}.")
    with session_scope() as session:
        course, base = _course(session, course_id)
        people = _municipality(session, course_id)
        person = people[0] if people else Recipient("mail", "kommune@example.invalid", "kontaktperson")
        if template in ("opgave_eskalering", "faseskift"):
            person = _consultant(session, course)[0]
        meeting = session.exec(
            select(Meeting)
            .where(Meeting.course_id == course_id, Meeting.status == MeetingStatus.PLANNED)
            .order_by(col(Meeting.planned_at))
        ).first()
        if template == "genbesoeg_paamindelse":
            meeting = session.exec(
                select(Meeting).where(Meeting.course_id == course_id, Meeting.kind == "genbesoeg")
            ).first() or Meeting(
                course_id=course_id,
                key="genbesoeg",
                kind="genbesoeg",
                title="Genbesøg",
                planned_at=now() + timedelta(days=14),
            )
        if meeting is None:
            meeting = Meeting(
                course_id=course_id, key="eksempel", kind="workshop", title="Workshop", planned_at=now()
            )
        task = session.exec(
            select(HumanTask)
            .where(HumanTask.course_id == course_id, HumanTask.status == TaskStatus.OPEN)
            .order_by(col(HumanTask.due_date))
        ).first()
        programme = get_programme(course.programme, course.programme_version)
        stage_key = course.current_stage or programme.stages[0].key
        stage = programme.stage(stage_key)
        context: dict[str, Any] = {
            **base,
            "modtager": person.name,
            "moede": _meeting_context(meeting, _programme_of(course)),
            "tidligere": None,
            "netvaerk_link": _public("/netvaerk"),
            "opgave": {
                "titel": task.title if task else "Eksempel på en opgave",
                "frist": task.due_date if task else now().date(),
            },
            "nummer": 1,
            "link": _public(f"/forloeb/{course_id}"),
            "link_udloeber": link_expires(),
            "fase": {
                "nummer": programme.stage_position[stage_key],
                "antal": len(programme.stages),
                "navn": stage.name,
                "beskrivelse": stage.description,
            },
            "opgaver": [{"titel": task.title, "frist": task.due_date}] if task else [],
        }
        return person.address, render(template, context)


# --- applications (issue 13) ------------------------------------------------------------------


def enqueue_application_message(
    application_id: int, template: str, key: str, extra: dict[str, Any]
) -> list[int]:
    """A message about an application to the contact people the municipality gave in it (receipt,
    decision letter, request for a missing document). `key` makes it once: '<uid>:<purpose>:<n>'."""
    from core.links import application_url
    from models.programmes import latest_version
    from models.tables import Application

    with session_scope() as session:
        application = session.get(Application, application_id)
        if application is None:
            raise NotFound(f"Ansøgning {application_id} findes ikke.")
        municipality = session.get(Municipality, application.municipality_code)
        context = {
            "kommune": municipality.name if municipality else str(application.municipality_code),
            "program": latest_version(application.programme).name,
            "konsulent": application.consultant or "Socialstyrelsens konsulenter",
            "link": application_url(application_id, application.uid),
            "ansoegning": {"nummer": application_id, **extra},
        }
        ids = []
        for person in application.answers.get("kontaktpersoner") or []:
            rendered = render(template, {**context, "modtager": person["navn"]})
            ids.append(
                enqueue(
                    session,
                    Message(
                        course_id=None,
                        purpose=template,
                        channel="mail",
                        recipient=person["email"],
                        key=f"{application.uid}:{key}:mail:{person['email']}",
                        rendered=rendered,
                        application_id=application_id,
                    ),
                )
            )
        return ids


# --- the network (issue 15) -------------------------------------------------------------------

NetworkTemplate = Literal["netvaerk_invitation", "netvaerk_flyttet", "netvaerk_aflyst"]


def network_link(token: str) -> str:
    """A member's own page (leave the network)."""
    return _public(f"/netvaerk/{token}")


def network_meeting_uid(meeting_uid: str) -> str:
    return f"netvaerk-{meeting_uid}@forloeb"


def _municipality_name(session: Session, code: int) -> str:
    municipality = session.get(Municipality, code)
    return municipality.name if municipality else str(code)


def _network_message(
    session: Session, member: NetworkMember, purpose: str, key: str, rendered: Rendered
) -> int:
    return enqueue(
        session,
        Message(
            course_id=None,
            purpose=purpose,
            channel="mail",
            recipient=member.email,
            key=f"netvaerk:{key}:mail:{member.email}",
            rendered=rendered,
        ),
    )


def enqueue_network_welcome(member_id: int) -> list[int]:
    """The sign-up's confirmation, with the member's own link to leave."""
    with session_scope() as session:
        member = session.get(NetworkMember, member_id)
        if member is None:
            raise NotFound(f"Tilmelding {member_id} findes ikke.")
        context = {
            "kommune": _municipality_name(session, member.municipality_code),
            "modtager": member.name,
            "link": network_link(member.token),
        }
        rendered = render("netvaerk_tilmeldt", context)
        return [_network_message(session, member, "netvaerk_tilmeldt", f"tilmeldt:{member.token}", rendered)]


def enqueue_network_meeting_message(
    meeting_id: int,
    template: NetworkTemplate,
    previous: datetime | None = None,
    *,
    member_id: int | None = None,
) -> list[int]:
    """Invitation, update or cancellation (with .ics: one UID per meeting, SEQUENCE its `sequence`)
    to every active member, or to one (`member_id`: a member who joins after it was planned). Each
    member's calendar file names only that member: members never see each other's addresses."""
    with session_scope() as session:
        meeting = session.get(NetworkMeeting, meeting_id)
        if meeting is None:
            raise NotFound(f"Netværksmødet {meeting_id} findes ikke.")
        query = select(NetworkMember).where(col(NetworkMember.left_at).is_(None))
        if member_id is not None:
            query = query.where(NetworkMember.id == member_id)
        members = list(session.exec(query.order_by(col(NetworkMember.id))))
        start = as_utc(meeting.starts_at)
        organizer = consultant_email(session, meeting.created_by)
        description = "Møde i Socialstyrelsens tværkommunale faglige netværk."
        if meeting.agenda:
            description += f"\n\nDagsorden:\n{meeting.agenda}"
        moede = {
            "titel": meeting.title,
            "tidspunkt": start,
            "sted": meeting.location or "Aftales nærmere",
            "link": meeting.link,
            "dagsorden": meeting.agenda,
        }
        ids = []
        for member in members:
            ics = meeting_ics(
                uid=network_meeting_uid(meeting.uid),
                title=meeting.title,
                start=start,
                location=meeting.location,
                url=meeting.link,
                description=description,
                sequence=meeting.sequence,
                method="CANCEL" if template == "netvaerk_aflyst" else "REQUEST",
                organizer=organizer,
                attendees=[member.email],
                stamp=now(),
            )
            context = {
                "kommune": _municipality_name(session, member.municipality_code),
                "modtager": member.name,
                "moede": moede,
                "tidligere": previous,
                "link": network_link(member.token),
            }
            key = f"{meeting.uid}:{template}:s{meeting.sequence}"
            ids.append(_network_message(session, member, template, key, render(template, context, ics=ics)))
        return ids
