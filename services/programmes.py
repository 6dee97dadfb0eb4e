"""Programme versions: list, show, validate and compare definitions, and move a waiting course to a
newer version of its programme (`forloeb programmes ...`, `forloeb course migrate`).

Adding a version never changes a running course: a course is pinned to the version it started on.
`migrate_course` moves one, on request, when everything it has done maps onto the new version
(same stages on the same tracks, same steps with the same forms); otherwise it refuses and says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlmodel import col, func, select

from core.db import session_scope
from core.errors import Conflict, InvalidInput, NotFound
from models.programmes import (
    DefinitionError,
    Problem,
    ProgrammeDef,
    StageDef,
    catalog,
    find_programme,
    load_file,
)
from models.tables import ACTIVE_STATUSES, Course, HumanTask, Meeting, StageRun, StageStatus
from services.audit import audit


@dataclass(frozen=True)
class VersionRow:
    key: str
    version: int
    name: str
    tracks: list[str]
    stages: int
    active_courses: int
    all_courses: int
    newest: bool
    file: str


def list_versions() -> list[VersionRow]:
    cat = catalog()
    with session_scope() as session:
        counts = {
            (programme, version, status): int(n)
            for programme, version, status, n in session.exec(
                select(Course.programme, Course.programme_version, Course.status, func.count()).group_by(
                    col(Course.programme), col(Course.programme_version), col(Course.status)
                )
            )
        }
    newest: dict[str, int] = {}
    for key, version in cat.programmes:
        newest[key] = max(newest.get(key, 0), version)
    rows = []
    for (key, version), programme in sorted(cat.programmes.items()):
        mine = {status: n for (p, v, status), n in counts.items() if p == key and v == version}
        rows.append(
            VersionRow(
                key=key,
                version=version,
                name=programme.name,
                tracks=[t.name for t in programme.tracks],
                stages=len(programme.stages),
                active_courses=sum(n for status, n in mine.items() if status in ACTIVE_STATUSES),
                all_courses=sum(mine.values()),
                newest=newest[key] == version,
                file=cat.files[(key, version)].name,
            )
        )
    return rows


def refused_files() -> dict[str, list[Problem]]:
    """Definition files that were not loaded, with their problems (the others serve on)."""
    return catalog().refused


def get_version(key: str, version: int | None = None) -> ProgrammeDef:
    versions = sorted(v for k, v in catalog().programmes if k == key)
    if not versions:
        known = ", ".join(sorted({k for k, _ in catalog().programmes}))
        raise NotFound(f"Ukendt program '{key}'. Kendte programmer: {known}.")
    chosen = versions[-1] if version is None else version
    programme = find_programme(key, chosen)
    if programme is None:
        raise NotFound(f"{key} har ingen version {chosen}. Versioner: {', '.join(str(v) for v in versions)}.")
    return programme


def validate_file(path: Path) -> tuple[ProgrammeDef | None, list[Problem]]:
    """The definition in `path` and its problems (every one, with its line)."""
    if not path.is_file():
        raise InvalidInput(f"Filen {path} findes ikke.")
    try:
        return load_file(path), []
    except DefinitionError as exc:
        return None, exc.problems


# --- diff -----------------------------------------------------------------------------------


def _stage_line(stage: StageDef) -> str:
    return f"{stage.name} ({stage.key})"


def diff(key: str, old_version: int, new_version: int) -> list[str]:
    """What changed from one version to the other, a line each, in Danish."""
    old, new = get_version(key, old_version), get_version(key, new_version)
    lines: list[str] = []

    def compare(what: str, before: dict[str, object], after: dict[str, object]) -> None:
        for k in sorted(after.keys() - before.keys()):
            lines.append(f"+ {what} {k}")
        for k in sorted(before.keys() - after.keys()):
            lines.append(f"- {what} {k}")
        for k in sorted(before.keys() & after.keys()):
            if before[k] != after[k]:
                lines.append(f"~ {what} {k} er ændret")

    if old.name != new.name:
        lines.append(f"~ navn: '{old.name}' -> '{new.name}'")
    compare("organisation", {o.key: o for o in old.organisations}, {o.key: o for o in new.organisations})
    compare("rolle", {r.key: r for r in old.roles}, {r.key: r for r in new.roles})
    compare("mødetype", {k.key: k for k in old.meeting_kinds}, {k.key: k for k in new.meeting_kinds})
    compare("formular", {f.key: f for f in old.forms}, {f.key: f for f in new.forms})
    compare("spor", {t.key: t.name for t in old.tracks}, {t.key: t.name for t in new.tracks})
    old_stages = {s.key: s for s in old.stages}
    new_stages = {s.key: s for s in new.stages}
    for k in [s.key for s in new.stages if s.key not in old_stages]:
        lines.append(f"+ fase {_stage_line(new_stages[k])} i sporet '{new.track_of[k].name}'")
    for k in [s.key for s in old.stages if s.key not in new_stages]:
        lines.append(f"- fase {_stage_line(old_stages[k])}")
    for k in [s.key for s in new.stages if s.key in old_stages]:
        a, b = old_stages[k], new_stages[k]
        if a == b and old.track_of[k].key == new.track_of[k].key:
            continue
        changes = []
        if old.track_of[k].key != new.track_of[k].key:
            changes.append(f"spor {old.track_of[k].key} -> {new.track_of[k].key}")
        for field in ("name", "planned_weeks", "after", "starts", "repeat", "messages"):
            if getattr(a, field) != getattr(b, field):
                changes.append(field)
        old_steps = {s.key: s for s in a.steps}
        new_steps = {s.key: s for s in b.steps}
        changes += [f"+trin {s}" for s in new_steps if s not in old_steps]
        changes += [f"-trin {s}" for s in old_steps if s not in new_steps]
        changes += [f"~trin {s}" for s in new_steps if s in old_steps and old_steps[s] != new_steps[s]]
        if changes:
            lines.append(f"~ fase {_stage_line(b)}: {', '.join(changes)}")
    if [s.key for s in old.stages if s.key in new_stages] != [
        s.key for s in new.stages if s.key in old_stages
    ]:
        lines.append("~ faserne har en ny rækkefølge")
    return lines


# --- migrating a course -----------------------------------------------------------------------


def migration_problems(course_id: int, target: ProgrammeDef) -> list[str]:
    """Why the course's stored progress does not map onto `target` (empty: it does)."""
    with session_scope() as session:
        course = session.get(Course, course_id)
        if course is None:
            raise NotFound(f"Forløb {course_id} findes ikke.")
        current = find_programme(course.programme, course.programme_version)
        stages = list(session.exec(select(StageRun).where(StageRun.course_id == course_id)))
        tasks = list(session.exec(select(HumanTask).where(HumanTask.course_id == course_id)))
        meetings = list(session.exec(select(Meeting).where(Meeting.course_id == course_id)))
    problems: list[str] = []
    for run in stages:
        if run.status == StageStatus.PLANNED:
            continue
        if run.stage_key not in target.track_of:
            problems.append(
                f"fasen '{run.name}' ({run.stage_key}) er begyndt, men findes ikke i version {target.version}"
            )
            continue
        track = target.track_of[run.stage_key].key
        if track != run.track:
            problems.append(
                f"fasen '{run.name}' ligger i sporet '{track}' i version {target.version}, ikke '{run.track}'"
            )
    for task in tasks:
        found = target.step_of_task(task.key)
        if found is None:
            problems.append(f"opgaven '{task.title}' ({task.key}) har intet trin i version {target.version}")
            continue
        stage, step, _round = found
        if stage.key != task.stage_key:
            problems.append(
                f"opgaven '{task.title}' hører til fasen '{stage.key}' i version {target.version}"
            )
        model = target.form(step.form).model if step.form else None
        if model != task.kind:
            problems.append(
                f"opgaven '{task.title}' ({task.key}) har en anden formular "
                f"i version {target.version} ({model})"
            )
    kinds = {k.key for k in target.meeting_kinds}
    for meeting in meetings:
        if meeting.kind not in kinds:
            problems.append(
                f"mødet '{meeting.title}' er af en mødetype ({meeting.kind}), "
                f"som version {target.version} ikke kender"
            )
    if current is not None and current.key != target.key:
        problems.append(f"forløbet er i programmet '{current.key}', ikke '{target.key}'")
    return problems


