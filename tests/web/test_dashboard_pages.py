"""Pages against a real app DB: overview, course page, inbox, municipalities, notifications, users."""

from __future__ import annotations

import pytest
from sqlalchemy import event
from sqlmodel import col, select

from core.db import get_engine, session_scope
from models.tables import AuditEvent, Notification, TaskStatus, UserRole
from services import read_model
from services.accounts import list_users
from tests.support.web import client, csrf_from, logged_in, seed_course

AARHUS, ODENSE, AALBORG = 751, 461, 851


def test_pages_need_a_login() -> None:
    c = client()
    for path in ("/oversigt", "/forloeb/1", "/opgaver", "/notifikationer", "/kommuner", "/konsulenter"):
        response = c.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=")


def test_wrong_password_is_refused_in_danish() -> None:
    logged_in()
    c = client()
    token = csrf_from(c.get("/login").text)
    response = c.post("/login", data={"username": "kk", "password": "forkert-forkert", "csrf_token": token})
    assert response.status_code == 401
    assert "Forkert brugernavn eller adgangskode" in response.text
    with session_scope() as session:
        events = session.exec(select(AuditEvent).where(col(AuditEvent.course_id).is_(None)))
        actions = [(e.actor, e.action) for e in events]
    assert ("kk", "logget ind") in actions and ("kk", "mislykket login") in actions


def test_forms_without_csrf_token_are_refused() -> None:
    c = logged_in()
    response = c.post("/logout", data={})
    assert response.status_code == 403
    assert "Formularen kunne ikke bruges" in response.text


def test_overview_lists_courses_with_stage_overdue_and_counts() -> None:
    aarhus = seed_course(AARHUS, "Konsulent K", stages_done=2, overdue_tasks=2)
    seed_course(ODENSE, "Konsulent L", stages_done=0)
    c = logged_in()
    html = c.get("/oversigt").text
    assert "Aarhus" in html and "Odense" in html
    assert f'data-course="{aarhus}"' in html
    assert "3/11 Arbejdsgruppe" in html
    assert '<span class="overdue">2</span>' in html
    # Counts per stage across all courses.
    assert 'data-stage="arbejdsgruppe">\n      <span class="n">1</span>' in html
    assert 'data-stage="behovsafklaring">\n      <span class="n">1</span>' in html


def test_overview_filters_and_sorts() -> None:
    seed_course(AARHUS, "Konsulent K", stages_done=2, overdue_tasks=1)
    seed_course(ODENSE, "Konsulent L", stages_done=0)
    seed_course(AALBORG, "Konsulent L", stages_done=1, overdue_tasks=3)
    c = logged_in()
    only_l = c.get("/oversigt", params={"konsulent": "Konsulent L"}).text
    assert "Odense" in only_l and "Aalborg" in only_l and "Aarhus" not in only_l
    overdue = c.get("/oversigt", params={"overskredet": "1"}).text
    assert "Aarhus" in overdue and "Aalborg" in overdue and "Odense" not in overdue
    by_stage = c.get("/oversigt", params={"fase": "behovsafklaring"}).text
    assert "Odense" in by_stage and "Aarhus" not in by_stage
    region = c.get("/oversigt", params={"region": "Region Syddanmark"}).text
    assert "Odense" in region and "Aarhus" not in region
    most_overdue = read_model.overview(read_model.OverviewFilters(sort="overskredet", descending=True)).rows
    assert [r.municipality for r in most_overdue] == ["Aalborg", "Aarhus", "Odense"]
    assert [r.overdue_tasks for r in most_overdue] == [3, 1, 0]


def test_overview_paginates_with_a_fixed_number_of_queries() -> None:
    codes = [101, 147, 151, 153, 155, 157, 159, 161, 163, 165, 167, 169]
    statements: list[str] = []

    def count(*_args: object) -> None:
        statements.append("x")

    def queries_for_page() -> int:
        statements.clear()
        event.listen(get_engine(), "before_cursor_execute", count)
        try:
            page = read_model.overview(read_model.OverviewFilters(page_size=5))
        finally:
            event.remove(get_engine(), "before_cursor_execute", count)
        assert len(page.rows) == min(5, page.total)
        return len(statements)

    for code in codes[:3]:
        seed_course(code, overdue_tasks=1)
    few = queries_for_page()
    for code in codes[3:]:
        seed_course(code, overdue_tasks=2)
    many = queries_for_page()
    assert few == many
    page = read_model.overview(read_model.OverviewFilters(page_size=5, page=3))
    assert page.total == 12 and page.pages == 3 and len(page.rows) == 2


