"""Courses that heal themselves: find where the app database and Prefect disagree, and repair it.

A course waiting on a task must always have a run suspended on that task's key, with the form's
schema stored, so the answer can be given. `diagnose()` compares every unfinished course with
its Prefect run and the live runners; `repair()` fixes one finding; `repair_automatically()`
(called by the lead runner every few seconds) fixes what is safe to fix without a person.

    finding              what is wrong                                   repair
    orphaned_run         Running/Pending, but no live runner has it       hand it back (Crashed ->
                         (its runner was killed, or lost the server)      AwaitingRetry): any runner
                                                                          runs it again from the top
    lost_schema          waiting on the task, but Prefect lost the        store the schema again
                         form's schema: every answer would be refused
    answer_not_delivered the answer is stored, the run still waits        resume it (it reads the answer)
    timer_due            a stage's timer has come, the run still waits    resume it (the stage begins)
    wrong_wait           waiting, but on nothing: no open task, no timer  hand it back (replay)
                         (or, for a wait from before the engine, on a
                         key that is no open task)
    stopped_run          the run ended (Failed/Crashed) while the course  hand it back (replay); by
                         is unfinished, e.g. after an outage              itself at most 3 times an hour
    failed_course        the course stopped on a defect                   only by a person, after the
                                                                          fix: 'forloeb course resume'
    no_runner            runs are due but no runner is alive             none: start a runner

Every repair is audited (who, what). Nothing here deletes or rewrites an answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict
from sqlmodel import col, select

from core.clock import as_utc, now
from core.db import session_scope
from core.errors import Conflict, NotFound
from core.settings import get_settings
from models.forms import get_form
from models.tables import (
    ACTIVE_STATUSES,
    AuditEvent,
    Course,
    CourseStatus,
    HumanTask,
    Municipality,
    RunnerProcess,
    TaskStatus,
)
from services.audit import audit

AUTO_REPAIRS_PER_HOUR = 3
"""How often a course's stopped run is restarted by itself before a person must look."""
REPAIR_ACTION = "reparation"
AUTO_KINDS = frozenset(
    {"orphaned_run", "lost_schema", "answer_not_delivered", "timer_due", "wrong_wait", "stopped_run"}
)


class Finding(BaseModel):
    """One course whose app database and Prefect state disagree (also the API's answer)."""

    model_config = ConfigDict(frozen=True)

    course_id: int
    municipality: str
    kind: str
    explanation: str
    """What is wrong, in Danish, for a person."""
    remedy: str
    """What a repair does (or what a person must do), in Danish."""
    flow_run_id: str | None
    automatic: bool
    """The lead runner repairs it by itself."""
    task_key: str | None = None


class Diagnosis(BaseModel):
    model_config = ConfigDict(frozen=True)

    findings: list[Finding]
    courses_checked: int
    live_runners: int


# --- runners ---------------------------------------------------------------------------------


def live_runners(at: datetime | None = None) -> list[RunnerProcess]:
    limit = (at or now()) - timedelta(seconds=get_settings().runner_alive_seconds)
    with session_scope() as session:
        rows = session.exec(select(RunnerProcess).order_by(col(RunnerProcess.started_at))).all()
    return [r for r in rows if as_utc(r.seen_at) >= limit]


def runner_heartbeat(runner_id: str, host: str, pid: int, running: list[str]) -> bool:
    """Record that this runner is alive and which runs it executes. Returns True when it leads
    (the oldest live runner), and so does the automatic repairs."""
    at = now()
    with session_scope() as session:
        row = session.get(RunnerProcess, runner_id)
        if row is None:
            row = RunnerProcess(id=runner_id, host=host, pid=pid, started_at=at, seen_at=at)
        row.seen_at = at
        row.running = sorted(running)
        session.add(row)
    alive = live_runners(at)
    return bool(alive) and alive[0].id == runner_id


def runner_stopped(runner_id: str) -> None:
    with session_scope() as session:
        row = session.get(RunnerProcess, runner_id)
        if row is not None:
            session.delete(row)


# --- diagnosis -------------------------------------------------------------------------------


def _held_runs(runners: list[RunnerProcess]) -> set[str]:
    return {run_id for runner in runners for run_id in (runner.running or [])}


def _recent_auto_repairs(course_ids: list[int]) -> dict[int, int]:
    since = now() - timedelta(hours=1)
    counts: dict[int, int] = {}
    with session_scope() as session:
        for course_id in session.exec(
            select(AuditEvent.course_id).where(
                col(AuditEvent.course_id).in_(course_ids),
                AuditEvent.action == REPAIR_ACTION,
                col(AuditEvent.actor).startswith("runner"),
                col(AuditEvent.at) >= since,
            )
        ):
            if course_id is not None:
                counts[course_id] = counts.get(course_id, 0) + 1
    return counts


