"""Issue 14: personal API tokens. Shown once, stored hashed, scoped, revocable, last use recorded,
never accepted on the HTML pages, never in a log line; the OpenAPI document declares the scheme."""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import timedelta
from typing import Annotated

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import select
from typer.testing import CliRunner

from core.clock import now
from core.db import get_engine, session_scope
from dashboard.app import create_app
from dashboard.deps import api_user
from forloeb.cli import app as cli
from models.tables import ApiToken, AuditEvent, User, UserRole
from services import api_tokens
from services.accounts import CurrentUser, set_active
from tests.support.web import csrf_from, logged_in, make_user, seed_course

TOKEN = re.compile(r"flb_[A-Za-z0-9_-]{40,}")


_app: FastAPI | None = None


def bearer(token: str) -> TestClient:
    """A client that sends the token (one app for the module: creating one per client is slow)."""
    global _app
    _app = _app or create_app()
    c = TestClient(_app, base_url="http://testserver", follow_redirects=False)
    c.headers["Authorization"] = f"Bearer {token}"
    return c


def new_token(*scopes: str, user: str = "kk", expires: int | None = None) -> str:
    with session_scope() as session:
        exists = session.exec(select(User).where(User.username == user)).first()
    if exists is None:
        make_user(
            user, f"Konsulent {user.upper()}", UserRole.ADMIN if user == "chef" else UserRole.CONSULTANT
        )
    _row, secret = api_tokens.create_token(
        owner=user, name="test", scopes=list(scopes), expires_days=expires, actor="test"
    )
    return secret


def test_cli_creates_lists_and_revokes_and_the_secret_is_shown_once() -> None:
    make_user("kk", "Konsulent K")
    runner = CliRunner(env={"COLUMNS": "200"})
    created = runner.invoke(
        cli, ["token", "create", "--user", "kk", "--name", "Power BI", "--scope", "read", "--expires", "30"]
    )
    assert created.exit_code == 0, created.output
    (secret,) = TOKEN.findall(created.stdout)
    assert "vises kun" in created.output
    assert bearer(secret).get("/api/courses").status_code == 200

    listed = runner.invoke(cli, ["token", "list"])
    assert listed.exit_code == 0 and "Power BI" in listed.stdout and secret[:12] in listed.stdout
    assert secret not in listed.stdout and secret[12:] not in listed.stdout
    (row,) = api_tokens.list_tokens()
    assert row.status == "aktiv" and row.last_used_at is not None

    revoked = runner.invoke(cli, ["token", "revoke", str(row.id)])
    assert revoked.exit_code == 0 and "tilbagekaldt" in revoked.stdout
    response = bearer(secret).get("/api/courses")
    assert response.status_code == 401 and "tilbagekaldt" in response.json()["detail"]
    assert "Bearer" in response.headers["www-authenticate"]
    with session_scope() as session:
        actions = [e.action for e in session.exec(select(AuditEvent))]
    assert "API-nøgle oprettet" in actions and "API-nøgle tilbagekaldt" in actions


def test_cli_refuses_bad_input_in_danish_and_creates_nothing() -> None:
    make_user("kk", "Konsulent K")
    runner = CliRunner(env={"COLUMNS": "200"})
    for args, says in (
        (["--user", "kk", "--name", "x", "--scope", "alt"], "Ukendt scope: alt"),
        (["--user", "ingen", "--name", "x", "--scope", "read"], "ingen aktiv bruger"),
        (["--user", "kk", "--name", " ", "--scope", "read"], "Giv nøglen et navn"),
        (["--user", "kk", "--name", "x", "--scope", "read", "--expires", "0"], "Udløb skal"),
    ):
        result = runner.invoke(cli, ["token", "create", *args])
        assert result.exit_code != 0 and says in result.output, result.output
    assert api_tokens.list_tokens() == []


