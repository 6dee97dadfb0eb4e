"""Issue 14 on the dashboard: reads of a course, an application and a document are in the access
log (pages, API, the municipality's link); admins list and export it, consultants may not; admins
erase a person by e-mail after seeing where the address is."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from core.clock import COPENHAGEN, now, today
from core.db import session_scope
from core.links import make_application_token, make_task_token
from core.workdays import add_months
from models.tables import AccessKind, AccessVia, Application, ApplicationDocument, UserRole
from services import access_log, api_tokens
from tests.support.privacy import finished_course, rejected_application
from tests.support.web import client, csrf_from, logged_in, open_tasks, seed_course

LEDER = "fiktiv.leder@kommune.example"


def reads() -> list[tuple[str, AccessKind, int, AccessVia]]:
    return [
        (r.actor, r.kind, r.object_id, r.via)
        for r in reversed(access_log.list_reads(access_log.AccessFilters()))
    ]


def test_reads_of_courses_applications_and_documents_are_logged() -> None:
    course_id = finished_course(751, now() - timedelta(days=1), LEDER, "Fiktiv Leder")
    application_id, _sha = rejected_application(now())
    with session_scope() as session:
        document = session.exec(select(ApplicationDocument)).one()
        application = session.get(Application, application_id)
        assert document.id is not None and application is not None
        uid = application.uid
    kk = logged_in("kk", "Konsulent K")

    course_page = kk.get(f"/forloeb/{course_id}")
    end = (now() - timedelta(days=1)).astimezone(COPENHAGEN).date()
    assert course_page.status_code == 200
    assert f'id="retention">slettes {add_months(end, 12):%d.%m.%Y} (12 måneder' in course_page.text
    application_page = kk.get(f"/ansoegninger/{application_id}")
    assert f'id="retention">slettes {add_months(today(), 6):%d.%m.%Y} (6 måneder' in application_page.text
    assert kk.get(f"/ansoegninger/{application_id}/dokumenter/{document.id}").status_code == 200
    assert kk.get(f"/api/courses/{course_id}").status_code == 200
    assert kk.get(f"/api/applications/{application_id}").status_code == 200
    link = kk.get(f"/a/{make_application_token(application_id, uid)}")
    assert link.status_code == 200
    assert kk.get("/forloeb/999999").status_code == 404  # nothing read: nothing logged
    _row, secret = api_tokens.create_token(
        owner="kk", name="BI", scopes=["read"], expires_days=None, actor="kk"
    )
    assert (
        client().get(f"/api/courses/{course_id}", headers={"Authorization": f"Bearer {secret}"}).status_code
        == 200
    )

    town = "kommune: Odense (link)"
    assert reads() == [
        ("kk", AccessKind.COURSE, course_id, AccessVia.PAGE),
        ("kk", AccessKind.APPLICATION, application_id, AccessVia.PAGE),
        ("kk", AccessKind.DOCUMENT, document.id, AccessVia.PAGE),
        ("kk", AccessKind.COURSE, course_id, AccessVia.API),
        ("kk", AccessKind.APPLICATION, application_id, AccessVia.API),
        (town, AccessKind.APPLICATION, application_id, AccessVia.LINK),
        (f"kk (API-nøgle {_row.id})", AccessKind.COURSE, course_id, AccessVia.API),
    ]


def test_the_municipality_task_link_is_a_read_of_the_course() -> None:
    course_id = seed_course(751, "Konsulent K", kommune_task=True)
    (task,) = [t for t in open_tasks(course_id) if t.assignee_role == "kommune"]
    assert task.id is not None
    assert client().get(f"/k/{make_task_token(task.id, course_id)}").status_code == 200
    assert reads() == [("kommune: Aarhus (link)", AccessKind.COURSE, course_id, AccessVia.LINK)]


def test_admins_list_filter_and_export_the_access_log_consultants_may_not() -> None:
    access_log.record_read(AccessKind.COURSE, 7, "kk", AccessVia.PAGE)
    access_log.record_read(AccessKind.APPLICATION, 3, "ll", AccessVia.API)
    kk = logged_in("kk", "Konsulent K")
    for path in ("/adgangslog", "/adgangslog.csv", "/slet-person"):
        assert kk.get(path).status_code == 403
    admin = logged_in("chef", "Chef C", UserRole.ADMIN)

    page = admin.get("/adgangslog").text
    assert 'data-access="course-7"' in page and 'data-access="application-3"' in page
    only = admin.get("/adgangslog", params={"slags": "forløb", "nummer": "7"}).text
    assert 'data-access="course-7"' in only and 'data-access="application-3"' not in only
    bad = admin.get("/adgangslog", params={"fra": "i går"})
    assert bad.status_code == 422 and "Fra skal være en dato" in bad.text

    export = admin.get("/adgangslog.csv", params={"hvem": "ll"})
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    lines = export.text.lstrip("\ufeff").splitlines()
    assert lines[0] == "tidspunkt;hvem;slags;nummer;hvorfra" and lines[1].endswith(";ll;ansøgning;3;API")
    assert len(lines) == 2


def test_an_admin_erases_a_person_after_seeing_where_they_are() -> None:
    course_id = finished_course(751, now(), LEDER, "Fiktiv Leder")
    admin = logged_in("chef", "Chef C", UserRole.ADMIN)
    token = csrf_from(admin.get("/slet-person").text)

    found = admin.post("/slet-person", data={"csrf_token": token, "email": LEDER})
    assert found.status_code == 200
    assert 'data-found="Kontaktpersoner"' in found.text and f'href="/forloeb/{course_id}"' in found.text
    assert 'name="bekraeft" value="ja"' in found.text
    assert contact_gone(LEDER) is False  # nothing changed yet

    done = admin.post("/slet-person", data={"csrf_token": token, "email": LEDER, "bekraeft": "ja"})
    assert done.status_code == 200 and "Personen er slettet" in done.text
    assert contact_gone(LEDER)
    refused = admin.post("/slet-person", data={"csrf_token": token, "email": "ikke en adresse"})
    assert refused.status_code == 422 and "e-mailadresse" in refused.text


def contact_gone(address: str) -> bool:
    """No contact row holds the address any more."""
    from models.tables import Contact

    with session_scope() as session:
        return not session.exec(select(Contact).where(Contact.email == address)).all()
