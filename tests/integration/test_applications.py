"""Applications end to end against the Prefect harness (issue 13): a municipality applies with its
PDFs, gets a receipt, a consultant decides within capacity, the decision letter goes out, and on
the start date the course starts by itself (the lead runner's repair loop wakes the suspended
application run), carrying the contacts and focus; a start that fell due while no runner ran starts
exactly once. Every kind of bad input is refused with a Danish message and nothing stored."""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from prefect.exceptions import Pause
from prefect.flow_engine import run_flow
from sqlmodel import col, func, select

from core.clock import frozen, today
from core.db import session_scope
from core.errors import Conflict, CprNumberFound, InvalidInput, NotFound
from flows.application import application_flow
from models.tables import (
    Application,
    ApplicationDocument,
    ApplicationStatus,
    AuditEvent,
    Contact,
    Course,
    Notification,
)
from services import applications, recovery
from services.applications import Upload
from tests.support.drive import run_until_wait
from tests.support.logscan import scanned_logs
from tests.support.pdf import MINUTES, SIGNED, pdf_with_text

pytestmark = pytest.mark.usefixtures("prefect_server")


def run_application(flow_run_id: str) -> str:
    """Run the application flow once (as a runner would); return the run's state name."""
    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(UUID(flow_run_id))
    with suppress(Pause):
        run_flow(application_flow, flow_run=flow_run, return_type="state")
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(UUID(flow_run_id)).state
    assert state is not None
    return state.name or ""


def answers(**overrides: Any) -> dict[str, Any]:
    """A made-up application: staff contacts only, aggregate numbers, nothing about children."""
    return {
        "motivation": "Vi vil styrke opsporingen og håndteringen af sager om overgreb.",
        "udfordringer": "Beredskabet er ikke kendt blandt medarbejderne i dagtilbud og skoler.",
        "forventninger": "Et opdateret beredskab, der bruges systematisk.",
        "forankring": "Direktionen følger forløbet; børnechefen er tovholder.",
        "fokus": "Et kendt og brugt beredskab",
        "foretrukken_start": (today() + timedelta(days=30)).isoformat(),
        "kontaktpersoner": [
            {"navn": "Fiktiv Leder", "rolle": "Børnechef", "email": "leder@kommune.example"},
            {"navn": "Fiktiv Faglig", "rolle": "Faglig leder", "email": "faglig@kommune.example"},
        ],
        "tidligere_bistand": [],
        "ingen_tidligere_bistand": True,
        "underretninger": 120,
        "foranstaltninger": 35,
        "underskriver_navn": "Fiktiv Direktør",
        "underskriver_titel": "Direktør",
        "underskrevet_dato": today().isoformat(),
        "indledende_moede": True,
        "direktoerbeslutning": True,
        **overrides,
    }


DOCS = [
    Upload("referat", "Referat ledelsesmøde.pdf", MINUTES),
    Upload("underskrift", "Erklæring.pdf", SIGNED),
]


def _count(model: Any) -> int:
    with session_scope() as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


def test_from_application_to_a_course_that_starts_by_itself_once(monkeypatch: pytest.MonkeyPatch) -> None:
    with scanned_logs(monkeypatch):  # every log line at DEBUG: no e-mail, CPR number or secret
        _from_application_to_course()