def test_course_page_shows_timeline_tasks_audit_and_prefect_link() -> None:
    course_id = seed_course(AARHUS, stages_done=2, overdue_tasks=1, kommune_task=True)
    c = logged_in()
    html = c.get(f"/forloeb/{course_id}").text
    assert '<svg class="gantt"' in html and "g-planned" in html and "g-actual" in html
    assert "Samarbejdsaftale" in html and "Genbesøg" in html
    assert "Nedsæt arbejdsgruppen" in html
    assert "fase startet" in html  # audit trail
    assert c.get("/forloeb/99999").status_code == 404
    assert "Forløb 99999 findes ikke" in c.get("/forloeb/99999").text


def test_course_page_links_to_the_flow_run() -> None:
    course_id = seed_course(AARHUS)
    with session_scope() as session:
        from models.tables import Course

        course = session.get(Course, course_id)
        assert course is not None
        course.flow_run_id = "6f1c1d9e-0000-4000-8000-000000000001"
        session.add(course)
    html = logged_in().get(f"/forloeb/{course_id}").text
    assert "/runs/flow-run/6f1c1d9e-0000-4000-8000-000000000001" in html


def test_inbox_shows_my_tasks_overdue_first() -> None:
    mine = seed_course(AARHUS, "Konsulent K", overdue_tasks=2, kommune_task=True)
    seed_course(ODENSE, "Konsulent L", overdue_tasks=1)
    c = logged_in("kk", "Konsulent K")
    html = c.get("/opgaver").text
    assert "Aarhus" in html and "Odense" not in html
    assert html.index("Registrér møde 1") < html.index("Nedsæt arbejdsgruppen")
    assert html.count("(overskredet)") == 2
    rows, total = read_model.task_inbox(consultant="Konsulent K")
    assert total == 3 and rows[0].overdue and rows[0].course_id == mine


def test_municipalities_page_lists_all_98_with_their_courses() -> None:
    course_id = seed_course(AARHUS)
    html = logged_in().get("/kommuner").text
    assert html.count("data-kommune=") == 98
    assert "98 kommuner · 1 har haft forløb" in html
    assert f'href="/forloeb/{course_id}"' in html


def test_notifications_page_lists_the_outbox_and_retries_a_failed_row(smtp) -> None:  # type: ignore[no-untyped-def]
    from notifications import compose, outbox
    from tests.support.factories import LEADER, make_course

    _course_id, meeting_id = make_course()
    smtp.stop()
    [first, *_] = compose.enqueue_meeting_message(meeting_id, "moede_invitation")
    with pytest.raises(outbox.DeliveryFailed):
        outbox.deliver(first)
    session = logged_in()
    html = session.get("/notifikationer?status=handling").text
    assert LEADER in html and "Connection refused" in html and f"/notifikationer/{first}/send-igen" in html
    smtp.start()
    outbox.retry(first)
    assert outbox.get_row(first).status == "sent" and len(smtp.mailbox.to(LEADER)) == 1


def _notification(course_id: int, status: str, error: str | None) -> int:
    row = Notification(
        course_id=course_id,
        purpose="påmindelse",
        recipient="leder@example.dk",
        idempotency_key=f"test-{course_id}-{status}",
        subject="Påmindelse om møde",
        body_text="Hej",
        status=status,
        attempts=3 if error else 1,
        last_error=error,
    )
    with session_scope() as session:
        session.add(row)
        session.flush()
        return int(row.id)