_SCHEMAS_PRESENT: dict[tuple[str, str, datetime | None], None] = {}
"""Waits whose schema was found stored, by (run, schema key, when the wait began): a stored schema
stays while that wait lasts, so the lead runner's loop asks Prefect once per wait, not every 15 s
for every waiting course (one request and one new Prefect client each: with 200 waiting courses,
a fifth of the runner's CPU and slower resumes during a burst, bench/burst.py)."""


def _schema_missing(run_id: str, key: str, since: datetime | None, *, remembered: bool) -> bool:
    from services import prefect_gateway

    wait = (run_id, key, since)
    if remembered and wait in _SCHEMAS_PRESENT:
        return False
    if not prefect_gateway.has_input(run_id, key):
        return True
    if len(_SCHEMAS_PRESENT) > 100_000:
        _SCHEMAS_PRESENT.clear()
    _SCHEMAS_PRESENT[wait] = None
    return False


def diagnose(
    course_id: int | None = None, *, check_schemas: bool = True, remembered_schemas: bool = False
) -> Diagnosis:
    """Every unfinished (or failed) course whose app database and Prefect state disagree.

    `remembered_schemas`: a wait whose schema this process has seen stored is not asked about
    again (the lead runner's loop); a person's `forloeb doctor` and every repair ask Prefect."""
    from services import prefect_gateway

    with session_scope() as session:
        query = (
            select(Course, Municipality.name)
            .join(Municipality, col(Course.municipality_code) == col(Municipality.code))
            .where(col(Course.status).in_([*ACTIVE_STATUSES, CourseStatus.FAILED]))
        )
        if course_id is not None:
            query = query.where(Course.id == course_id)
        rows = list(session.exec(query))
        ids = [c.id for c, _ in rows if c.id is not None]
        tasks: dict[int, list[HumanTask]] = {}
        for task in session.exec(select(HumanTask).where(col(HumanTask.course_id).in_(ids))):
            tasks.setdefault(task.course_id, []).append(task)
    states = prefect_gateway.run_states([c.flow_run_id for c, _ in rows if c.flow_run_id])
    runners = live_runners()
    held = _held_runs(runners)
    repairs = _recent_auto_repairs(ids)
    at = now()
    grace = get_settings().run_state_grace_seconds
    findings: list[Finding] = []
    overdue_scheduled = False
    for course, municipality in rows:
        assert course.id is not None
        run_id = course.flow_run_id
        state = states.get(run_id) if run_id else None
        course_tasks = tasks.get(course.id, [])

        def add(
            kind: str,
            explanation: str,
            remedy: str,
            *,
            automatic: bool = True,
            task_key: str | None = None,
            _course: Course = course,
            _municipality: str = municipality,
        ) -> None:
            findings.append(
                Finding(
                    course_id=_course.id or 0,
                    municipality=_municipality,
                    kind=kind,
                    explanation=explanation,
                    remedy=remedy,
                    flow_run_id=_course.flow_run_id,
                    automatic=automatic and kind in AUTO_KINDS,
                    task_key=task_key,
                )
            )

        if course.status == CourseStatus.FAILED:
            add(
                "failed_course",
                "Forløbet er stoppet på grund af en fejl (se forløbets log).",
                "Når fejlen er rettet: 'forloeb course resume' kører forløbet videre fra, hvor det var.",
                automatic=False,
            )
            continue
        if run_id is None or state is None:
            continue  # a course being created; nothing to compare yet
        age = (at - as_utc(state.since)).total_seconds() if state.since else grace + 1
        if state.executing:
            if run_id not in held and age > grace:
                add(
                    "orphaned_run",
                    f"Prefect-kørslen står som {state.name}, men ingen runner kører den (runneren er "
                    "stoppet eller mistede forbindelsen).",
                    "Kørslen sættes i kø igen og køres videre fra, hvor den var, af en runner.",
                )
            continue
        if state.type == "SCHEDULED":
            overdue_scheduled = overdue_scheduled or age > 120
            continue
        if state.waiting and not prefect_gateway.is_legacy_wait(state):
            unapplied = [t for t in course_tasks if t.status == TaskStatus.COMPLETED and not t.applied]
            wake_at = as_utc(course.wake_at) if course.wake_at else None
            if unapplied:
                add(
                    "answer_not_delivered",
                    f"Svaret på '{unapplied[0].title}' er gemt, men forløbet er ikke gået videre.",
                    "Forløbet genoptages og handler på det gemte svar.",
                    task_key=unapplied[0].key,
                )
            elif wake_at is not None and wake_at <= at:
                add(
                    "timer_due",
                    "En fase skulle begynde nu (dens tidsfrist er nået), men forløbet venter stadig.",
                    "Forløbet genoptages, og fasen begynder.",
                )
            elif wake_at is None and not any(t.status == TaskStatus.OPEN for t in course_tasks):
                add(
                    "wrong_wait",
                    "Prefect-kørslen venter, men forløbet har ingen åben opgave og venter ikke på en dato.",
                    "Kørslen sættes i kø igen og finder selv det næste skridt.",
                )
            continue
        if state.waiting:
            key = state.pause_key
            waited_on = next((t for t in course_tasks if t.key == key), None)
            if waited_on is None or key is None:
                add(
                    "wrong_wait",
                    f"Prefect-kørslen venter på '{key}', som ikke er en opgave i forløbet.",
                    "Kørslen sættes i kø igen og finder selv den rigtige opgave.",
                )
            elif waited_on.status == TaskStatus.COMPLETED and waited_on.answer is not None:
                add(
                    "answer_not_delivered",
                    f"Svaret på '{waited_on.title}' er gemt, men er ikke givet videre til Prefect.",
                    "Forløbet genoptages med det gemte svar.",
                    task_key=key,
                )
            elif (
                check_schemas
                and state.schema_key
                and _schema_missing(run_id, state.schema_key, state.since, remembered=remembered_schemas)
            ):
                add(
                    "lost_schema",
                    f"Forløbet venter på '{waited_on.title}', men Prefect mangler formularens skema, så "
                    "ethvert svar ville blive afvist.",
                    "Skemaet gemmes igen, så svaret kan gives.",
                    task_key=key,
                )
            continue
        if state.final and state.type != "COMPLETED":
            too_many = repairs.get(course.id, 0) >= AUTO_REPAIRS_PER_HOUR
            add(
                "stopped_run",
                f"Prefect-kørslen er {state.name}, men forløbet er ikke afsluttet"
                + (" (genstartet af sig selv flere gange den seneste time)." if too_many else "."),
                "Kørslen sættes i kø igen og køres videre fra, hvor den var."
                + (" En person skal se på det: 'forloeb course resume'." if too_many else ""),
                automatic=not too_many and state.type != "CANCELLED",
            )
    if overdue_scheduled and not runners:
        findings.append(
            Finding(
                course_id=0,
                municipality="",
                kind="no_runner",
                explanation="Der er forløb, der skulle køre videre, men ingen runner kører.",
                remedy="Start runneren (make run, eller systemd-tjenesten forloeb-runner).",
                flow_run_id=None,
                automatic=False,
            )
        )
    return Diagnosis(findings=findings, courses_checked=len(rows), live_runners=len(runners))