def _from_application_to_course() -> None:
    application = applications.submit("overgreb", "Kolding", answers(), DOCS)
    assert application.id is not None and application.flow_run_id is not None
    run_id = application.flow_run_id
    assert run_application(run_id) == "Suspended"  # waits on the assessment with no process
    detail = applications.application_detail(application.id)
    assert detail.application.status == ApplicationStatus.ASSESSMENT and detail.row.gate_ok
    assert [n.purpose for n in detail.letters] == ["ansoegning_kvittering"] * 2
    assert {d.kind for d in detail.documents} == {"referat", "underskrift"}

    applications.score(
        application.id, "Konsulent K", {"motivation": (4, "klar"), "ledelse": (5, "")}, actor="kk"
    )
    applications.score(application.id, "Konsulent M", {"motivation": (3, "")}, actor="mm")
    assert applications.application_detail(application.id).row.score == 4.0

    start = today() + timedelta(days=20)
    applications.decide(application.id, "accept", actor="kk", consultant="Konsulent K", start_date=start)
    assert run_application(run_id) == "Suspended"  # the letter is sent; it waits for the start date
    detail = applications.application_detail(application.id)
    assert detail.application.status == ApplicationStatus.ACCEPTED
    assert [n.purpose for n in detail.letters].count("ansoegning_optaget") == 2
    assert detail.application.wake_at is not None and detail.application.course_id is None

    # The start date passes while no runner runs; the loop runs twice before any runner is back.
    with frozen(datetime.combine(start, datetime.min.time(), tzinfo=UTC) + timedelta(hours=8)):
        first = recovery.wake_due_applications(actor="runner-test")
        assert [f.kind for f, _ in first] == ["application_due"]
        assert recovery.wake_due_applications(actor="runner-test") == []  # already scheduled
        assert run_application(run_id) == "Completed"
        assert recovery.wake_due_applications(actor="runner-test") == []
    detail = applications.application_detail(application.id)
    assert detail.application.status == ApplicationStatus.STARTED and detail.application.course_id
    with session_scope() as session:
        course_rows = list(session.exec(select(Course).where(Course.application_id == application.id)))
        assert len(course_rows) == 1
        course = course_rows[0]
        contacts = list(session.exec(select(Contact).where(Contact.course_id == course.id)))
    assert course.focus == "Et kendt og brugt beredskab" and course.consultant == "Konsulent K"
    assert course.start_date == start and course.programme == "overgreb"
    assert {(c.email, c.organisation) for c in contacts} == {
        ("leder@kommune.example", "kommune"),
        ("faglig@kommune.example", "kommune"),
    }
    # A replay of the application run (a retry) starts nothing twice.
    assert applications.start_course_for(application.id) == course.id
    assert _count(Course) == 1
    assert course.flow_run_id is not None
    assert run_until_wait(course.flow_run_id).state.name == "Suspended"  # type: ignore[union-attr]


def test_capacity_full_defers_and_a_consultant_can_start_earlier() -> None:
    # overgreb: four courses a year. Three courses already started by hand this year, one accepted.
    year_end = date(today().year, 12, 31)
    for name in ("Vejle", "Horsens", "Aarhus"):
        with session_scope() as session:
            from services.municipalities import find_municipality

            code = find_municipality(session, name).code
            session.add(
                Course(
                    municipality_code=code,
                    programme="overgreb",
                    programme_version=1,
                    consultant="K",
                    start_date=today(),
                    status="completed",  # type: ignore[arg-type]
                )
            )
    first = applications.submit("overgreb", "Odense", answers(foretrukken_start=year_end.isoformat()), DOCS)
    second = applications.submit("overgreb", "Aalborg", answers(foretrukken_start=year_end.isoformat()), DOCS)
    assert first.id and second.id and first.flow_run_id and second.flow_run_id
    run_application(first.flow_run_id)
    run_application(second.flow_run_id)
    applications.decide(first.id, "accept", actor="kk", consultant="K", start_date=year_end)
    with pytest.raises(Conflict) as full:
        applications.decide(second.id, "accept", actor="kk", consultant="K", start_date=year_end)
    assert "Kapaciteten" in full.value.message and f"defer --slot {year_end.year + 1}" in full.value.message
    deferred = applications.decide(second.id, "defer", actor="kk", consultant="K")
    assert deferred.status == ApplicationStatus.DEFERRED and deferred.slot == str(year_end.year + 1)
    assert deferred.start_date is not None and deferred.start_date.year == year_end.year + 1
    assert run_application(second.flow_run_id) == "Suspended"
    detail = applications.application_detail(second.id)
    assert "ansoegning_udskudt" in [n.purpose for n in detail.letters]
    # The consultant starts it now, by hand.
    applications.start_now(second.id, actor="kk")
    assert run_application(second.flow_run_id) == "Completed"
    assert applications.application_detail(second.id).application.status == ApplicationStatus.STARTED


