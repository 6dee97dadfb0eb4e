"""In Debian's chromium (Playwright): a municipality fills in the public application form with its
two PDFs, then a consultant logs in, sees the application ranked with the gate passed, and decides."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from core.clock import today
from services import applications
from tests.support.pdf import MINUTES, SIGNED
from tests.support.web import PASSWORD, make_user
from tests.web.test_browser import ARTIFACTS, CHROMIUM, browser_page, server  # noqa: F401

pytestmark = [
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium"
    ),
    pytest.mark.usefixtures("prefect_server"),
]


def test_municipality_applies_with_uploads_and_a_consultant_decides(
    server: str,  # noqa: F811
    browser_page,  # type: ignore[no-untyped-def]  # noqa: F811
    tmp_path: Path,
) -> None:
    from playwright.sync_api import Page, expect

    page: Page = browser_page
    (tmp_path / "referat.pdf").write_bytes(MINUTES)
    (tmp_path / "erklaering.pdf").write_bytes(SIGNED)
    ARTIFACTS.mkdir(exist_ok=True)

    page.goto(f"{server}/ansoeg/overgreb")
    expect(page.locator("h1")).to_contain_text("Vold og seksuelle overgreb")
    page.select_option("#f-kommune", label="Kolding")
    page.fill("#f-motivation", "Vi vil styrke opsporingen og håndteringen.")
    page.fill("#f-udfordringer", "Beredskabet er ikke kendt blandt medarbejderne.")
    page.fill("#f-forventninger", "Et opdateret beredskab, der bruges.")
    page.fill("#f-forankring", "Direktionen følger forløbet.")
    page.fill("#f-fokus", "Et kendt beredskab")
    page.fill("#f-foretrukken_start", (today() + timedelta(days=40)).isoformat())
    page.fill("input[name='kontakt_0_navn']", "Fiktiv Leder")
    page.fill("input[name='kontakt_0_rolle']", "Børnechef")
    page.fill("input[name='kontakt_0_email']", "leder@kommune.example")
    page.check("#f-ingen")
    page.fill("#f-underretninger", "120")
    page.fill("#f-foranstaltninger", "30")
    page.set_input_files("#f-referat", str(tmp_path / "referat.pdf"))
    page.set_input_files("#f-underskrift", str(tmp_path / "erklaering.pdf"))
    page.fill("#f-underskriver_navn", "Fiktiv Direktør")
    page.select_option("#f-underskriver_titel", "Direktør")
    page.fill("#f-underskrevet_dato", today().isoformat())
    page.click("button:has-text('Send ansøgningen')")
    # The director-level decision was not confirmed: refused, and what was typed is kept.
    expect(page.locator("#form-errors")).to_contain_text("direktørniveau")
    expect(page.locator("#f-fokus")).to_have_value("Et kendt beredskab")
    page.set_input_files("#f-referat", str(tmp_path / "referat.pdf"))
    page.set_input_files("#f-underskrift", str(tmp_path / "erklaering.pdf"))
    page.check("#f-direktoer")
    page.click("button:has-text('Send ansøgningen')")
    if page.locator("#form-errors").count():
        raise AssertionError(page.locator("#form-errors").inner_text())
    expect(page.locator("p.notice[role=status]")).to_contain_text("Ansøgningen har nummer")
    page.screenshot(path=str(ARTIFACTS / "ansoegning-modtaget.png"), full_page=True)
    page.click("#application-link")
    expect(page.locator("#gate")).to_contain_text("opfyldt")

    row = applications.list_applications()[0]
    make_user("kk", "Konsulent K")
    page.goto(f"{server}/login?next=/ansoegninger")
    page.fill("#username", "kk")
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Log ind')")
    expect(page.locator(f'tr[data-application="{row.id}"] td.gate')).to_have_text("✓")
    page.locator(f'tr[data-application="{row.id}"] a', has_text="Kolding").click()
    page.fill("#p-motivation", "4")
    page.click("button:has-text('Gem min vurdering')")
    expect(page.locator(".notice")).to_contain_text("Vurderingen er gemt")
    page.fill("#f-start", (today() + timedelta(days=40)).isoformat())
    page.click("button:has-text('Træf afgørelse')")
    expect(page.locator("#status")).to_have_text("Optaget")
    page.screenshot(path=str(ARTIFACTS / "ansoegning.png"), full_page=True)
