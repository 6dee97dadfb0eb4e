"""The BPMN export over HTTP and the course page's live diagram: the API gives a programme version's
XML (the CLI's bytes) and a course's state on it (finished and current elements, every track); the
course page draws it with bpmn-js served by the dashboard (no CDN) and marks the current step, for a
one-track and a two-track course, in Debian's chromium. Course rows are laid out in the app database
(no Prefect). The screenshot goes to test-artifacts/forloeb-bpmn.png (the README's copy,
docs/screenshots/forloeb-bpmn.png, is that file: `FORLOEB_SCREENSHOTS=1` writes it there too)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from forloeb.cli import app
from models.programmes import get_programme
from services import bpmn
from tests.support.web import PASSWORD, client, logged_in, make_user
from tests.web.test_browser import ARTIFACTS, CHROMIUM, browser_page, server
from tests.web.test_tracks_view import AALBORG, both_tracks, lay_out

__all__ = ["browser_page", "server"]  # fixtures shared with the browser test

ROOT = Path(__file__).resolve().parents[2]
VIEWER = ROOT / "dashboard" / "static" / "vendor" / "bpmn-js" / "bpmn-navigated-viewer.production.min.js"
SCREENSHOT = ROOT / "docs" / "screenshots" / "forloeb-bpmn.png"

MINORITY_DONE = (
    "behovsafklaring",
    "samarbejdsaftale",
    "arbejdsgruppe",
    "dataindsamling",
    "sagsanalyse",
    "afdaekningsworkshop",
)


def one_track() -> int:
    """minoritetsetniske v2 in its workshops: workshop 2 is planned, its registration is open."""
    return lay_out(
        AALBORG,
        "minoritetsetniske",
        2,
        done=MINORITY_DONE,
        active=("workshops",),
        open_tasks=(("workshops", "workshop-afholdt-2", "Registrér at workshop 2 er holdt"),),
        answers={"workshop-planlaegning-1": {}, "workshop-afholdt-1": {}, "workshop-planlaegning-2": {}},
    )


def test_the_api_gives_the_export_and_refuses_an_unknown_version() -> None:
    make_user("kk", "Konsulent K")
    api = client()
    api.auth = ("kk", PASSWORD)
    response = api.get("/api/programmes/inddragelse/1/bpmn")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    assert response.content == bpmn.export(get_programme("inddragelse", 1))
    cli = CliRunner().invoke(app, ["programmes", "bpmn", "inddragelse", "--version", "1"])
    assert cli.exit_code == 0
    assert cli.stdout_bytes == response.content
    missing = api.get("/api/programmes/inddragelse/9/bpmn")
    assert missing.status_code == 404
    assert "ingen version 9" in missing.json()["detail"]
    assert client().get("/api/programmes/inddragelse/1/bpmn").status_code == 401


def test_the_course_state_marks_done_and_current_steps_on_every_track() -> None:
    api = logged_in()
    two = both_tracks()
    state = api.get(f"/api/courses/{two}/diagram").json()
    assert state["bpmn_url"] == "/api/programmes/inddragelse/1/bpmn"
    assert state["current"] == [
        "Stage_traeningsdage",
        "Stage_udviklingsarbejde",
        "Task_raadgivningsmoede-afholdt",
        "Task_traeningsdag-planlaegning",
    ]
    assert {"Task_opstartsmoede", "Task_udviklingsplan", "Task_kompetenceplan"} <= set(state["done"])
    assert "Task_evaluering" not in state["done"] + state["current"]  # planned
    one = one_track()
    state = api.get(f"/api/courses/{one}/diagram").json()
    assert state["current"] == ["Stage_workshops", "Task_workshop-afholdt"]
    assert "Task_workshop-planlaegning" in state["done"] and "Task_sagsanalyse" in state["done"]
    assert api.get("/api/courses/999999/diagram").status_code == 404


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium")
def test_the_course_page_shows_the_live_diagram_for_one_and_two_tracks(server: str, browser_page) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import Page, expect

    assert VIEWER.is_file(), "bpmn-js is not in dashboard/static/vendor: run `make node` (make test does)"
    page: Page = browser_page
    make_user("kk", "Konsulent K")
    one, two = one_track(), both_tracks()
    problems: list[str] = []
    page.on(
        "console",
        lambda m: (
            problems.append(f"{m.text} {m.location.get('url')}")
            if m.type == "error"
            and not m.location.get("url", "").endswith("/favicon.ico")  # the dashboard has none
            else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)

    page.goto(f"{server}/login")
    page.fill("#username", "kk")
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Log ind')")

    page.goto(f"{server}/forloeb/{one}")
    diagram = page.locator("#bpmn-diagram")
    expect(diagram).to_have_attribute("data-ready", "1")
    current = diagram.locator(".djs-element.forloeb-nu")
    expect(diagram.locator('.forloeb-nu[data-element-id="Task_workshop-afholdt"]')).to_have_count(1)
    expect(current).to_have_count(2)  # the step, and the repeated stage around it
    expect(diagram.locator('.forloeb-faerdig[data-element-id="Task_sagsanalyse"]')).to_have_count(1)
    expect(diagram.locator('[data-element-id="Task_evaluering"]')).not_to_have_class("forloeb-nu")
    expect(diagram).to_contain_text("Registrér at workshop n er holdt")

    page.goto(f"{server}/forloeb/{two}")
    expect(diagram).to_have_attribute("data-ready", "1")
    for element in ("Task_raadgivningsmoede-afholdt", "Task_traeningsdag-planlaegning"):
        expect(diagram.locator(f'.forloeb-nu[data-element-id="{element}"]')).to_have_count(1)
    expect(diagram.locator('.forloeb-faerdig[data-element-id="Task_kompetenceplan"]')).to_have_count(1)
    expect(diagram.locator('[data-element-id="Lane_boerns-vilkaar"]')).to_contain_text("Børns Vilkår")
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#proces").screenshot(path=str(ARTIFACTS / SCREENSHOT.name))
    if os.environ.get("FORLOEB_SCREENSHOTS") == "1":
        page.locator("#proces").screenshot(path=str(SCREENSHOT))
    page.screenshot(path=str(ARTIFACTS / "forloeb-bpmn-side.png"), full_page=True)

    assert failed == []
    assert problems == []  # no script error, no refused style or script (CSP)
    assert all(url.startswith(server) for url in requested), "everything from the dashboard, no CDN"
