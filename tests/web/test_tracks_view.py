"""Courses with parallel tracks in every read view: the overview row (its text and its tracks), the
API, `forloeb status`, the course page and its Gantt lanes, the per-programme stage filter and
counts; a one-track course looks as before. Rows are laid out straight in the app database."""

from __future__ import annotations

import re
from datetime import timedelta

import typer
from sqlalchemy import event
from sqlmodel import select
from typer.testing import CliRunner

from core.clock import now, today
from core.db import get_engine, session_scope
from forloeb import course_commands
from forloeb.cli import app
from models.programmes import get_programme
from models.tables import Course, CourseStatus, HumanTask, StageRun, StageStatus, TaskStatus
from services import flow_steps, read_model
from services.engine import timer_day
from tests.support.web import PASSWORD, client, logged_in, make_user

AARHUS, ODENSE, AALBORG, ESBJERG = 751, 461, 851, 561


def lay_out(
    municipality_code: int,
    programme: str,
    version: int,
    *,
    done: tuple[str, ...] = (),
    active: tuple[str, ...] = (),
    open_tasks: tuple[tuple[str, str, str], ...] = (),
    answers: dict[str, dict[str, object]] | None = None,
    consultant: str = "Konsulent K",
) -> int:
    """A course with its stage plan (as the flow lays it out), `done` stages finished, `active`
    ones begun (the main track's becomes the course's current stage), and open tasks (stage, key,
    title); `answers` are applied, completed tasks."""
    with session_scope() as session:
        course = Course(
            municipality_code=municipality_code,
            programme=programme,
            programme_version=version,
            consultant=consultant,
            start_date=today() - timedelta(days=120),
            status=CourseStatus.STARTING,
        )
        session.add(course)
        session.flush()
        assert course.id is not None
        course_id = course.id
    flow_steps.activate_course(course_id, None)
    with session_scope() as session:
        stored = session.get(Course, course_id)
        assert stored is not None
        runs = {r.stage_key: r for r in session.exec(select(StageRun).where(StageRun.course_id == course_id))}
        for key in done:
            runs[key].status = StageStatus.DONE
            runs[key].actual_start = now() - timedelta(days=60)
            runs[key].actual_end = now() - timedelta(days=30)
            if runs[key].track == "hoved":  # the main track's last begun stage stays current
                stored.current_stage = key
                stored.current_stage_since = runs[key].actual_start
        for key in active:
            runs[key].status = StageStatus.ACTIVE
            runs[key].actual_start = now() - timedelta(days=10)
            if runs[key].track == "hoved":
                stored.current_stage = key
                stored.current_stage_since = runs[key].actual_start
        for run in runs.values():
            session.add(run)
        session.add(stored)
        for stage_key, key, title in open_tasks:
            session.add(
                HumanTask(
                    course_id=course_id,
                    stage_key=stage_key,
                    key=key,
                    kind="moedeplan",
                    title=title,
                    assignee_role="konsulent",
                    due_date=today() + timedelta(days=5),
                )
            )
        for key, answer in (answers or {}).items():
            session.add(
                HumanTask(
                    course_id=course_id,
                    stage_key="",
                    key=key,
                    kind="x",
                    title=key,
                    assignee_role="konsulent",
                    due_date=today(),
                    status=TaskStatus.COMPLETED,
                    answer=answer,
                    applied=True,
                )
            )
    return course_id


HOVED_DONE = ("opstartsmoede", "afdaekning", "udviklingsplan")


def both_tracks(code: int = AARHUS) -> int:
    """inddragelse in its development work while Børns Vilkår holds training day 2."""
    return lay_out(
        code,
        "inddragelse",
        1,
        done=(*HOVED_DONE, "kompetence-opstart"),
        active=("udviklingsarbejde", "traeningsdage"),
        open_tasks=(
            ("udviklingsarbejde", "raadgivningsmoede-afholdt-1", "Registrér at rådgivningsmøde 1 er holdt"),
            ("traeningsdage", "traeningsdag-planlaegning-2", "Planlæg træningsdag 2 (hel eller halv dag)"),
        ),
    )


def row_of(course_id: int) -> read_model.OverviewRow:
    [row] = read_model.overview(read_model.OverviewFilters(course_id=course_id)).rows
    return row