def test_scopes_are_enforced_per_endpoint() -> None:
    course_id = seed_course(751)
    reader, tasks = bearer(new_token("read")), bearer(new_token("tasks:write"))
    assert reader.get("/api/courses").status_code == 200
    assert reader.get(f"/api/courses/{course_id}").status_code == 200
    refused = reader.post("/api/tasks/999999/complete", json={"answer": {}})
    assert refused.status_code == 403 and "tasks:write" in refused.json()["detail"]
    assert reader.post("/api/applications/999999/scores", json={}).status_code == 403
    # tasks:write gets through to the endpoint (no such task), but reads nothing.
    assert tasks.post("/api/tasks/999999/complete", json={"answer": {}}).status_code in (404, 422)
    assert tasks.get("/api/courses").status_code == 403
    # Writes with a token need no CSRF header (no cookie is involved).
    assert (
        bearer(new_token("courses:write")).post("/api/courses/999999/resume").status_code == 403
    )  # not admin


def test_admin_endpoints_need_an_admins_token(monkeypatch: pytest.MonkeyPatch) -> None:
    from services import recovery

    monkeypatch.setattr(
        recovery,
        "diagnose",
        lambda *a, **k: recovery.Diagnosis(findings=[], courses_checked=0, live_runners=0),
    )
    assert bearer(new_token("read")).get("/api/operations").status_code == 403
    assert bearer(new_token("read", user="chef")).get("/api/operations").status_code == 200


def test_revoked_expired_unknown_and_deactivated_get_401() -> None:
    expired = new_token("read", expires=1)
    with session_scope() as session:
        row = session.exec(select(ApiToken)).one()
        row.expires_at = now() - timedelta(seconds=1)
        session.add(row)
    assert bearer(expired).get("/api/courses").status_code == 401
    assert bearer("flb_" + "x" * 43).get("/api/courses").status_code == 401
    assert bearer("noget-andet").get("/api/courses").status_code == 401
    ok = new_token("read")
    assert bearer(ok).get("/api/courses").status_code == 200
    with session_scope() as session:
        kk = session.exec(select(User).where(User.username == "kk")).one()
    assert kk.id is not None
    set_active(kk.id, False, actor="test")
    assert bearer(ok).get("/api/courses").status_code == 401


def test_last_used_is_written_at_most_once_a_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = new_token("read")
    c = bearer(secret)
    assert c.get("/api/courses").status_code == 200
    (first,) = api_tokens.list_tokens()
    assert first.last_used_at is not None and now() - first.last_used_at < timedelta(seconds=30)
    assert c.get("/api/courses").status_code == 200
    assert api_tokens.list_tokens()[0].last_used_at == first.last_used_at  # no write within the minute
    later = now() + timedelta(minutes=2)
    monkeypatch.setattr(api_tokens, "now", lambda: later)
    assert c.get("/api/courses").status_code == 200
    assert api_tokens.list_tokens()[0].last_used_at == later


def test_only_the_hash_is_stored() -> None:
    secret = new_token("read", "tasks:write")
    with get_engine().connect() as connection:
        dump = " ".join(
            str(value)
            for table in ("apitoken", "auditevent")
            for row in connection.execute(text(f"SELECT * FROM {table}"))
            for value in row
        )
    assert secret not in dump and secret[12:] not in dump
    assert hashlib.sha256(secret.encode()).hexdigest() in dump
    assert secret[:12] in dump  # the non-secret prefix, to recognise it


def test_a_token_never_works_on_html_pages() -> None:
    c = bearer(new_token("read", "tasks:write", "courses:write", "applications:write"))
    for path in ("/oversigt", "/opgaver", "/konto/api-noegler", "/noegletal"):
        response = c.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/login"), path
    assert c.post("/konto/api-noegler", data={"name": "x", "scope": "read"}).status_code in (303, 403)
    assert len(api_tokens.list_tokens()) == 1


def test_a_route_that_declares_no_scope_refuses_tokens() -> None:
    app = create_app()

    def unscoped(user: Annotated[CurrentUser, Depends(api_user)]) -> dict[str, str]:
        return {"user": user.username}

    app.add_api_route("/api/uden-scope", unscoped)
    c = TestClient(app, base_url="http://testserver")
    c.headers["Authorization"] = f"Bearer {new_token('read', 'tasks:write', 'courses:write')}"
    assert c.get("/api/uden-scope").status_code == 403
    c.headers.pop("Authorization")
    c.auth = ("kk", "korrekt-hest-batteri")
    assert c.get("/api/uden-scope").status_code == 200  # a password login keeps every right


