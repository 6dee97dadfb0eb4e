"""Demo courses in different stages, driven through the real service (and so the real flow).

Answers are made up: contacts are fictitious, case references are opaque ("sag-01"), and there
is no personal data about children anywhere.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from core.clock import today
from core.db import session_scope
from core.errors import ForloebError
from core.workdays import add_working_days
from devtools.demo_history import unfold
from models.examples import sample_answer
from models.tables import Course, CourseStatus, HumanTask, TaskStatus
from services import courses, municipalities, read_model
from services.audit import audit


@dataclass(frozen=True)
class DemoCourse:
    municipality: str
    consultant: str
    weeks_ago: int
    steps: int
    """How many tasks to complete: where in the course it should stand."""
    overdue: bool = False
    programme: str = "minoritetsetniske"


DEMO_COURSES = [
    DemoCourse("Aarhus", "Mette Konsulent", 1, 0),
    DemoCourse("København", "Mette Konsulent", 6, 3, overdue=True),
    DemoCourse("Odense", "Jonas Konsulent", 10, 5),
    DemoCourse("Aalborg", "Jonas Konsulent", 16, 8),
    DemoCourse("Esbjerg", "Mette Konsulent", 28, 17),
    # Children's participation: Børns Vilkår's competence track runs beside the main track once
    # the development plan is agreed (6 tasks in), so Vejle shows both tracks at work.
    DemoCourse("Roskilde", "Sara Konsulent", 2, 2, programme="inddragelse"),
    DemoCourse("Vejle", "Sara Konsulent", 12, 8, programme="inddragelse"),
    # Violence and sexual abuse: the emergency plan (beredskab) is under review in Horsens.
    DemoCourse("Horsens", "Jonas Konsulent", 3, 1, programme="overgreb"),
    DemoCourse("Kolding", "Sara Konsulent", 8, 5, programme="overgreb"),
]


def create_demo_courses(timeout_seconds: float = 600) -> list[str]:
    """Start the demo courses that do not exist yet and move each to its stage."""
    created: list[tuple[DemoCourse, int]] = []
    for spec in DEMO_COURSES:
        with session_scope() as session:
            kommune = municipalities.find_municipality(session, spec.municipality)
            exists = session.exec(
                select(Course.id).where(
                    Course.municipality_code == kommune.code, Course.programme == spec.programme
                )
            ).first()
        if exists is not None:
            continue
        start = today() - timedelta(weeks=spec.weeks_ago)
        course = courses.start_course(spec.municipality, spec.programme, spec.consultant, start, actor="demo")
        assert course.id is not None
        created.append((spec, course.id))
    failed = _advance(created, timeout_seconds)
    unfold([cid for _spec, cid in created if cid not in failed])  # a history over the past months
    lines = [
        f"{spec.municipality}: forløb {course_id} FEJLEDE undervejs (se Prefect og .forloeb/logs/runner.log)"
        if course_id in failed
        else f"{spec.municipality}: forløb {course_id}, {spec.steps} opgaver udført"
        for spec, course_id in created
    ]
    return lines + create_demo_applications() + create_demo_network()


def _has_failed(course_id: int) -> bool:
    with session_scope() as session:
        course = session.get(Course, course_id)
        return course is not None and course.status == CourseStatus.FAILED


def _advance(started: list[tuple[DemoCourse, int]], timeout_seconds: float) -> set[int]:
    """Complete tasks round-robin as the runner reaches them (each course waits on its flow).
    Returns the courses whose run failed on the way (the others still get their stages)."""
    done = {course_id: 0 for _, course_id in started}
    failed: set[int] = set()
    deadline = time.monotonic() + timeout_seconds
    pending = [(spec, cid) for spec, cid in started if spec.steps > 0 or spec.overdue]
    while pending and time.monotonic() < deadline:
        progressed = False
        for spec, course_id in list(pending):
            tasks, _count = read_model.task_inbox(course_id=course_id)
            if not tasks:
                if _has_failed(course_id):
                    failed.add(course_id)
                    pending.remove((spec, course_id))
                continue  # the runner has not reached the next wait yet
            task = tasks[0].task
            if done[course_id] >= spec.steps:
                if spec.overdue:
                    _make_overdue(task)
                pending.remove((spec, course_id))
                continue
            assert task.id is not None
            base = today() - timedelta(weeks=max(spec.weeks_ago - 2 * done[course_id], 0))
            try:
                courses.complete_task(task.id, sample_answer(task.kind, base), actor="demo")
            except ForloebError:
                continue  # the flow has not suspended on it yet; try again next round
            done[course_id] += 1
            progressed = True
        if not progressed:
            time.sleep(0.5)
    if pending:
        raise TimeoutError("Demoforløbene nåede ikke frem i tide: kører runneren?")
    return failed


def _make_overdue(task: HumanTask) -> None:
    """Demo only: move a task's deadline into the past so the overdue view has something to show."""
    with session_scope() as session:
        row = session.get(HumanTask, task.id)
        if row is None or row.status != TaskStatus.OPEN:
            return
        row.due_date = add_working_days(today(), -3)
        session.add(row)
        audit(session, actor="demo", action="frist rykket (demo)", course_id=row.course_id, detail=row.title)