def forloeb(*args: str) -> str:
    result = CliRunner(env={"COLUMNS": "250"}).invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def overview_ids(c: object, **params: str) -> set[int]:
    html = c.get("/oversigt", params=params).text  # type: ignore[attr-defined]
    return {int(n) for n in re.findall(r'<tr data-course="(\d+)">', html)}


def test_overview_row_has_the_stage_of_every_track_and_one_line_of_text() -> None:
    course_id = both_tracks()
    row = row_of(course_id)
    assert row.stage_text == "Udviklingsarbejde · Børns Vilkår: Træningsdag 2"
    # The main track's stage, counted within the main track (6 stages, not all 9).
    assert (row.stage_key, row.stage_position, row.stage_count) == ("udviklingsarbejde", 4, 6)
    main, competence = row.tracks
    assert (main.track, main.main, main.state, main.stage_key, main.position, main.count) == (
        "hoved",
        True,
        "active",
        "udviklingsarbejde",
        4,
        6,
    )
    assert (main.round, main.round_name) == (1, "Rådgivningsmøde 1")
    assert competence.track == "kompetence" and not competence.main
    assert competence.track_name == "Kompetenceudviklingsforløb (Børns Vilkår)"
    assert competence.label == "Børns Vilkår"
    assert (competence.state, competence.stage_key, competence.stage_name) == (
        "active",
        "traeningsdage",
        "Træningsdage",
    )
    assert (competence.position, competence.count, competence.round) == (2, 3, 2)
    assert competence.round_name == "Træningsdag 2" and competence.waiting is None

    html = logged_in().get("/oversigt").text
    assert "4/6 Udviklingsarbejde · Børns Vilkår: Træningsdag 2" in html


def test_a_track_that_waits_is_named_with_what_it_waits_on() -> None:
    # Before the udviklingsplan: Børns Vilkår's track waits on it (a join) and is not in the text.
    early = lay_out(ODENSE, "inddragelse", 1, done=("opstartsmoede",), active=("afdaekning",))
    row = row_of(early)
    assert row.stage_text == "Afdækning af inddragelsespraksis"
    competence = row.tracks[1]
    assert (competence.state, competence.stage_key) == ("waiting", "kompetence-opstart")
    assert competence.waiting == "venter på Fokusområder og udviklingsplan"
    # The closing follow-up waits for the last supervision (the join of the two tracks).
    late = lay_out(
        AALBORG,
        "inddragelse",
        1,
        done=(*HOVED_DONE, "udviklingsarbejde", "kompetence-opstart", "traeningsdage"),
        active=("supervision",),
    )
    assert row_of(late).stage_text == (
        "Afsluttende opfølgning (venter på Supervision) · Børns Vilkår: Supervision"
    )
    main, competence = read_model.course_detail(late).tracks
    assert (main.state, main.stage_key, main.waiting) == (
        "waiting",
        "afsluttende-opfoelgning",
        "venter på Supervision",
    )
    assert (competence.state, competence.stage_key, competence.round) == ("active", "supervision", None)
    html = logged_in().get(f"/forloeb/{late}").text
    assert "venter på Supervision" in html
    assert html.count('<li data-track="') == 2


def test_a_track_waiting_on_a_timer_shows_its_day() -> None:
    held = "2026-01-14"
    course_id = lay_out(
        ESBJERG,
        "overgreb",
        1,
        done=("indledende-analyse", "beredskab", "udviklingsaktiviteter"),
        answers={"opstartsmoede": {"afholdt_dato": held}},
    )
    timer = get_programme("overgreb", 1).stage("afsluttende-opfoelgning").starts
    assert timer is not None
    day = timer_day(timer, {"opstartsmoede": {"afholdt_dato": held}})
    assert day is not None
    [track] = read_model.course_detail(course_id).tracks
    assert (track.state, track.stage_key) == ("waiting", "afsluttende-opfoelgning")
    assert track.waiting == f"begynder {day:%d.%m.%Y}"
    assert row_of(course_id).tracks[0].waiting == "venter på sin startdato"  # the overview reads no answers
    html = logged_in().get(f"/forloeb/{course_id}").text
    assert f"Afsluttende opfølgning begynder {day:%d.%m.%Y}" in html


