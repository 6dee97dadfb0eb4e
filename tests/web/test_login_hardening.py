"""Issue 14, logins: throttling and lockout (form and HTTP Basic), inactivity and absolute session
expiry, the password policy, and a password change ending every other session."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from core.errors import InvalidInput
from models.tables import UserRole
from services.accounts import check_password_policy, set_password
from tests.support.web import PASSWORD, client, csrf_from, logged_in, make_user


def _same_app(c: TestClient) -> TestClient:
    """Another browser on the same dashboard process (the memory:// count is per process)."""
    return TestClient(c.app, base_url="http://testserver", follow_redirects=False)


def _login(c: TestClient, username: str, password: str) -> int:
    token = csrf_from(c.get("/login").text)
    return c.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    ).status_code


def test_account_is_locked_after_five_failures_with_a_danish_time() -> None:
    make_user("kk", "Konsulent K")
    c = client()
    assert [_login(c, "kk", "forkert-forkert") for _ in range(5)] == [401] * 5
    token = csrf_from(c.get("/login").text)
    locked = c.post("/login", data={"username": "kk", "password": PASSWORD, "csrf_token": token})
    assert locked.status_code == 429 and 0 < int(locked.headers["retry-after"]) <= 15 * 60
    assert "For mange mislykkede login-forsøg. Prøv igen kl." in locked.text and "minutter" in locked.text
    # The account is locked from everywhere, the right password too; another account is not.
    assert _login(_same_app(c), "kk", PASSWORD) == 429
    make_user("mm", "Konsulent M")
    assert _login(client(), "mm", PASSWORD) == 303  # another process: its own count


def test_success_clears_the_account_count(monkeypatch: pytest.MonkeyPatch) -> None:
    make_user("kk", "Konsulent K")
    c = client()
    for _ in range(4):
        _login(c, "kk", "forkert-forkert")
    assert _login(c, "kk", PASSWORD) == 303
    assert [_login(_same_app(c), "kk", "forkert-forkert") for _ in range(4)] == [401] * 4


def test_one_address_is_locked_after_twenty_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORLOEB_LOGIN_MAX_FAILURES_PER_ADDRESS", "3")
    from core.settings import get_settings

    get_settings.cache_clear()
    make_user("kk", "Konsulent K")
    c = client()
    for name in ("a1", "a2", "a3"):
        assert _login(c, name, "forkert-forkert") == 401
    assert _login(c, "kk", PASSWORD) == 429  # same address (testclient), another account


def test_http_basic_gets_the_same_throttle() -> None:
    make_user("kk", "Konsulent K")
    c = client()
    for _ in range(5):
        assert c.get("/api/courses", auth=("kk", "forkert-forkert")).status_code == 401
    response = c.get("/api/courses", auth=("kk", PASSWORD))
    assert response.status_code == 429 and int(response.headers["retry-after"]) > 0
    assert response.headers["content-type"] == "application/problem+json"
    assert "Prøv igen kl." in response.json()["detail"]
    assert _login(_same_app(c), "kk", PASSWORD) == 429  # the form counts the same failures


def test_session_ends_after_inactivity_and_after_eight_hours(monkeypatch: pytest.MonkeyPatch) -> None:
    import dashboard.deps as deps

    clock = [1_800_000_000.0]
    monkeypatch.setattr(deps, "epoch", lambda: clock[0])
    c = logged_in()
    clock[0] += 59 * 60
    assert c.get("/oversigt").status_code == 200  # within the hour: still in, and the clock restarts
    clock[0] += 59 * 60
    assert c.get("/oversigt").status_code == 200
    clock[0] += 61 * 60
    assert c.get("/oversigt").headers["location"].startswith("/login")
    assert c.get("/api/courses").status_code == 401  # the session was ended, not just refused once

    c = logged_in("ll", "Konsulent L")
    for _ in range(9):  # busy all day: active every 50 minutes (7.5 h)
        clock[0] += 50 * 60
        assert c.get("/oversigt").status_code == 200
    clock[0] += 50 * 60  # 7.5 h + 50 min > 8 h after login
    assert c.get("/oversigt").status_code == 303


def test_idle_minutes_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    import dashboard.deps as deps
    from core.settings import get_settings

    monkeypatch.setenv("FORLOEB_SESSION_IDLE_MINUTES", "5")
    get_settings.cache_clear()
    clock = [1_800_000_000.0]
    monkeypatch.setattr(deps, "epoch", lambda: clock[0])
    c = logged_in()
    clock[0] += 6 * 60
    assert c.get("/oversigt").status_code == 303


def test_password_change_ends_every_other_session() -> None:
    mine, other_browser = logged_in(), client()
    assert _login(other_browser, "kk", PASSWORD) == 303
    new = "et-helt-nyt-langt-kodeord"
    token = csrf_from(mine.get("/konto").text)
    changed = mine.post("/konto", data={"csrf_token": token, "current": PASSWORD, "new": new, "repeat": new})
    assert changed.status_code == 303
    assert mine.get("/oversigt").status_code == 200  # the session that changed it goes on
    assert other_browser.get("/oversigt").status_code == 303
    # An admin's reset ends that session too, and the API's Basic cache does not outlive it.
    api = client()
    assert api.get("/api/courses", auth=("kk", new)).status_code == 200
    from services.accounts import list_users

    [kk] = [u for u in list_users() if u.username == "kk"]
    set_password(kk.id, "nulstillet-af-admin", actor="chef")  # type: ignore[arg-type]
    assert mine.get("/oversigt").status_code == 303
    assert api.get("/api/courses", auth=("kk", new)).status_code == 401


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("kort-kodeord", None),
        ("elleve-tegn", "mindst 12 tegn"),
        ("konsulentkk1", None),
        ("Konsulenten", "mindst 12 tegn"),
        ("konsulenten1", "brugernavnet"),
        ("KONSULENTEN", "mindst 12 tegn"),
        ("Adgangskode123", "mest brugte"),
        ("password1234", "mest brugte"),
        ("korrekt-hest-batteri", None),
    ],
)
def test_password_policy(password: str, message: str | None) -> None:
    if message is None:
        check_password_policy(password, "konsulenten")
    else:
        with pytest.raises(InvalidInput, match=message):
            check_password_policy(password, "konsulenten")
    with pytest.raises(InvalidInput, match="brugernavnet"):
        check_password_policy("konsulenten1", "konsulenten1")


def test_policy_applies_where_passwords_are_set() -> None:
    admin = logged_in("chef", "Chef C", UserRole.ADMIN)
    token = csrf_from(admin.get("/konsulenter").text)
    form = {"username": "ny", "display_name": "Ny", "role": "consultant", "csrf_token": token}
    for password, message in (("elleve-tegn", "mindst 12 tegn"), ("adgangskode123", "mest brugte")):
        refused = admin.post("/konsulenter", data={**form, "password": password})
        assert refused.status_code == 422 and message in refused.text
    c = logged_in()
    token = csrf_from(c.get("/konto").text)
    own = {"csrf_token": token, "current": PASSWORD, "new": "velkommen123", "repeat": "velkommen123"}
    assert "mest brugte" in c.post("/konto", data=own).text


def test_demo_passwords_satisfy_the_policy() -> None:
    from devtools.demo import demo_consultants
    from services.accounts import ensure_demo_admin, ensure_demo_consultants

    username, password = ensure_demo_admin()
    check_password_policy(password, username)
    assert ensure_demo_consultants(demo_consultants(), password)
