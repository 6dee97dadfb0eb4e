"""Rows for the privacy tests (issue 14): a finished course with one of every kind of personal data,
and a rejected application with a stored PDF. Written straight to the app database, no Prefect.
Made-up municipal staff only; nothing about children."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from core.db import session_scope
from models.tables import (
    Application,
    ApplicationDocument,
    ApplicationScore,
    ApplicationStatus,
    AuditEvent,
    Contact,
    Course,
    CourseStatus,
    EvaluationAnswer,
    EvaluationInvite,
    HumanTask,
    Meeting,
    Notification,
    NotificationStatus,
    TaskStatus,
)
from services import uploads
from tests.support.pdf import pdf_with_text
from tests.support.web import seed_course

APPLICANT = "ansoeger.person@kommune.example"


def finished_course(code: int, finished: datetime, email: str, name: str) -> int:
    """A course that finished at `finished`, with a contact, an answer naming them, a meeting, mails,
    an evaluation link and answer, and an audit event naming them."""
    course_id = seed_course(code, "Konsulent K", stages_done=2)
    with session_scope() as session:
        course = session.get(Course, course_id)
        assert course is not None
        course.status, course.completed_at, course.focus = CourseStatus.COMPLETED, finished, "Tidlig indsats"
        session.add(course)
        session.add(Contact(course_id=course_id, name=name, role="Faglig leder", email=email))
        session.add(
            HumanTask(
                course_id=course_id,
                stage_key="samarbejdsaftale",
                key="samarbejdsaftale-done",
                kind="samarbejdsaftale",
                title="Samarbejdsaftale",
                assignee_role="konsulent",
                due_date=finished.date(),
                status=TaskStatus.COMPLETED,
                completed_at=finished,
                completed_by="kk",
                applied=True,
                answer={
                    "fokus": "Tidlig opsporing",
                    "maal": ["Fælles sprog", "Bedre overgange"],
                    "tidsplan": "Efterår",
                    "kontaktpersoner": [{"navn": name, "rolle": "Faglig leder", "email": email}],
                    "underskrevet_dato": "2026-01-20",
                    "antal_workshops": 3,
                    "antal_sparringsmoeder": 2,
                },
            )
        )
        session.add(
            Meeting(
                course_id=course_id,
                key="workshop-1",
                kind="workshop",
                title="Workshop 1",
                planned_at=finished - timedelta(days=30),
                location="Rådhuset, lokale 2",
                link="https://moede.example/abc",
            )
        )
        session.add(
            Notification(
                course_id=course_id,
                purpose="opgave_ny",
                recipient=email,
                idempotency_key=f"c{course_id}:opgave_ny:x:mail:{email}",
                subject="Ny opgave til jer",
                body_text=f"Kære {name}, der er en ny opgave.",
                body_html=f"<p>Kære {name}</p>",
                status=NotificationStatus.SENT,
            )
        )
        session.add(
            EvaluationInvite(
                course_id=course_id, token=f"tok-{course_id}", email=email, name=name, sent_on=finished.date()
            )
        )
        session.add(
            EvaluationAnswer(
                course_id=course_id,
                programme="minoritetsetniske",
                programme_version=1,
                submitted_on=finished.date(),
                answers={"udbytte": 4, "kommentar": "Godt samarbejde"},
            )
        )
        session.add(
            AuditEvent(
                course_id=course_id, actor="kk", action="kontaktperson tilføjet", detail=f"{name} <{email}>"
            )
        )
    return course_id


def rejected_application(decided: datetime) -> tuple[int, str]:
    pdf = uploads.check_pdf(pdf_with_text("Referat af ledermoede"), "referat.pdf", "Referat")
    uploads.store(pdf)
    with session_scope() as session:
        application = Application(
            municipality_code=461,
            programme="inddragelse",
            status=ApplicationStatus.REJECTED,
            answers={
                "motivation": "Vi vil styrke inddragelsen",
                "kontaktpersoner": [{"navn": "Ansøger Person", "rolle": "Chef", "email": APPLICANT}],
                "underretninger": 40,
                "underskriver_titel": "Direktør",
                "underskrevet_dato": "2026-01-10",
            },
            preferred_start=date(2026, 8, 1),
            submitted_at=decided - timedelta(days=20),
            decided_at=decided,
            decision="reject",
            reject_reason="minimum",
        )
        session.add(application)
        session.flush()
        assert application.id is not None
        session.add(
            ApplicationDocument(
                application_id=application.id,
                kind="referat",
                sha256=pdf.sha256,
                filename="referat.pdf",
                size=len(pdf.content),
                uploaded_by="kommune",
            )
        )
        session.add(
            ApplicationScore(
                application_id=application.id, consultant="Konsulent K", criterion="x", score=3, note="Svag"
            )
        )
        session.add(
            Notification(
                application_id=application.id,
                purpose="ansoegning_afslag",
                recipient=APPLICANT,
                idempotency_key=f"{application.uid}:afslag:mail:{APPLICANT}",
                subject="Afgørelse",
                body_text="Kære Ansøger Person",
                status=NotificationStatus.SENT,
            )
        )
        session.add(
            AuditEvent(
                application_id=application.id, actor="kk", action="afslag", detail="minimum", at=decided
            )
        )
        return application.id, pdf.sha256