def _nothing_stored(before: dict[str, int]) -> None:
    assert {m: _count(m) for m in (Application, ApplicationDocument, Notification)} == before


@pytest.mark.parametrize(
    ("case", "error", "words"),
    [
        ("missing_field", InvalidInput, "motivation: skal udfyldes"),
        ("cpr_in_text", CprNumberFound, "CPR-nummer"),
        ("cpr_in_pdf", CprNumberFound, "PDF-filen ser ud til at indeholde et CPR-nummer"),
        ("not_pdf", InvalidInput, "ikke en PDF"),
        ("too_big", InvalidInput, "større end 10 MB"),
        ("unknown_municipality", NotFound, "Atlantis"),
        ("second_open", Conflict, "allerede en åben ansøgning"),
        ("active_course", Conflict, "igangværende forløb"),
        ("closed_round", InvalidInput, "Næste ansøgningsrunde"),
        ("no_intro_talk", InvalidInput, "indledende drøftelse"),
    ],
)
def test_bad_input_is_refused_in_danish_and_nothing_is_stored(
    case: str, error: type[Exception], words: str, tmp_path: Path
) -> None:
    programme, kommune, data, files = "overgreb", "Esbjerg", answers(), list(DOCS)
    if case == "second_open":
        applications.submit("overgreb", "Esbjerg", answers(), [])
    if case == "active_course":
        with session_scope() as session:
            session.add(
                Course(
                    municipality_code=561,
                    programme="overgreb",
                    programme_version=1,
                    consultant="K",
                    start_date=today(),
                )
            )
    before = {m: _count(m) for m in (Application, ApplicationDocument, Notification)}
    if case == "missing_field":
        data.pop("motivation")
    elif case == "cpr_in_text":
        data["udfordringer"] = "Se sagen om 010203-1234"
    elif case == "cpr_in_pdf":
        files = [Upload("referat", "r.pdf", pdf_with_text("Barn 010203-1234"))]
    elif case == "not_pdf":
        files = [Upload("referat", "referat.pdf", b"PK\x03\x04 a zip pretending")]
    elif case == "too_big":
        files = [Upload("referat", "r.pdf", MINUTES + b"0" * (10 * 1024 * 1024))]
    elif case == "unknown_municipality":
        kommune = "Atlantis"
    elif case == "closed_round":
        programme = "minoritetsetniske"
    elif case == "no_intro_talk":
        programme, data = "inddragelse", answers(organisering="Børn og unge er én forvaltning.")
    if case == "closed_round":
        with frozen(datetime(2026, 11, 24, 10, tzinfo=UTC)), pytest.raises(error) as refused:
            applications.submit(programme, kommune, data, files)
    else:
        with pytest.raises(error) as refused:
            applications.submit(programme, kommune, data, files)
    message = getattr(refused.value, "message", str(refused.value))
    assert words in message
    assert "010203" not in message
    _nothing_stored(before)
    if case in ("cpr_in_pdf", "not_pdf", "too_big"):
        uploads = tmp_path / "data" / "uploads"
        assert not uploads.exists() or not any(uploads.rglob("*.pdf"))