# --- repair ----------------------------------------------------------------------------------


def _hand_back(finding: Finding) -> str:
    from services import prefect_gateway

    assert finding.flow_run_id is not None
    prefect_gateway.hand_back(finding.flow_run_id, f"forloeb: {finding.kind}")
    return "kørslen er sat i kø igen"


def _store_schema(finding: Finding) -> str:
    from services import prefect_gateway

    task = _task(finding)
    assert finding.flow_run_id is not None
    prefect_gateway.write_waiting_schema(finding.flow_run_id, get_form(task.kind))
    return "formularens skema er gemt igen"


def _deliver_answer(finding: Finding) -> str:
    from services import prefect_gateway

    task = _task(finding)
    assert finding.flow_run_id is not None and task.answer is not None
    prefect_gateway.wake_course_run(
        finding.flow_run_id, legacy=(task.key, task.answer, get_form(task.kind)), settle_seconds=0
    )
    return "forløbet er genoptaget med det gemte svar"


def _wake(finding: Finding) -> str:
    from services import prefect_gateway

    assert finding.flow_run_id is not None
    prefect_gateway.wake_course_run(finding.flow_run_id, settle_seconds=0)
    return "forløbet er genoptaget"


def _restart_failed(finding: Finding) -> str:
    """A person says the defect is fixed: the course is active again and its run runs on."""
    with session_scope() as session:
        course = session.get(Course, finding.course_id)
        if course is not None and course.status == CourseStatus.FAILED:
            course.status = CourseStatus.ACTIVE
            session.add(course)
    return _hand_back(finding)