def migrate_course(course_id: int, to_version: int, *, actor: str) -> str:
    """Move a waiting course to `to_version` of its programme, or refuse with the reasons."""
    from services import prefect_gateway
    from services.flow_steps import plan_stages, planned_stage_row

    with session_scope() as session:
        course = session.get(Course, course_id)
        if course is None:
            raise NotFound(f"Forløb {course_id} findes ikke.")
        if course.status not in ACTIVE_STATUSES:
            raise Conflict(f"Forløb {course_id} er ikke aktivt; kun et aktivt forløb kan flyttes.")
        if course.programme_version == to_version:
            raise Conflict(f"Forløb {course_id} kører allerede på version {to_version}.")
        programme_key, from_version, run_id = course.programme, course.programme_version, course.flow_run_id
    target = get_version(programme_key, to_version)
    problems = migration_problems(course_id, target)
    if problems:
        raise Conflict(
            f"Forløb {course_id} kan ikke flyttes til {programme_key} version {to_version}:\n- "
            + "\n- ".join(problems),
            details=problems,
        )
    if run_id:
        state = prefect_gateway.run_state(run_id)
        if not state.waiting:
            raise Conflict(
                f"Forløb {course_id} venter ikke lige nu (Prefect-kørslen er {state.name}); "
                "prøv igen om et øjeblik. Intet er ændret."
            )
    with session_scope() as session:
        course = session.get(Course, course_id, with_for_update=True)
        assert course is not None
        rows = {r.stage_key: r for r in session.exec(select(StageRun).where(StageRun.course_id == course_id))}
        for planned in plan_stages(target, course.start_date):
            key, name, track, position, start, end = planned
            row = rows.pop(key, None)
            if row is None:
                session.add(planned_stage_row(course_id, planned))
                continue
            row.name, row.track, row.position = name, track, position
            if row.status == StageStatus.PLANNED:
                row.planned_start, row.planned_end = start, end
            session.add(row)
        for leftover in rows.values():  # only planned stages can be left over (checked above)
            session.delete(leftover)
        course.programme_version = to_version
        session.add(course)
        audit(
            session,
            actor=actor,
            action="forløb flyttet til ny version",
            course_id=course_id,
            detail=f"{programme_key} version {from_version} -> {to_version}",
        )
    if run_id:  # the run reads the new version at once and goes on from where it was
        prefect_gateway.wake_course_run(run_id, settle_seconds=0)
    return (
        f"Forløb {course_id} kører nu på {programme_key} version {to_version} (før: version {from_version})."
    )
