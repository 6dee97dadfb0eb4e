"""Issue 14: the authorization matrix. Every route of the app's route table × every role, with the
expected outcome; a route without a rule in RULES fails `test_every_route_has_a_rule`.

Roles: anonymous; a municipality link (a browser that holds a valid link to the municipality's
task, /k/<token>); a partner organisation's link (Børns Vilkår's task on the two-track programme:
partners answer by link only, no programme gives them a login); a consultant on their own course;
a consultant on another consultant's course; an admin; and an API token of the consultant with
each scope, plus an admin's token with every scope.

The rule for another consultant's course, stated on purpose: the agency's consultants work as one
team and cover for each other (holidays, illness), so every consultant may read *and* work on every
course; every change is audited with who made it. The outcome is therefore the same as on their own
course. Tightening writes to the course's consultant and admins would be a change here and in
`services` (not made).

API tokens: a token works on /api only (on a page it is nobody: 303 to /login), acts as its owner
(admin-only endpoints need an admin's token), and needs the scope its endpoint declares: `read` for
every GET, and for each write the scope in WRITE_SCOPES (a write route without one fails the test).

Outcomes: "allowed" = through the access check (any status below 500 but 401, 403 and a redirect to
/login: a 404 for an id that does not exist, a 422 for an empty form, a 503 for a completion that reached the
absent Prefect server count as allowed); refused =
303 to /login for pages, 401 for the API, 403 for a logged-in user without the right, 403/410 for a
link that is not this browser's, 403 for a token without the scope. Writes go to ids that do
not exist, so nothing is changed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from core.links import make_task_token
from dashboard.app import create_app
from models.tables import UserRole
from services import api_tokens
from tests.support.web import client, csrf_from, logged_in, open_tasks, seed_course, seed_two_track_course

PUBLIC, LOGIN, ADMIN, TASK_LINK, APPLICATION_LINK = (
    "public",
    "login",
    "admin",
    "task link",
    "application link",
)
LOGINS = ("consultant", "other consultant", "admin")
LINKS = ("municipality link", "partner link")
TOKEN_SCOPES: dict[str, frozenset[str]] = {
    **{f"token {scope}": frozenset({scope}) for scope in api_tokens.SCOPES},
    "admin token": frozenset(api_tokens.SCOPES),
}
ROLES = ("anonymous", *LINKS, *LOGINS, *TOKEN_SCOPES)
WRITE_SCOPES: dict[str, str] = {
    "POST /api/courses": api_tokens.COURSES_WRITE,
    "POST /api/courses/{course_id}/resume": api_tokens.COURSES_WRITE,
    "POST /api/notifications/{notification_id}/retry": api_tokens.COURSES_WRITE,
    "POST /api/tasks/{task_id}/complete": api_tokens.TASKS_WRITE,
    "POST /api/applications/{application_id}/decision": api_tokens.APPLICATIONS_WRITE,
    "POST /api/applications/{application_id}/scores": api_tokens.APPLICATIONS_WRITE,
}
"""The scope a token needs for each write under /api (every read needs `read`)."""
MISSING = "999999"

RULES: dict[str, str] = {
    "GET /api/openapi.json": PUBLIC,
    "GET /api/docs": PUBLIC,
    "GET /docs/oauth2-redirect": PUBLIC,
    "GET /": PUBLIC,
    "GET /healthz": PUBLIC,
    "GET /login": PUBLIC,
    "POST /login": PUBLIC,
    "POST /logout": PUBLIC,
    "GET /static": PUBLIC,
    # Applying is open to every municipality; the application link is its own token.
    "GET /ansoeg": PUBLIC,
    "GET /ansoeg/{programme}": PUBLIC,
    "POST /ansoeg/{programme}": PUBLIC,
    "GET /a/{token}": APPLICATION_LINK,
    "POST /a/{token}/dokument": APPLICATION_LINK,
    "POST /a/{token}/traek-tilbage": APPLICATION_LINK,
    "GET /a/{token}/dokumenter/{document_id}": APPLICATION_LINK,
    "GET /k/{token}": TASK_LINK,
    "POST /k/{token}": TASK_LINK,
    # API tokens: each person's own (admins see and revoke all); never usable on pages themselves.
    "GET /konto/api-noegler": LOGIN,
    "POST /konto/api-noegler": LOGIN,
    "POST /konto/api-noegler/{token_id}/tilbagekald": LOGIN,
    # The evaluation form: the personal link is its own token (a wrong one: 404 for everyone).
    "GET /evaluering/{token}": PUBLIC,
    "POST /evaluering/{token}": PUBLIC,
    # The network (issue 15): signing up is open to all; the member's own link is its own token (a
    # wrong one: 404 for everyone); members, meetings and their API for any login.
    "GET /netvaerk": PUBLIC,
    "POST /netvaerk": PUBLIC,
    "GET /netvaerk/{token}": PUBLIC,
    "POST /netvaerk/{token}/afmeld": PUBLIC,
    "GET /netvaerk/oversigt": LOGIN,
    "POST /netvaerk/moeder": LOGIN,
    "POST /netvaerk/moeder/{meeting_id}/flyt": LOGIN,
    "POST /netvaerk/moeder/{meeting_id}/aflys": LOGIN,
    "GET /api/network/members": LOGIN,
    "GET /api/network/meetings": LOGIN,
    # The JSON API: any login; operations and resuming for admins.
    "GET /api/courses": LOGIN,
    "GET /api/courses/{course_id}": LOGIN,
    "POST /api/courses": LOGIN,
    "GET /api/tasks": LOGIN,
    "GET /api/tasks/{task_id}": LOGIN,
    "GET /api/tasks/{task_id}/form-schema": LOGIN,
    "POST /api/tasks/{task_id}/complete": LOGIN,
    "GET /api/notifications": LOGIN,
    "POST /api/notifications/{notification_id}/retry": LOGIN,
    "GET /api/operations": ADMIN,
    "POST /api/courses/{course_id}/resume": ADMIN,
    "GET /api/programmes/{key}/{version}/bpmn": LOGIN,
    "GET /api/courses/{course_id}/diagram": LOGIN,
    "GET /api/rounds": LOGIN,
    "GET /api/applications": LOGIN,
    "GET /api/applications/{application_id}": LOGIN,
    "POST /api/applications/{application_id}/decision": LOGIN,
    "POST /api/applications/{application_id}/scores": LOGIN,
    "GET /api/capacity": LOGIN,
    "GET /api/kpi": LOGIN,
    "GET /api/kpi/courses": LOGIN,
    # Pages: any login; consultants' accounts and operations for admins.
    "GET /ansoegninger": LOGIN,
    "GET /ansoegninger/{application_id}": LOGIN,
    "POST /ansoegninger/{application_id}/vurdering": LOGIN,
    "POST /ansoegninger/{application_id}/afgoerelse": LOGIN,
    "POST /ansoegninger/{application_id}/mangler": LOGIN,
    "POST /ansoegninger/{application_id}/start": LOGIN,
    "GET /ansoegninger/{application_id}/dokumenter/{document_id}": LOGIN,
    "POST /ansoegninger/droeftelse": LOGIN,
    "GET /kapacitet": LOGIN,
    "GET /oversigt": LOGIN,
    "GET /forloeb/ny": LOGIN,
    "POST /forloeb/ny": LOGIN,
    "GET /forloeb/{course_id}": LOGIN,
    "GET /noegletal": LOGIN,
    "GET /noegletal/{name}.{fmt}": LOGIN,
    "GET /opgaver": LOGIN,
    "GET /opgaver/{task_id}": LOGIN,
    "POST /opgaver/{task_id}": LOGIN,
    "POST /opgaver/{task_id}/kommunelink": LOGIN,
    "POST /opgaver/{task_id}/kommunelink/tilbagekald": LOGIN,
    "POST /opgaver/{task_id}/luk-evaluering": LOGIN,
    "GET /evalueringer": LOGIN,
    "POST /moeder/{meeting_id}/flyt": LOGIN,
    "POST /moeder/{meeting_id}/aflys": LOGIN,
    "GET /notifikationer": LOGIN,
    "POST /notifikationer/{notification_id}/send-igen": LOGIN,
    "GET /kommuner": LOGIN,
    "GET /konto": LOGIN,
    "POST /konto": LOGIN,
    "POST /konsulenter/{user_id}/adgangskode": ADMIN,
    "GET /konsulenter": ADMIN,
    "POST /konsulenter": ADMIN,
    "POST /konsulenter/{user_id}/aktiv": ADMIN,
    "GET /drift": ADMIN,
    "POST /drift/forloeb/{course_id}/genoptag": ADMIN,
    "POST /drift/ret-alle": ADMIN,
    # Privacy (issue 14): the access log and erasure on request are for admins.
    "GET /adgangslog": ADMIN,
    "GET /adgangslog.csv": ADMIN,
    "GET /slet-person": ADMIN,
    "POST /slet-person": ADMIN,
}


def route_table() -> Iterator[str]:
    """Every method and path the app answers, from `app.routes` (HEAD is GET, see test_security_headers)."""
    for route in iter_route_contexts(create_app().routes):
        methods = getattr(route, "methods", None) or {"GET"}  # a mount (/static)
        for method in sorted(set(methods) - {"HEAD"}):
            yield f"{method} {route.path}"


def test_every_route_has_a_rule() -> None:
    table = set(route_table())
    assert not table - RULES.keys(), "routes without a rule in the authorization matrix"
    assert not RULES.keys() - table, "rules for routes that no longer exist"
    api_writes = {e for e in table if e.split(" ", 1)[1].startswith("/api") and not e.startswith("GET ")}
    assert api_writes == WRITE_SCOPES.keys(), "a write under /api needs its token scope in WRITE_SCOPES"


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    from services import recovery

    # /drift and its API ask the Prefect server; the matrix is about access, not about the diagnosis.
    monkeypatch.setattr(
        recovery,
        "diagnose",
        lambda *a, **k: recovery.Diagnosis(findings=[], courses_checked=0, live_runners=0),
    )
    course_id = seed_course(751, "Konsulent K", kommune_task=True)
    (task,) = [t for t in open_tasks(course_id) if t.assignee_role == "kommune"]
    two_tracks = seed_two_track_course(630, "Konsulent K")
    (partner_task,) = [t for t in open_tasks(two_tracks) if t.assignee_role == "boerns-vilkaar"]
    assert task.id is not None and partner_task.id is not None
    link_tokens = {
        "municipality link": make_task_token(task.id, course_id),
        "partner link": make_task_token(partner_task.id, two_tracks),
    }
    clients = {"anonymous": client()}
    for role, token in link_tokens.items():
        clients[role] = client()
        assert clients[role].get(f"/k/{token}").status_code == 200
    clients |= {
        "consultant": logged_in("kk", "Konsulent K"),
        "other consultant": logged_in("ll", "Konsulent L"),
        "admin": logged_in("chef", "Chef C", UserRole.ADMIN),
    }
    app = create_app()
    for role, scopes in TOKEN_SCOPES.items():
        owner = "chef" if role == "admin token" else "kk"
        _row, secret = api_tokens.create_token(
            owner=owner, name=role, scopes=sorted(scopes), expires_days=None, actor="test"
        )
        clients[role] = TestClient(app, base_url="http://testserver", follow_redirects=False)
        clients[role].headers["Authorization"] = f"Bearer {secret}"
    return {
        "clients": clients,
        "course_id": str(course_id),
        "task_id": str(task.id),
        "link_tokens": link_tokens,
    }


def _path(template: str, method: str, role: str, world: dict[str, object]) -> str:
    reads = method == "GET"
    values = {
        "{course_id}": str(world["course_id"]) if reads else MISSING,
        "{task_id}": str(world["task_id"]) if reads else MISSING,
        "{token}": world["link_tokens"].get(role, "ikke-et-link"),  # type: ignore[attr-defined]
        "{programme}": "minoritetsetniske",
        "{key}": "minoritetsetniske",
        "{version}": "1",
        "{name}": "forloeb",
        "{fmt}": "csv",
    }
    path = "/static/style.css" if template == "/static" else template
    for name, value in values.items():
        path = path.replace(name, value)

    return re.sub(r"\{[a-z_]+\}", MISSING, path)


def _expected(entry: str, role: str, api: bool) -> set[int] | None:
    """None: allowed; else the refusal statuses."""
    rule = RULES[entry]
    if rule == PUBLIC:
        return None
    if rule == TASK_LINK:
        return None if role in LINKS else {403}
    if rule == APPLICATION_LINK:
        return {403, 404}  # nobody in the matrix holds an application link
    if role in TOKEN_SCOPES:
        if not api:
            return {303}  # a token is nobody on a page
        needed = WRITE_SCOPES.get(entry, api_tokens.READ)
        if needed not in TOKEN_SCOPES[role] or (rule == ADMIN and role != "admin token"):
            return {403}
        return None
    if role not in LOGINS:
        return {401} if api else {303}
    if rule == ADMIN and role != "admin":
        return {403}
    return None


def test_authorization_matrix(world: dict[str, object]) -> None:
    clients: dict[str, TestClient] = world["clients"]  # type: ignore[assignment]
    csrf = {
        role: csrf_from(c.get("/konto" if role in LOGINS else "/login").text) for role, c in clients.items()
    }
    wrong = []
    for entry in sorted(RULES, key=lambda e: e == "POST /logout"):  # logging out last
        method, template = entry.split(" ", 1)
        for role in ROLES:
            c = clients[role]
            path = _path(template, method, role, world)
            api = path.startswith("/api")
            headers, data = {}, None
            if method == "POST":
                headers = {"X-CSRF-Token": csrf[role]}
                data = {"csrf_token": csrf[role]}
            response = c.request(method, path, headers=headers, data=data if not api else None)
            status = response.status_code
            to_login = status == 303 and response.headers.get("location", "").startswith("/login")
            refused = status in (401, 403, 410) or to_login
            expected = _expected(entry, role, api)
            if status >= 500 and status != 503:  # 503: through the check, Prefect is not running here
                wrong.append(f"{entry} as {role}: {status}")
            elif expected is None and refused and RULES[entry] != PUBLIC:
                wrong.append(f"{entry} as {role}: refused ({status}), expected allowed")
            elif expected is not None and status not in expected:
                wrong.append(f"{entry} as {role}: {status}, expected {sorted(expected)}")
    assert not wrong, "\n".join(wrong)