def _task(finding: Finding) -> HumanTask:
    with session_scope() as session:
        task = session.exec(
            select(HumanTask).where(
                HumanTask.course_id == finding.course_id, HumanTask.key == finding.task_key
            )
        ).one_or_none()
    if task is None:
        raise NotFound(f"Opgaven '{finding.task_key}' findes ikke i forløb {finding.course_id}.")
    return task


REPAIRS: dict[str, Callable[[Finding], str]] = {
    "orphaned_run": _hand_back,
    "wrong_wait": _hand_back,
    "stopped_run": _hand_back,
    "lost_schema": _store_schema,
    "answer_not_delivered": _deliver_answer,
    "timer_due": _wake,
    "failed_course": _restart_failed,
}


def repair(finding: Finding, *, actor: str) -> str:
    """Fix one finding (re-checked just before, so a repair never acts on a stale picture).
    Returns what was done, in Danish; raises `Conflict` when there is nothing a repair can do."""
    fix = REPAIRS.get(finding.kind)
    if fix is None:
        raise Conflict(f"{finding.explanation} {finding.remedy}")
    current = [
        f
        for f in diagnose(finding.course_id).findings
        if f.kind == finding.kind and f.task_key == finding.task_key
    ]
    if not current:
        return "intet at rette længere"
    done = fix(current[0])
    with session_scope() as session:
        audit(
            session,
            actor=actor,
            action=REPAIR_ACTION,
            course_id=finding.course_id,
            detail=f"{finding.kind}: {finding.explanation} -> {done}",
        )
    return done


def repair_automatically(*, actor: str) -> list[tuple[Finding, str]]:
    """What the lead runner does every few seconds: repair every finding that needs no person."""
    done: list[tuple[Finding, str]] = []
    for finding in diagnose(remembered_schemas=True).findings:
        if not finding.automatic:
            continue
        try:
            done.append((finding, repair(finding, actor=actor)))
        except Exception as exc:  # one course's trouble must not stop the others' repair
            done.append((finding, f"kunne ikke rettes nu ({type(exc).__name__}); prøves igen"))
    try:
        done += wake_due_applications(actor=actor)
    except Exception as exc:  # an application's trouble must not stop the courses' repair
        logging.getLogger(__name__).warning("Ansøgninger kunne ikke vækkes nu: %s", type(exc).__name__)
    return done


def wake_due_applications(*, actor: str) -> list[tuple[Finding, str]]:
    """Applications whose run should act now (their start date has come, or a person's change did
    not wake the run): a suspended run is resumed, a stopped one handed back. A start due while no
    runner ran happens when one is back, once (`services.applications.start_course_for`)."""
    from services import applications, prefect_gateway

    due = applications.due_applications()
    if not due:
        return []
    states = prefect_gateway.run_states([run_id for _, run_id in due])
    done: list[tuple[Finding, str]] = []
    for application_id, run_id in due:
        state = states.get(run_id)
        if state is None or state.executing or state.type == "SCHEDULED":
            continue
        finding = Finding(
            course_id=0,
            municipality=f"ansøgning {application_id}",
            kind="application_due",
            explanation="Ansøgningens kørsel skal handle nu (startdatoen er nået, eller noget er ændret).",
            remedy="Kørslen genoptages.",
            flow_run_id=run_id,
            automatic=True,
        )
        try:
            if state.waiting:
                prefect_gateway.wake_course_run(run_id, settle_seconds=0)
                what = "ansøgningens kørsel er genoptaget"
            elif state.final and state.type != "COMPLETED":
                prefect_gateway.hand_back(run_id, "forloeb: application_due")
                what = "ansøgningens kørsel er sat i kø igen"
            else:
                applications.set_wake(application_id, None)
                continue
        except Exception as exc:
            what = f"kunne ikke vækkes nu ({type(exc).__name__}); prøves igen"
        with session_scope() as session:
            session.add(
                AuditEvent(
                    course_id=None,
                    application_id=application_id,
                    actor=actor,
                    action=REPAIR_ACTION,
                    detail=f"application_due -> {what}",
                )
            )
        done.append((finding, what))
    return done


def resume_course(course_id: int, *, actor: str) -> list[str]:
    """`forloeb course resume N`: repair whatever keeps this course from going on."""
    diagnosis = diagnose(course_id)
    if diagnosis.courses_checked == 0:
        raise NotFound(f"Forløb {course_id} findes ikke eller er afsluttet.")
    if not diagnosis.findings:
        return []
    return [repair(finding, actor=actor) for finding in diagnosis.findings]