def test_a_sent_notification_is_not_sent_again_from_the_page() -> None:
    course_id = seed_course(AARHUS)
    failed = _notification(course_id, "failed", "SMTP 550: postkassen findes ikke")
    sent = _notification(course_id, "sent", None)
    c = logged_in()
    html = c.get("/notifikationer", params={"status": "failed"}).text
    assert f'action="/notifikationer/{failed}/send-igen"' in html
    assert f'action="/notifikationer/{sent}/send-igen"' not in html
    refused = c.post(f"/notifikationer/{sent}/send-igen", data={"csrf_token": csrf_from(html)})
    assert refused.status_code == 409 and "sendes ikke igen" in refused.text
    assert "SMTP 550: postkassen findes ikke" in c.get(f"/forloeb/{course_id}").text
    assert c.get("/notifikationer", params={"status": "ukendt"}).status_code == 422


def test_a_perhaps_sent_notification_is_resent_only_when_forced(smtp) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from core.clock import now

    course_id = seed_course(AARHUS)
    interrupted = _notification(course_id, "sending", None)
    with session_scope() as session:
        row = session.get(Notification, interrupted)
        assert row is not None
        row.recipient, row.updated_at = "leder@kommune.example", now() - timedelta(hours=1)
        session.add(row)
    c = logged_in()
    html = c.get("/notifikationer", params={"status": "handling"}).text
    assert "Måske sendt" in html and "Send alligevel" in html and 'name="force" value="1"' in html
    token = csrf_from(html)
    refused = c.post(f"/notifikationer/{interrupted}/send-igen", data={"csrf_token": token})
    assert refused.status_code == 409 and "måske sendt" in refused.text and not smtp.mailbox.received
    forced = c.post(f"/notifikationer/{interrupted}/send-igen", data={"csrf_token": token, "force": "1"})
    assert forced.status_code == 303 and len(smtp.mailbox.to("leder@kommune.example")) == 1
    with session_scope() as session:
        audited = session.exec(select(AuditEvent).where(col(AuditEvent.action).contains("tvunget"))).all()
    assert [e.actor for e in audited] == ["kk"]


def test_admin_manages_consultants_and_the_change_is_audited() -> None:
    admin = logged_in("chef", "Chef C", UserRole.ADMIN)
    token = csrf_from(admin.get("/konsulenter").text)
    response = admin.post(
        "/konsulenter",
        data={
            "username": "ny",
            "display_name": "Ny Konsulent",
            "role": "consultant",
            "password": "langt-nok-kodeord",
            "csrf_token": token,
        },
    )
    assert response.status_code == 303
    assert 'data-user="ny"' in admin.get("/konsulenter").text
    short = admin.post(
        "/konsulenter",
        data={
            "username": "kort",
            "display_name": "K",
            "role": "consultant",
            "password": "kort",
            "csrf_token": token,
        },
    )
    assert short.status_code == 422 and "mindst 12 tegn" in short.text
    with session_scope() as session:
        event_row = session.exec(select(AuditEvent).where(AuditEvent.action == "bruger oprettet")).all()
    assert any(e.actor == "chef" and e.detail.startswith("ny") for e in event_row)
    consultant = logged_in("kk", "Konsulent K")
    assert consultant.get("/konsulenter").status_code == 403


def test_task_form_is_generated_and_shows_errors_next_to_fields() -> None:
    course_id = seed_course(AARHUS, kommune_task=True)
    c = logged_in()
    from tests.support.web import open_tasks

    (task,) = open_tasks(course_id)
    html = c.get(f"/opgaver/{task.id}").text
    assert "Medlemmer" in html and "Rolle i arbejdsgruppen" in html and "faglig leder" in html
    token = csrf_from(html)
    # Only a professional leader: the model's own rule names what is missing; nothing is stored.
    response = c.post(
        f"/opgaver/{task.id}",
        data={"csrf_token": token, "medlemmer.0.navn": "A Leder", "medlemmer.0.rolle": "faglig_leder"},
    )
    assert response.status_code == 422
    assert "Arbejdsgruppen mangler" in response.text and "almenområdet" in response.text
    assert 'value="A Leder"' in response.text  # what was typed is kept
    response = c.post(
        f"/opgaver/{task.id}",
        data={"csrf_token": token, "medlemmer.0.navn": "A Leder", "medlemmer.0.rolle": "ukendt"},
    )
    assert response.status_code == 422
    assert 'id="err-medlemmer.0.rolle"' in response.text
    (still_open,) = open_tasks(course_id)
    assert still_open.status == TaskStatus.OPEN


