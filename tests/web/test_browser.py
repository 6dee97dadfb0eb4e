"""End to end in Debian's chromium (Playwright): log in, overview, course page, complete a task
through its generated form, see the stage advance. Screenshots go to test-artifacts/."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest
import uvicorn

from dashboard.app import create_app
from services import courses
from tests.support.drive import run_until_wait
from tests.support.web import PASSWORD, make_user

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian's chromium is not installed at /usr/bin/chromium "
        "(run `python -m devtools.testsetup` as root to install it)",
    ),
    pytest.mark.usefixtures("prefect_server"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server() -> Iterator[str]:
    """The dashboard served by uvicorn in a thread, on this test's app DB."""
    port = _free_port()
    config = uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(200):  # wait until it listens (not a timing assertion: we just poll readiness)
        if srv.started:
            break
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def browser_page(tmp_path: Path) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            user_data_dir=str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000},
            locale="da-DK",
        )
        try:
            yield context.new_page()
        finally:
            context.close()


def _drive(flow_run_id: str) -> None:
    # Playwright's sync API owns this thread's event loop; run the flow engine in another thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(run_until_wait, flow_run_id).result()


def test_log_in_see_overview_complete_task_and_stage_advances(server: str, browser_page) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import Page, expect

    page: Page = browser_page
    make_user("kk", "Konsulent K")
    course = courses.start_course(
        "Silkeborg", "minoritetsetniske", "Konsulent K", date(2026, 1, 5), actor="kk"
    )
    assert course.flow_run_id and course.id
    _drive(course.flow_run_id)
    ARTIFACTS.mkdir(exist_ok=True)

    page.goto(f"{server}/oversigt")
    expect(page).to_have_url(f"{server}/login?next=/oversigt")
    page.fill("#username", "kk")
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Log ind')")
    expect(page.locator("h1")).to_have_text("Oversigt")
    row = page.locator(f'tr[data-course="{course.id}"]')
    expect(row).to_contain_text("Silkeborg")
    expect(row.locator("td.stage")).to_have_text("1/11 Behovsafklaring")
    page.screenshot(path=str(ARTIFACTS / "oversigt.png"), full_page=True)

    row.locator("a", has_text="Silkeborg").click()
    expect(page.locator("#current-stage")).to_contain_text("Behovsafklaring")
    expect(page.locator("svg.gantt")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "forloeb.png"), full_page=True)

    page.locator("table.tasks a", has_text="Hold formøde og aftal fokus").click()
    expect(page.locator("label[for='f-fokus']")).to_contain_text("Aftalt fokus for forløbet")
    page.fill("input[name='formoede_dato']", "2026-01-12")
    page.click("button:has-text('Udfør opgaven')")
    # The missing field is reported next to the field, and what was typed is kept.
    expect(page.locator("#err-fokus")).to_contain_text("skal udfyldes")
    expect(page.locator("input[name='formoede_dato']")).to_have_value("2026-01-12")
    page.fill("textarea[name='fokus']", "Opsporing og underretninger")
    page.click("button:has-text('Udfør opgaven')")
    expect(page.locator(".notice")).to_contain_text("Opgaven er udført")

    _drive(course.flow_run_id)
    page.reload()
    expect(page.locator("#current-stage")).to_contain_text("Samarbejdsaftale")
    expect(page.locator("tr[data-stage='behovsafklaring']")).to_contain_text("Afsluttet")
    page.screenshot(path=str(ARTIFACTS / "forloeb-efter-opgave.png"), full_page=True)