def test_the_api_carries_the_tracks_and_the_text() -> None:
    course_id = both_tracks()
    make_user("kk", "Konsulent K")
    api = client()
    api.auth = ("kk", PASSWORD)
    [item] = api.get("/api/courses").json()["items"]
    assert item["stage_text"] == "Udviklingsarbejde · Børns Vilkår: Træningsdag 2"
    assert [(t["track"], t["stage_key"], t["round"]) for t in item["tracks"]] == [
        ("hoved", "udviklingsarbejde", 1),
        ("kompetence", "traeningsdage", 2),
    ]
    assert item == row_of(course_id).model_dump(mode="json") | {"flow_run_url": item["flow_run_url"]}
    detail = api.get(f"/api/courses/{course_id}").json()
    assert detail["course"]["stage_text"] == item["stage_text"]
    tracks = [s["track"] for s in detail["stages"]]
    assert tracks == ["hoved"] * 6 + ["kompetence"] * 3  # in track order, then by number


def test_cli_status_shows_every_track() -> None:
    course_id = both_tracks()
    out = forloeb("status")
    line = next(line for line in out.splitlines() if "Aarhus" in line)
    assert "4/6 Udviklingsarbejde · Børns Vilkår: Træningsdag 2" in line
    out = forloeb("status", str(course_id))
    assert "Kompetenceudviklingsforløb (Børns Vilkår)" in out
    assert "2/3 Træningsdage · Træningsdag 2" in out
    assert "Rådgivningsforløb" in out and "4/6 Udviklingsarbejde · Rådgivningsmøde 1" in out


def test_course_show_prints_every_track() -> None:
    course_id = both_tracks()
    show = typer.Typer()
    show.command()(course_commands.course_show)
    result = CliRunner(env={"COLUMNS": "250"}).invoke(show, [str(course_id)])
    assert result.exit_code == 0, result.output
    assert "Fase: Udviklingsarbejde · Børns Vilkår: Træningsdag 2 (10 dage)" in result.output
    assert "2/3 Træningsdage · Træningsdag 2" in result.output
    assert CliRunner().invoke(show, ["99999"]).exit_code == 3


def test_course_page_shows_each_track_and_one_gantt_lane_per_track() -> None:
    course_id = both_tracks()
    html = logged_in().get(f"/forloeb/{course_id}").text
    current = html[html.index('id="current-stage"') :]
    current = current[: current.index("</dd>")]
    assert "Rådgivningsforløb:</strong>" in current and "4/6 Udviklingsarbejde · Rådgivningsmøde 1" in current
    assert "Kompetenceudviklingsforløb (Børns Vilkår):</strong>" in current
    assert "2/3 Træningsdage · Træningsdag 2" in current
    svg = html[html.index('<svg class="gantt"') : html.index("</svg>")]
    lanes = re.findall(r'class="g-lane-label">([^<]+)<', svg)
    assert lanes == ["Rådgivningsforløb", "Kompetenceudviklingsforløb (Børns Vilkår)"]
    labels = re.findall(r'class="g-(lane-label|label)">([^<]+)<', svg)
    assert [text for _kind, text in labels] == [
        "Rådgivningsforløb",
        "Opstartsmøde",
        "Afdækning af inddragelsespraksis",
        "Fokusområder og udviklingsplan",
        "Udviklingsarbejde",
        "Afsluttende opfølgning",
        "Evaluering",
        "Kompetenceudviklingsforløb (Børns Vilkår)",
        "Opstart af kompetenceforløbet",
        "Træningsdage",
        "Supervision",
    ]
    # The stage table has a header row per track too.
    assert re.findall(r'<tr class="lane" data-lane="(\w+)">', html) == ["hoved", "kompetence"]