def test_the_page_shows_the_secret_once_lists_and_revokes() -> None:
    c = logged_in("kk", "Konsulent K")
    page = c.get("/konto/api-noegler")
    assert page.status_code == 200 and "Ingen API-nøgler endnu" in page.text
    token = csrf_from(page.text)
    refused = c.post("/konto/api-noegler", data={"csrf_token": token, "name": "BI"})
    assert refused.status_code == 422 and "Vælg mindst ét scope" in refused.text
    assert api_tokens.list_tokens() == []
    created = c.post(
        "/konto/api-noegler", data={"csrf_token": token, "name": "BI", "scope": ["read", "tasks:write"]}
    )
    assert created.status_code == 200 and 'id="token-secret"' in created.text
    (secret,) = TOKEN.findall(created.text)
    assert created.headers["cache-control"] == "no-store"
    assert bearer(secret).get("/api/tasks").status_code == 200
    again = c.get("/konto/api-noegler").text
    assert secret not in again and secret[:12] in again and "read, tasks:write" in again
    _scopes, _created, expires, last_used, status = re.findall(
        r"<td>(.*?)</td>", again.split(secret[:12])[1].split("</tr>")[0]
    )[:5]
    assert (expires, status) == ("aldrig", "aktiv") and re.fullmatch(
        r"\d+\.\d+\.\d{4} kl\. \d\d\.\d\d", last_used
    )

    # Another consultant neither sees nor revokes it; an admin sees it.
    other = logged_in("ll", "Konsulent L")
    assert secret[:12] not in other.get("/konto/api-noegler").text
    (row,) = api_tokens.list_tokens()
    other_token = csrf_from(other.get("/konto/api-noegler").text)
    assert (
        other.post(f"/konto/api-noegler/{row.id}/tilbagekald", data={"csrf_token": other_token}).status_code
        == 404
    )
    assert bearer(secret).get("/api/tasks").status_code == 200
    admin = logged_in("chef", "Chef C", UserRole.ADMIN)
    assert secret[:12] in admin.get("/konto/api-noegler").text

    revoked = c.post(f"/konto/api-noegler/{row.id}/tilbagekald", data={"csrf_token": token})
    assert revoked.status_code == 303
    assert "tilbagekaldt" in c.get(revoked.headers["location"]).text
    assert bearer(secret).get("/api/tasks").status_code == 401


def test_the_secret_never_reaches_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    c = logged_in("kk", "Konsulent K")
    token = csrf_from(c.get("/konto/api-noegler").text)
    created = c.post("/konto/api-noegler", data={"csrf_token": token, "name": "BI", "scope": "read"})
    (secret,) = TOKEN.findall(created.text)
    b = bearer(secret)
    b.get("/api/courses")
    b.post("/api/tasks/1/complete", json={"answer": {}})
    bearer(secret + "x").get("/api/courses")
    lines = [record.getMessage() for record in caplog.records]
    assert lines, "expected some log output at DEBUG"
    assert not [line for line in lines if secret[12:] in line]


def test_the_openapi_document_declares_the_bearer_scheme_and_a_scope_per_operation() -> None:
    document = create_app().openapi()
    schemes = document["components"]["securitySchemes"]
    assert schemes["apiToken"] == {**schemes["apiToken"], "type": "http", "scheme": "bearer"}
    assert schemes["basic"]["scheme"] == "basic"
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if not path.startswith("/api") or path == "/api/openapi.json":
                continue
            security = {name: scopes for entry in operation["security"] for name, scopes in entry.items()}
            assert set(security) == {"apiToken", "basic"}, (method, path)
            (scope,) = security["apiToken"]
            assert scope in api_tokens.SCOPES, (method, path)
            assert scope == ("read" if method == "get" else scope) and (method == "get") == (scope == "read")
