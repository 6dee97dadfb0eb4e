"""Retention and erasure (issue 14): `services.privacy.purge` and `erase_contact`, the access log
service, the CLI commands and the daily deployment. On the app database only (no Prefect server).
Made-up municipal staff only."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel, col, select
from typer.testing import CliRunner

from core.clock import frozen, now, today
from core.db import get_engine, session_scope
from core.workdays import add_months
from forloeb.cli import app as cli_app
from models.tables import (
    AccessKind,
    AccessVia,
    Application,
    ApplicationDocument,
    ApplicationScore,
    AuditEvent,
    Contact,
    Course,
    EvaluationAnswer,
    EvaluationInvite,
    HumanTask,
    IntroTalk,
    Meeting,
    NetworkMember,
    Notification,
    NotificationStatus,
)
from services import access_log, kpi, privacy, uploads
from tests.support.privacy import APPLICANT, finished_course, rejected_application

LEDER = "fiktiv.leder@kommune.example"
NAVN = "Fiktiv Leder"
OTHER = "anden.person@kommune.example"
MEMBER = "netvaerk.person@kommune.example"
runner = CliRunner(env={"COLUMNS": "200"})


@pytest.fixture
def world() -> dict[str, Any]:
    finished = now() - timedelta(days=1)
    old = finished_course(751, finished, LEDER, NAVN)
    recent = finished_course(101, now(), OTHER, "Anden Person")
    application_id, sha = rejected_application(finished)
    with session_scope() as session:
        session.add(
            NetworkMember(
                municipality_code=751, name="Netværk Person", email=MEMBER, left_at=finished, token="n1"
            )
        )
        session.add(
            IntroTalk(
                municipality_code=461,
                programme="inddragelse",
                held_on=finished.date(),
                registered_by="kk",
                note="Talte med Ansøger Person om forankring",
            )
        )
        session.add(  # the network's welcome mail to the member who left
            Notification(
                purpose="netvaerk_tilmeldt",
                recipient=MEMBER,
                idempotency_key=f"netvaerk:1:mail:{MEMBER}",
                subject="Velkommen",
                body_text="Kære Netværk Person",
                status=NotificationStatus.SENT,
            )
        )
        session.add(  # never sent: after the purge it is not sent either
            Notification(
                course_id=old,
                purpose="faseskift",
                recipient=LEDER,
                idempotency_key=f"c{old}:faseskift:y:mail:{LEDER}",
                subject="Fase",
                body_text=f"Kære {NAVN}",
            )
        )
    access_log.record_read(AccessKind.COURSE, old, "kk", AccessVia.PAGE)
    return {"old": old, "recent": recent, "application": application_id, "sha": sha, "finished": finished}


def everything() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table."""
    with get_engine().connect() as connection:
        return {
            table.name: [
                tuple(row) for row in connection.execute(text(f'SELECT * FROM "{table.name}" ORDER BY 1'))
            ]
            for table in SQLModel.metadata.sorted_tables
        }


def tables_holding(needle: str) -> list[str]:
    """Every table and column whose text holds `needle` (any case)."""
    found = []
    for table, rows in everything().items():
        for row in rows:
            for value in row:
                if (
                    isinstance(value, str | dict | list)
                    and needle.lower() in json.dumps(value, ensure_ascii=False).lower()
                ):
                    found.append(f"{table}: {value!r}")
    return found


# --- purge ----------------------------------------------------------------------------------------


def test_dry_run_changes_nothing_and_lists_what_the_purge_does(world: dict[str, Any]) -> None:
    day = add_months(world["finished"].date(), 12)  # the old course's end; the recent one's is a day later
    before = everything()
    dry = privacy.purge(day, dry_run=True)
    assert everything() == before
    assert uploads.path_for(world["sha"]).exists()

    real = privacy.purge(day, dry_run=False)

    assert (dry.courses, dry.applications, dry.counts) == (real.courses, real.applications, real.counts)
    assert real.courses == [world["old"]] and real.applications == [world["application"]]
    assert real.counts["contacts"] == 1 and real.counts["documents"] == 1 and real.counts["files"] == 1
    assert real.counts["messages"] == 4 and real.counts["network"] == 1 and real.counts["intro_notes"] == 1
    assert not uploads.path_for(world["sha"]).exists()
    # A second run finds nothing left to do.
    assert privacy.purge(day, dry_run=False).total == 0