def test_stage_filter_and_counts_are_per_programme_and_cover_every_track() -> None:
    both = both_tracks(AARHUS)
    ind_eval = lay_out(
        ODENSE,
        "inddragelse",
        1,
        done=(
            *HOVED_DONE,
            "udviklingsarbejde",
            "afsluttende-opfoelgning",
            "kompetence-opstart",
            "traeningsdage",
            "supervision",
        ),
        active=("evaluering",),
    )
    min_eval = lay_out(
        AALBORG,
        "minoritetsetniske",
        1,
        done=(
            "behovsafklaring",
            "samarbejdsaftale",
            "arbejdsgruppe",
            "dataindsamling",
            "sagsanalyse",
            "afdaekningsworkshop",
            "workshops",
            "ledersparring",
            "opsamlingsmoede",
        ),
        active=("evaluering",),
    )
    counts = {(c.programme, c.stage_key): c.count for c in read_model.stage_counts()}
    assert counts[("inddragelse", "udviklingsarbejde")] == 1
    assert counts[("inddragelse", "traeningsdage")] == 1  # the other track's active stage counts too
    assert counts[("inddragelse", "evaluering")] == 1
    assert counts[("minoritetsetniske", "evaluering")] == 1
    assert counts[("overgreb", "evaluering")] == 0
    by_track = {(c.programme, c.stage_key): c.track_name for c in read_model.stage_counts()}
    assert by_track[("inddragelse", "traeningsdage")] == "Børns Vilkår"
    assert by_track[("minoritetsetniske", "evaluering")] is None

    c = logged_in()
    assert overview_ids(c, fase="inddragelse:evaluering") == {ind_eval}
    assert overview_ids(c, fase="minoritetsetniske:evaluering") == {min_eval}
    assert overview_ids(c, fase="inddragelse:traeningsdage") == {both}
    assert overview_ids(c, fase="inddragelse:udviklingsarbejde") == {both}
    assert overview_ids(c, fase="evaluering") == {ind_eval, min_eval}  # a bare key: every programme
    html = c.get("/oversigt").text
    # Each count links to its own programme's stage.
    assert 'href="?fase=inddragelse%3Atraeningsdage" data-stage="traeningsdage">' in html
    assert 'href="?fase=minoritetsetniske%3Aevaluering" data-stage="evaluering">' in html
    # The stage select is grouped per programme; with a programme chosen, only its stages.
    assert html.count("<optgroup") == 3
    only = c.get("/oversigt", params={"program": "inddragelse"}).text
    assert only.count("<optgroup") == 1 and "Børns Vilkår: Træningsdage</option>" in only
    api = client()
    make_user("api", "API")
    api.auth = ("api", PASSWORD)
    items = api.get("/api/courses", params={"stage": "inddragelse:traeningsdage"}).json()["items"]
    assert [i["id"] for i in items] == [both]


def test_a_one_track_course_looks_as_before() -> None:
    course_id = lay_out(
        AARHUS,
        "minoritetsetniske",
        1,
        done=("behovsafklaring", "samarbejdsaftale"),
        active=("arbejdsgruppe",),
    )
    row = row_of(course_id)
    assert row.stage_text == row.stage_name == "Arbejdsgruppe"
    assert (row.stage_position, row.stage_count) == (3, 11)
    [track] = row.tracks
    assert (track.track, track.main, track.state, track.stage_key) == (
        "hoved",
        True,
        "active",
        "arbejdsgruppe",
    )
    c = logged_in()
    assert '<td class="stage">3/11 Arbejdsgruppe</td>' in c.get("/oversigt").text
    html = c.get(f"/forloeb/{course_id}").text
    assert "g-lane" not in html and 'class="lane"' not in html and "tracks-now" not in html
    assert re.search(r'id="current-stage">Arbejdsgruppe \(10 dage\)</dd>', html)
    svg = html[html.index('<svg class="gantt"') : html.index("</svg>")]
    assert len(re.findall(r'class="g-label"', svg)) == 11
    line = next(line for line in forloeb("status").splitlines() if "Aarhus" in line)
    assert "3/11 Arbejdsgruppe " in line and "·" not in line
    assert "Spor" not in forloeb("status", str(course_id))
    # A course whose plan is not laid out yet: no tracks, no stage.
    with session_scope() as session:
        course = Course(
            municipality_code=ODENSE,
            programme="inddragelse",
            programme_version=1,
            consultant="K",
            start_date=today(),
        )
        session.add(course)
        session.flush()
        assert course.id is not None
        starting = course.id
    assert (row_of(starting).tracks, row_of(starting).stage_text) == ([], None)


def test_overview_queries_stay_fixed_with_tracks() -> None:
    statements: list[str] = []

    def count(*_args: object) -> None:
        statements.append("x")

    def queries() -> int:
        statements.clear()
        event.listen(get_engine(), "before_cursor_execute", count)
        try:
            read_model.overview(read_model.OverviewFilters(page_size=50))
        finally:
            event.remove(get_engine(), "before_cursor_execute", count)
        return len(statements)

    both_tracks(AARHUS)
    few = queries()
    for code in (101, 147, 151, 153, 155):
        both_tracks(code)
    assert queries() == few == 6