def test_decisions_that_break_the_gate_or_have_no_reason_are_refused() -> None:
    application = applications.submit("overgreb", "Herning", answers(underskriver_navn=None), [DOCS[0]])
    assert application.id is not None
    with pytest.raises(Conflict) as gate:
        applications.decide(application.id, "accept", actor="kk", consultant="K")
    assert "minimumskriterierne" in gate.value.message and "underskrevet erklæring" in gate.value.message
    with pytest.raises(InvalidInput):
        applications.decide(application.id, "reject", actor="kk", reason="fordi")
    applications.add_document(application.id, DOCS[1], actor="kommune: Herning (link)")
    assert applications.application_detail(application.id).row.missing == [
        "underskriverens navn, titel og dato"
    ]
    rejected = applications.decide(application.id, "reject", actor="kk", reason="minimum")
    assert rejected.status == ApplicationStatus.REJECTED
    with pytest.raises(Conflict):
        applications.withdraw(application.id, actor="kommune")
    with session_scope() as session:
        actions = [
            e.action
            for e in session.exec(
                select(AuditEvent)
                .where(AuditEvent.application_id == application.id)
                .order_by(col(AuditEvent.id))
            )
        ]
    assert actions == ["ansøgning modtaget", "dokument tilføjet", "dokument tilføjet", "afgørelse: afslag"]


def test_rounds_and_the_intro_talk() -> None:
    with frozen(datetime(2026, 3, 2, 9, tzinfo=UTC)):
        state = applications.intake_state("minoritetsetniske")
        assert state.open and state.round is not None and state.round.key == "2026-foraar"
        application = applications.submit(
            "minoritetsetniske", "Randers", answers(foretrukken_start=None, direktoerbeslutning=False), DOCS
        )
        assert application.preferred_start == state.round.preferred_start
        rows = applications.list_rounds()
        assert any(r.key == "2026-foraar" and r.is_open and r.applications == 1 for r in rows)
        assert [r.id for r in applications.list_applications(round_key="2026-foraar")] == [application.id]
    applications.register_intro_talk("Viborg", "inddragelse", today(), actor="kk")
    talk_ok = applications.submit(
        "inddragelse", "Viborg", answers(organisering="Én forvaltning for børn og unge."), DOCS
    )
    assert talk_ok.status == ApplicationStatus.SUBMITTED


def test_demo_applications_cover_every_state() -> None:
    from devtools.demo import create_demo_applications

    lines = create_demo_applications()
    assert len(lines) == 9 and all("kunne ikke" not in line for line in lines), lines
    for row in applications.list_applications():
        assert row.flow_run_id is not None
        run_application(row.flow_run_id)
    states = {r.municipality: r.status.value for r in applications.list_applications()}
    assert set(states.values()) == {
        "assessment", "accepted", "deferred", "rejected", "withdrawn", "started"
    }  # fmt: skip
    assert states["Viborg"] == "started" and states["Silkeborg"] == "assessment"
    assert create_demo_applications() == []  # a second `make run` adds none


def test_cli_rounds_applications_show_and_decide() -> None:
    from typer.testing import CliRunner

    from forloeb.cli import app

    runner = CliRunner(env={"COLUMNS": "200"})
    application = applications.submit("overgreb", "Skive", answers(), DOCS)
    rounds = runner.invoke(app, ["rounds"])
    assert rounds.exit_code == 0 and "foraar" in rounds.output and "overgreb: løbende optag" in rounds.output
    listed = runner.invoke(app, ["applications", "--status", "submitted"])
    assert listed.exit_code == 0 and "Skive" in listed.output and "✓" in listed.output
    assert runner.invoke(app, ["applications", "--status", "afventer"]).exit_code == 2
    shown = runner.invoke(app, ["application", "show", str(application.id)])
    assert shown.exit_code == 0 and "Minimumskriterier: opfyldt" in shown.output and "Referat" in shown.output
    assert runner.invoke(app, ["application", "show", "999"]).exit_code == 3
    no_reason = runner.invoke(app, ["decide", str(application.id), "reject"])
    assert no_reason.exit_code == 2 and "begrundelse" in no_reason.output
    start = (today() + timedelta(days=14)).isoformat()
    decided = runner.invoke(
        app, ["decide", str(application.id), "accept", "--start", start, "-c", "Konsulent K"]
    )
    assert decided.exit_code == 0, decided.output
    assert "start " + start in decided.output
    again = runner.invoke(app, ["decide", str(application.id), "reject", "--reason", "minimum"])
    assert again.exit_code == 4