def test_purge_takes_exactly_the_personal_fields_past_retention_and_nothing_before(
    world: dict[str, Any],
) -> None:
    old, recent, finished = world["old"], world["recent"], world["finished"]
    end = add_months(finished.date(), 12)
    earlier = privacy.purge(end - timedelta(days=1), dry_run=False)  # the application's ends earlier
    assert (
        earlier.courses == []
        and earlier.counts["contacts"] == 0
        and earlier.applications == [world["application"]]
    )
    before_recent = tables_holding(OTHER)

    report = privacy.purge(end, dry_run=False)

    assert report.courses == [old]
    with session_scope() as session:
        contact = session.exec(select(Contact).where(Contact.course_id == old)).one()
        assert contact.name == "" and privacy.is_pseudonym(contact.email) and contact.role == "Faglig leder"
        task = session.exec(
            select(HumanTask).where(HumanTask.course_id == old, HumanTask.kind == "samarbejdsaftale")
        ).one()
        assert task.answer == {  # the structure stays: dates, numbers, list lengths; the text goes
            "fokus": "",
            "maal": ["", ""],
            "tidsplan": "",
            "kontaktpersoner": [{"navn": "", "rolle": "", "email": ""}],
            "underskrevet_dato": "2026-01-20",
            "antal_workshops": 3,
            "antal_sparringsmoeder": 2,
        }
        meeting = session.exec(select(Meeting).where(Meeting.course_id == old)).one()
        assert (meeting.location, meeting.link, meeting.title) == ("", None, "Workshop 1")
        message, pending = session.exec(
            select(Notification).where(Notification.course_id == old).order_by(col(Notification.id))
        ).all()
        assert (pending.status, pending.last_error) == (NotificationStatus.FAILED, privacy.NOT_SENT)
        assert session.exec(select(IntroTalk)).one().note == ""
        assert (message.body_text, message.body_html, message.subject) == ("", "", "Ny opgave til jer")
        assert privacy.is_pseudonym(message.recipient) and LEDER not in message.idempotency_key
        invite = session.exec(select(EvaluationInvite).where(EvaluationInvite.course_id == old)).one()
        assert invite.token != f"tok-{old}" and invite.name == ""
        answer = session.exec(select(EvaluationAnswer).where(EvaluationAnswer.course_id == old)).one()
        assert answer.answers == {"udbytte": 4, "kommentar": ""}
        course = session.get(Course, old)
        assert course is not None and course.purged_at is not None and course.focus is None
        assert privacy.course_retention_note(course).startswith("slettet ")
        assert (course.municipality_code, course.programme, course.start_date) == (
            751,
            "minoritetsetniske",
            course.start_date,
        )
        # The recent course is untouched (its retention ends a day later).
        untouched = session.get(Course, recent)
        assert untouched is not None and untouched.purged_at is None and untouched.focus == "Tidlig indsats"
        application = session.get(Application, world["application"])
        assert application is not None and application.purged_at is not None
        assert (
            application.answers["underretninger"] == 40
            and application.answers["underskriver_titel"] == "Direktør"
        )
        assert (
            application.answers["motivation"] == ""
            and application.answers["kontaktpersoner"][0]["email"] == ""
        )
        assert session.exec(select(ApplicationDocument)).all() == []
        assert session.exec(select(ApplicationScore)).one().note == ""
        member = session.exec(select(NetworkMember)).one()
        assert member.name == "" and privacy.is_pseudonym(member.email)
        summary = session.exec(
            select(AuditEvent)
            .where(AuditEvent.action == "sletning efter opbevaringstid")
            .order_by(col(AuditEvent.id).desc())
        ).first()
        assert summary is not None
        assert "kontaktpersoners navn og e-mail 1" in summary.detail and NAVN not in summary.detail
    assert tables_holding(LEDER) == [] and tables_holding(NAVN) == [] and tables_holding(APPLICANT) == []
    assert tables_holding(MEMBER) == [] and tables_holding("Netværk Person") == []
    assert tables_holding(OTHER) == before_recent  # the other course's person is still there
    assert not uploads.path_for(world["sha"]).exists()


def test_kpi_numbers_are_the_same_after_a_purge(world: dict[str, Any]) -> None:
    period = kpi.period_from(today() - timedelta(days=400), today())
    before = kpi.report(None, period).model_dump()
    rows_before = [r.model_dump() for r in kpi.course_rows(None, period)]
    assert before["headline"]["finished"] == 2 and before["applications"]["rejected"] == 1
    assert before["stages"] and len(rows_before) == 2  # numbers to compare, the purged course's among them

    assert privacy.purge(add_months(world["finished"].date(), 12), dry_run=False).courses == [world["old"]]

    assert kpi.report(None, period).model_dump() == before
    assert [r.model_dump() for r in kpi.course_rows(None, period)] == rows_before


def test_old_access_log_rows_go_after_their_own_retention() -> None:
    with frozen(datetime(2024, 1, 10, 9, tzinfo=UTC)):
        access_log.record_read(AccessKind.COURSE, 1, "kk", AccessVia.PAGE)
    access_log.record_read(AccessKind.COURSE, 1, "kk", AccessVia.API)
    report = privacy.purge(date(2026, 2, 1), dry_run=False)
    assert report.counts["access_log"] == 1
    assert [r.via for r in access_log.list_reads(access_log.AccessFilters())] == [AccessVia.API]


# --- erasure -----------------------------------------------------------------------------------