def demo_consultants() -> list[str]:
    return sorted({spec.consultant for spec in DEMO_COURSES})


def demo_course_ids() -> list[int]:
    with session_scope() as session:
        return [cid for cid in session.exec(select(Course.id).order_by(col(Course.id))) if cid is not None]


# --- demo applications (issue 13) ------------------------------------------------------------


@dataclass(frozen=True)
class DemoApplication:
    municipality: str
    programme: str
    state: str
    """submitted, missing (the gate fails), scored, accepted, deferred, rejected, withdrawn, started."""


DEMO_APPLICATIONS = [
    DemoApplication("Randers", "overgreb", "submitted"),
    DemoApplication("Silkeborg", "overgreb", "missing"),
    DemoApplication("Herning", "overgreb", "scored"),
    DemoApplication("Viborg", "overgreb", "started"),
    DemoApplication("Holstebro", "overgreb", "accepted"),
    DemoApplication("Svendborg", "overgreb", "deferred"),
    DemoApplication("Næstved", "overgreb", "rejected"),
    DemoApplication("Hjørring", "overgreb", "withdrawn"),
    DemoApplication("Frederikshavn", "inddragelse", "scored"),
]


def _demo_pdf(*lines: str) -> bytes:
    """A one-page made-up PDF (no personal data about children)."""
    stream = "BT /F1 12 Tf 72 720 Td " + " ".join(f"({line}) Tj 0 -16 Td" for line in lines) + " ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _demo_answers(spec: DemoApplication, preferred: str) -> dict[str, object]:
    slug = spec.municipality.lower().replace("ø", "oe").replace("æ", "ae").replace("å", "aa")
    return {
        "motivation": "Vi vil styrke den faglige praksis og ledelsens opfølgning.",
        "udfordringer": "Opsporingen er ujævn, og samarbejdet med skoler og dagtilbud kan styrkes.",
        "forventninger": "Fælles arbejdsgange, der bruges systematisk.",
        "forankring": "Direktionen følger forløbet; børne- og ungechefen er tovholder.",
        "fokus": "Opsporing og samarbejde på tværs",
        "organisering": "Myndighed, udfører og almenområde i én forvaltning.",
        "foretrukken_start": preferred,
        "kontaktpersoner": [{"navn": "Fiktiv Leder", "rolle": "Børnechef", "email": f"leder@{slug}.example"}],
        "tidligere_bistand": [{"ordning": "task_force", "aar": today().year - 1}]
        if spec.state == "scored"
        else [],
        "ingen_tidligere_bistand": spec.state != "scored",
        "underretninger": 140,
        "foranstaltninger": 40,
        "underskriver_navn": "Fiktiv Direktør",
        "underskriver_titel": "Direktør",
        "underskrevet_dato": today().isoformat(),
        "indledende_moede": True,
        "direktoerbeslutning": True,
    }