def test_front_page_answers_200_for_the_launcher_and_demo_admin_can_log_in() -> None:
    from core.settings import get_settings
    from services.accounts import ensure_demo_admin

    c = client()
    assert c.get("/").status_code == 200 and c.get("/healthz").json() == {"status": "ok"}
    username, password = ensure_demo_admin()
    assert (username, password) == ensure_demo_admin()  # stable across restarts
    assert (get_settings().data_dir / "admin-password.txt").read_text().strip() == password
    token = csrf_from(c.get("/").text)
    response = c.post("/login", data={"username": username, "password": password, "csrf_token": token})
    assert response.status_code == 303 and response.headers["location"] == "/oversigt"
    assert c.get("/").headers["location"] == "/oversigt"
    assert 'href="/konsulenter"' in c.get("/oversigt").text


def _can_log_in(username: str, password: str) -> bool:
    c = client()
    token = csrf_from(c.get("/login").text)
    response = c.post("/login", data={"username": username, "password": password, "csrf_token": token})
    return response.status_code == 303


def test_consultant_changes_own_password_and_admin_resets_one() -> None:
    from tests.support.web import PASSWORD

    c = logged_in("kk", "Konsulent K")
    page = c.get("/konto").text
    assert "Skift adgangskode" in page and 'href="/konto"' in page
    token = csrf_from(page)
    new = "et-nyt-og-langt-kodeord"
    for wrong, message in (
        ({"current": "forkert-forkert", "new": new, "repeat": new}, "nuværende adgangskode er forkert"),
        ({"current": PASSWORD, "new": new, "repeat": new + "x"}, "ikke ens"),
        ({"current": PASSWORD, "new": "kort", "repeat": "kort"}, "mindst 12 tegn"),
    ):
        refused = c.post("/konto", data={"csrf_token": token, **wrong})
        assert refused.status_code == 422 and message in refused.text
    assert _can_log_in("kk", PASSWORD)  # nothing changed by the refused attempts
    changed = c.post("/konto", data={"csrf_token": token, "current": PASSWORD, "new": new, "repeat": new})
    assert changed.status_code == 303 and 'id="password-changed"' in c.get("/konto?skiftet=1").text
    assert _can_log_in("kk", new) and not _can_log_in("kk", PASSWORD)

    admin = logged_in("chef", "Chef C", UserRole.ADMIN)
    users = admin.get("/konsulenter").text
    [kk_id] = [u.id for u in list_users() if u.username == "kk"]
    reset = "nulstillet-af-admin"
    url = f"/konsulenter/{kk_id}/adgangskode"
    response = admin.post(url, data={"csrf_token": csrf_from(users), "password": reset})
    assert response.status_code == 303 and _can_log_in("kk", reset)
    assert c.get("/konto").status_code == 303  # the reset ended kk's session (issue 14)
    other = logged_in("mm", "Konsulent M")
    token = csrf_from(other.get("/konto").text)
    assert other.post(url, data={"csrf_token": token, "password": reset}).status_code == 403  # not an admin
    with session_scope() as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "adgangskode ændret"))
        actors = [e.actor for e in events]
    assert actors == ["kk", "chef"]


def test_demo_consultants_get_logins_once() -> None:
    from devtools.demo import demo_consultants
    from services.accounts import ensure_demo_consultants

    assert demo_consultants() == ["Jonas Konsulent", "Mette Konsulent", "Sara Konsulent"]
    for _ in range(2):  # a second `make run` reuses them
        assert ensure_demo_consultants(demo_consultants(), "demo-adgangskode") == ["jonas", "mette", "sara"]
    assert sorted(u.username for u in list_users()) == ["jonas", "mette", "sara"]
    assert _can_log_in("mette", "demo-adgangskode")