def test_erase_contact_finds_the_person_everywhere_and_leaves_no_trace(world: dict[str, Any]) -> None:
    old = world["old"]
    with session_scope() as session:  # the address also in a mail to someone else and in free text
        session.add(
            Notification(
                course_id=old,
                purpose="faseskift",
                recipient="konsulent@styrelsen.example",
                idempotency_key=f"c{old}:faseskift:x",
                subject="Fase",
                body_text=f"Kontakt: {NAVN.upper()} ({LEDER.upper()})",
            )
        )
        session.add(NetworkMember(municipality_code=101, name=NAVN, email=LEDER, token="n2"))
    before = everything()

    found = privacy.erase_contact(f"  {LEDER.upper()} ", actor="chef", dry_run=True)

    assert everything() == before
    assert dict(found.found) == {
        "Kontaktpersoner": 1,
        "Evalueringslinks": 1,
        "Netværket": 1,
        "Udbakken": 3,  # two mails to the person, one to someone else naming them
        "Opgavesvar": 1,
        "Revisionsspor": 1,
    }
    assert found.courses == {old}

    done = privacy.erase_contact(LEDER, actor="chef")

    assert dict(done.found) == dict(found.found)
    assert tables_holding(LEDER) == []
    assert tables_holding(NAVN) == []  # in that course's rows: contact, answer, mail bodies, audit
    assert tables_holding(OTHER) != []  # nobody else
    with session_scope() as session:
        event = session.exec(
            select(AuditEvent).where(AuditEvent.action == "person slettet efter anmodning")
        ).one()
    assert (
        event.actor == "chef" and done.key in event.detail and privacy.address_key(LEDER.upper()) == done.key
    )
    assert "kontaktpersoner 1" in event.detail


def test_erase_contact_refuses_what_is_not_an_address_and_audits_a_miss() -> None:
    from core.errors import InvalidInput

    with pytest.raises(InvalidInput, match="e-mailadresse"):
        privacy.erase_contact("ikke en adresse", actor="chef")
    report = privacy.erase_contact("ingen@kommune.example", actor="chef")
    assert report.total == 0
    with session_scope() as session:
        event = session.exec(select(AuditEvent)).one()
    assert "ingen steder" in event.detail and "ingen@" not in event.detail


# --- the access log, the CLI, the deployment ----------------------------------------------------


def test_access_log_filters_and_csv() -> None:
    with frozen(datetime(2026, 3, 2, 23, 30, tzinfo=UTC)):  # 3 March 00.30 in Copenhagen
        access_log.record_read(AccessKind.COURSE, 7, "kk", AccessVia.PAGE)
    access_log.record_read(AccessKind.APPLICATION, 3, "ll", AccessVia.API)
    march = access_log.list_reads(access_log.AccessFilters(since=date(2026, 3, 3), until=date(2026, 3, 3)))
    assert [(r.kind, r.object_id, r.actor) for r in march] == [(AccessKind.COURSE, 7, "kk")]
    one = access_log.list_reads(access_log.AccessFilters(kind=AccessKind.APPLICATION, object_id=3))
    assert [r.actor for r in one] == ["ll"]
    csv = access_log.to_csv(march)
    assert csv.splitlines() == ["tidspunkt;hvem;slags;nummer;hvorfra", "03.03.2026 00.30;kk;forløb;7;side"]


def test_cli_purge_erase_and_access_log(world: dict[str, Any]) -> None:
    day = add_months(world["finished"].date(), 12).isoformat()
    before = everything()
    result = runner.invoke(cli_app, ["purge", "--dry-run", "--date", day])
    assert result.exit_code == 0, result.output
    assert "Ville blive slettet" in result.output and "Kontaktpersoners navn og e-mail" in result.output
    assert f"forløb {world['old']};" in result.output
    assert everything() == before

    result = runner.invoke(cli_app, ["erase-contact", OTHER], input="n\n")
    assert result.exit_code == 1 and "Kontaktpersoner" in result.output
    assert everything() == before
    result = runner.invoke(cli_app, ["erase-contact", OTHER, "--yes"])
    assert result.exit_code == 0 and "Slettet:" in result.output and tables_holding(OTHER) == []
    assert runner.invoke(cli_app, ["erase-contact", "ikke-en-adresse"]).exit_code == 2

    result = runner.invoke(cli_app, ["course", "show", str(world["old"])])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli_app, ["access-log", "--course", str(world["old"]), "--csv", "-"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "tidspunkt;hvem;slags;nummer;hvorfra" and len(lines) == 3
    assert lines[1].endswith(f";forløb;{world['old']};CLI") and lines[2].endswith(
        f"kk;forløb;{world['old']};side"
    )
    result = runner.invoke(cli_app, ["access-log", "--since", "i går"])
    assert result.exit_code == 2 and "--since" in result.output


def test_the_daily_purge_deployment_is_served() -> None:
    from deployments import all_deployments

    [purge] = [d for d in all_deployments() if d.name == "sletning"]
    assert purge.entrypoint is not None and purge.entrypoint.endswith("flows/privacy.py:purge_flow")
    [schedule] = purge.schedules
    assert getattr(schedule.schedule, "cron", None) == "30 3 * * *"