def create_demo_applications() -> list[str]:
    """Applications in every state, through the real services (and so the real application flow);
    nothing when there are applications already."""
    from services import applications
    from services.applications import Upload

    if applications.list_applications():
        return []
    minutes = _demo_pdf("Referat fra ledelsesmoede", "Direktionen bakker op om ansoegningen")
    signed = _demo_pdf("Erklaering", "Underskrevet af direktoeren")
    lines = []
    for spec in DEMO_APPLICATIONS:
        preferred = (today() + timedelta(days=21)).isoformat()
        files = [Upload("referat", "Referat ledelsesmøde.pdf", minutes)]
        if spec.state != "missing":
            files.append(Upload("underskrift", "Erklæring direktør.pdf", signed))
        try:
            if spec.programme == "inddragelse":
                applications.register_intro_talk(spec.municipality, spec.programme, today(), actor="demo")
            application = applications.submit(
                spec.programme, spec.municipality, _demo_answers(spec, preferred), files, actor="demo"
            )
            assert application.id is not None
            number = application.id
            if spec.state in ("scored", "accepted", "deferred", "started", "rejected"):
                for consultant, points in (("Mette Konsulent", 4), ("Jonas Konsulent", 3)):
                    applications.score(
                        number,
                        consultant,
                        {c: (points, "") for c in ("motivation", "udfordring", "moenstre", "ledelse")},
                        actor="demo",
                    )
            if spec.state in ("accepted", "started"):
                applications.decide(number, "accept", actor="demo", consultant="Sara Konsulent")
            elif spec.state == "deferred":
                applications.decide(number, "defer", actor="demo", consultant="Jonas Konsulent")
            elif spec.state == "rejected":
                applications.decide(number, "reject", actor="demo", reason="udenfor")
            elif spec.state == "withdrawn":
                applications.withdraw(number, actor=f"kommune: {spec.municipality} (link)")
            if spec.state == "started":
                applications.start_now(number, actor="demo")
            lines.append(f"{spec.municipality}: ansøgning {number} ({spec.state})")
        except ForloebError as exc:
            lines.append(f"{spec.municipality}: demoansøgningen kunne ikke laves: {exc.message}")
    return lines


DEMO_NETWORK = [
    ("Esbjerg", "Fiktiv Afdelingsleder", "afdelingsleder@esbjerg.example"),
    ("Aalborg", "Fiktiv Faglig Koordinator", "koordinator@aalborg.example"),
    ("Odense", "Fiktiv Teamleder", "teamleder@odense.example"),
]


def create_demo_network() -> list[str]:
    """Members of the cross-municipal network, a meeting held and one ahead, through the real
    services (the invitations go to the dev mailbox); nothing when the network has members."""
    from models.tables import NetworkMeeting
    from services import network

    if network.member_count():
        return []
    held = add_working_days(today(), -30)
    with session_scope() as session:
        codes = [municipalities.find_municipality(session, name).code for name, _, _ in DEMO_NETWORK]
        session.add(
            NetworkMeeting(
                title="Netværkets første møde",
                starts_at=datetime(held.year, held.month, held.day, 10, tzinfo=UTC),
                location="Socialstyrelsen, Odense",
                agenda="1. Velkomst\n2. Hvad vil vi med netværket?",
                created_by="Mette Konsulent",
            )
        )
    for code, (_name, person, email) in zip(codes, DEMO_NETWORK, strict=True):
        network.sign_up(str(code), person, email, consent=True)
    network.plan_meeting(
        network.MeetingInput(
            title="Netværksmøde om genbesøgene",
            at=f"{add_working_days(today(), 15).isoformat()} 13:00",
            location="Socialstyrelsen, Odense",
            agenda="1. Velkomst\n2. Erfaringer fra genbesøgene\n3. Næste møde",
        ),
        actor="demo",
        organizer="Mette Konsulent",
    )
    return [f"Netværket: {len(DEMO_NETWORK)} tilmeldte, et møde afholdt og et planlagt"]
