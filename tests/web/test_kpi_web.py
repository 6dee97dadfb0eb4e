"""The Nøgletal page (issue 15) for consultants and admins (anonymous goes to the login), its
exports (CSV and XLSX read back with Danish headers and dd.mm.åååå dates), the JSON API with the
same numbers, and a screenshot in chromium: charts drawn, no script, no CSP refusal, nothing from
outside the dashboard (docs/screenshots/kpi.png with FORLOEB_SCREENSHOTS=1)."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest

from core.clock import frozen
from models.tables import UserRole
from services import kpi
from tests.support.web import PASSWORD, client, logged_in, make_user
from tests.unit.test_kpi import NOW, rows
from tests.web.test_browser import ARTIFACTS, CHROMIUM, browser_page, server

__all__ = ["browser_page", "rows", "server"]  # fixtures

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "screenshots" / "kpi.png"
PERIOD = "program=minoritetsetniske&fra=2026-01-01&til=2026-06-15"


def test_anonymous_is_sent_to_the_login() -> None:
    response = client().get("/noegletal?program=overgreb")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/noegletal%3Fprogram%3Dovergreb"
    assert client().get("/noegletal/faser.csv").status_code == 303
    assert client().get("/api/kpi").status_code == 401


@pytest.mark.usefixtures("rows")
@pytest.mark.parametrize("role", [UserRole.CONSULTANT, UserRole.ADMIN])
def test_the_page_shows_the_numbers_charts_and_exports(role: UserRole) -> None:
    web = logged_in("kk", "Konsulent K", role)
    with frozen(NOW):
        page = web.get(f"/noegletal?{PERIOD}")
    assert page.status_code == 200
    html = page.text
    assert "<title>Nøgletal" in html and 'aria-current="page">Nøgletal</a>' in html
    assert 'data-kpi="started">4<' in html and 'data-kpi="stages-on-time">50,0 %<' in html
    assert 'data-kpi="tasks-on-time">66,7 %<' in html and 'data-kpi="overdue">2<' in html
    assert (
        '<td>Behovsafklaring</td><td class="num">4</td><td class="num">14</td>'
        '<td class="num">13,5</td><td class="num">17,8</td>' in html
    )
    assert html.count('src="data:image/svg+xml;base64,') == 3
    assert "<script" not in html
    for key in kpi.TABLE_KEYS:
        assert f'href="/noegletal/{key}.csv?{PERIOD.replace("&", "&amp;")}"' in html
    assert 'data-table="evaluering"' in html and "Pladsholder" not in html
    assert "Periode 1.1.2026–15.6.2026" in html


def test_a_wrong_period_is_refused_in_danish() -> None:
    web = logged_in()
    response = web.get("/noegletal?fra=2026-05-01&til=2026-04-01")
    assert response.status_code == 422 and "begynder efter" in response.text
    assert web.get("/noegletal?fra=igaar").status_code == 422
    assert web.get("/noegletal/hemmelig.csv").status_code == 404


@pytest.mark.usefixtures("rows")
def test_csv_and_xlsx_read_back_with_danish_headers_and_dates() -> None:
    from openpyxl import load_workbook

    web = logged_in()
    with frozen(NOW):
        stages = web.get(f"/noegletal/faser.csv?{PERIOD}")
        courses = web.get(f"/noegletal/forloeb.csv?{PERIOD}")
        workbook = web.get(f"/noegletal/alle.xlsx?{PERIOD}")
    assert stages.headers["content-type"] == "text/csv; charset=utf-8"
    assert (
        'filename="noegletal-faser-minoritetsetniske-2026-01-01-2026-06-15.csv"'
        in stages.headers["content-disposition"]
    )
    assert stages.content.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 with the mark
    table = list(csv.reader(io.StringIO(stages.content.decode("utf-8-sig")), delimiter=";"))
    assert table[0] == [
        "Spor",
        "Fase",
        "Afsluttet",
        "Planlagt, median (dage)",
        "Faktisk, median (dage)",
        "Faktisk, p90 (dage)",
        "Afvigelse, median (dage)",
        "Til tiden (%)",
    ]
    assert table[1][1:] == ["Behovsafklaring", "4", "14,0", "13,5", "17,8", "-0,5", "50,0"]
    people = list(csv.reader(io.StringIO(courses.content.decode("utf-8-sig")), delimiter=";"))
    assert people[0][:6] == ["Forløb", "Kommune", "Program", "Version", "Konsulent", "Startdato"]
    assert people[1][1] == "Aarhus" and people[1][5] == "10.01.2026" and people[1][6] == "Aktiv"
    assert people[2][8] == "01.05.2026"  # Odense completed

    book = load_workbook(io.BytesIO(workbook.content))
    assert book.sheetnames == [
        "Overblik",
        "Gennemløbstid pr. fase",
        "Konsulenter belastning og frist",
        "Forløb pr. måned",
        "Ansøgninger modtaget i perioden",
        "Evalueringer (skala 1-5)",
        "Forløb i perioden",
    ]
    sheet = book["Forløb i perioden"]
    header = [c.value for c in sheet[1]]
    assert header[5] == "Startdato" and header[8] == "Afsluttet"
    start = sheet.cell(row=2, column=6)
    assert start.value.date().isoformat() == "2026-01-10" and start.number_format == "DD.MM.YYYY"
    overview = book["Overblik"]
    assert [c.value for c in overview[6]] == ["Faser afsluttet til tiden", 3, 50.0]


@pytest.mark.usefixtures("rows")
def test_the_api_gives_the_same_numbers() -> None:
    make_user("kk", "Konsulent K")
    api = client()
    api.auth = ("kk", PASSWORD)
    with frozen(NOW):
        body = api.get(
            "/api/kpi", params={"programme": "minoritetsetniske", "from": "2026-01-01", "to": "2026-06-15"}
        ).json()
        courses = api.get(
            "/api/kpi/courses", params={"programme": "minoritetsetniske", "from": "2026-01-01"}
        ).json()
        assert body == kpi.report(
            "minoritetsetniske", kpi.Period(kpi.date(2026, 1, 1), kpi.date(2026, 6, 15))
        ).model_dump(mode="json")
    assert body["headline"]["tasks_on_time_pct"] == 66.7
    assert body["stages"][0]["actual_p90_days"] == 17.8
    assert body["applications"] == {
        "received": 3,
        "accepted": 1,
        "deferred": 1,
        "rejected": 0,
        "withdrawn": 0,
        "in_progress": 1,
    }
    assert [c["municipality"] for c in courses] == ["Aarhus", "Odense", "Aalborg", "Esbjerg"]
    refused = api.get("/api/kpi", params={"from": "2026-05-01", "to": "2026-04-01"})
    assert refused.status_code == 422 and "begynder efter" in refused.json()["detail"]
    assert api.get("/api/kpi", params={"programme": "ukendt"}).status_code == 422


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium")
def test_screenshot_of_the_page_in_chromium(server: str, browser_page) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import Page, expect

    from devtools.kpi_history import fill_history

    fill_history(160, seed=3, consultants=["Mette Konsulent", "Jonas Konsulent", "Sara Konsulent"], years=1.5)
    page: Page = browser_page
    make_user("kk", "Konsulent K")
    problems: list[str] = []
    page.on(
        "console",
        lambda m: (
            problems.append(m.text)
            if m.type == "error" and "favicon" not in (m.location.get("url") or "")
            else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(f"{server}/login")
    page.fill("#username", "kk")
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Log ind')")
    page.goto(f"{server}/noegletal?program=minoritetsetniske")
    expect(page.locator("h1")).to_contain_text("Nøgletal")
    charts = page.locator("img.chart")
    expect(charts).to_have_count(3)
    for i in range(3):  # every chart decoded and drawn at its size
        assert charts.nth(i).evaluate("img => img.complete && img.naturalWidth") == 820
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / SCREENSHOT.name), full_page=True)
    if os.environ.get("FORLOEB_SCREENSHOTS") == "1":
        page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert problems == []  # no CSP refusal, no script error
    assert all(url.startswith((server, "data:")) for url in requested), "nothing from outside"
