"""Accessibility (issue 15, WCAG 2.1 AA): axe-core, from the project's own node_modules (no CDN; put
into every page by the test browser: Playwright's add_init_script with its path), runs in Debian's
chromium on every page of the dashboard, the public ones included, and in their error
states; any violation of the WCAG 2.0/2.1 A and AA rules fails, and so does a page that does not
reflow at 320 CSS px (1.4.10, which axe does not check; data tables and diagrams may be wider).
The pages come from the app's route table: a new page without parameters is checked as it is, a
new page with parameters fails until `_pages` says how to fill it (and a route that is no page is
named in NOT_PAGES). Each page is opened as its rule in the authorization matrix says: anonymous,
consultant or admin.

Rows are laid out in the app database (no Prefect; the few calls to it are stubbed): a course of
each programme (one on two tracks), tasks, meetings, contacts, mails, an evaluation sent and
answered, an application, a network member, Nøgletal history.

The keyboard test fills in and sends the public forms and the login with the keyboard alone (Tab,
Shift+Tab, Space, Enter, arrow keys, typing into selects; no clicks): the skip link comes first,
every focused element shows a focus outline of 2 px or more (the stylesheet's :focus-visible
rule, not the browser's 1 px ring), and each answer is stored; axe runs on the pages after sending
too. `FORLOEB_SCREENSHOTS=1` writes docs/screenshots/evaluering.png (the README's)."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from core.clock import today
from core.db import session_scope
from core.links import make_task_token
from models.tables import (
    Contact,
    Course,
    EvaluationAnswer,
    HumanTask,
    Meeting,
    Notification,
    TaskStatus,
    UserRole,
)
from services import applications, prefect_gateway, recovery
from tests.support.web import PASSWORD, client, csrf_from, make_user, open_tasks, seed_course
from tests.web.test_applications_web import _form as application_form
from tests.web.test_authz_matrix import ADMIN, APPLICATION_LINK, PUBLIC, RULES, TASK_LINK, route_table
from tests.web.test_bpmn_diagram import one_track
from tests.web.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, server
from tests.web.test_evaluation_web import ANSWER, _evaluation_sent
from tests.web.test_tracks_view import ODENSE, both_tracks, lay_out

__all__ = ["server"]  # fixture

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOT = ROOT / "docs" / "screenshots" / "evaluering.png"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
KOLDING = 621

pytestmark = [
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium"
    ),
    pytest.mark.skipif(not AXE.exists(), reason="axe-core is not installed (run `make node`: npm ci)"),
]

NOT_PAGES = {
    "/healthz": "JSON for the load balancer",
    "/static": "the stylesheets, scripts and the BPMN viewer",
    "/a/{token}/dokumenter/{document_id}": "a PDF",
    "/ansoegninger/{application_id}/dokumenter/{document_id}": "a PDF",
    "/docs/oauth2-redirect": "FastAPI's Swagger UI helper",
}
"""GET routes that are no HTML page of ours. Neither are: every path under /api/ (the JSON API, and
FastAPI's Swagger UI at /api/docs, which is not our markup) and downloads (a dot in the last part:
/noegletal/{name}.{fmt})."""


def _pages(world: dict[str, Any]) -> dict[str, list[str]]:
    """The GET pages with parameters, filled from the laid-out rows."""
    return {
        "/netvaerk/{token}": [world["network_link"]],
        "/ansoeg/{programme}": [f"/ansoeg/{p.key}" for p in applications.intake_programmes()],
        "/a/{token}": [world["application_link"]],
        "/ansoegninger/{application_id}": [f"/ansoegninger/{world['application_id']}"],
        "/forloeb/{course_id}": [f"/forloeb/{c}" for c in world["courses"]],
        "/opgaver/{task_id}": [f"/opgaver/{t}" for t in world["tasks"]],
        "/k/{token}": [world["task_link"]],
        "/evaluering/{token}": [world["evaluation_links"][0]],
    }


ROLE_OF_RULE = {PUBLIC: "anonymous", TASK_LINK: "anonymous", APPLICATION_LINK: "anonymous", ADMIN: "admin"}
"""The browser a page is opened in, from its rule in the authorization matrix; other pages as a
consultant (and /oversigt also as an admin, whose menu is longer)."""


def page_urls(world: dict[str, Any]) -> tuple[list[tuple[str, str]], list[str]]:
    """(role, url) for every GET page in the route table; and the routes nobody said how to fill."""
    pages = _pages(world)
    urls: list[tuple[str, str]] = [("admin", "/oversigt")]
    unfilled = []
    for entry in sorted(set(route_table())):
        method, template = entry.split(" ", 1)
        download = "." in template.rsplit("/", 1)[-1]  # /noegletal/{name}.{fmt}, /x.csv
        if method != "GET" or template.startswith("/api/") or template in NOT_PAGES or download:
            continue
        role = ROLE_OF_RULE.get(RULES.get(entry, ""), "consultant")
        if "{" not in template:
            urls.append((role, template))
        elif template in pages:
            urls.extend((role, url) for url in pages[template])
        else:
            unfilled.append(template)
    return urls, unfilled


def lay_out_world(monkeypatch: pytest.MonkeyPatch, *, history: bool = True) -> dict[str, Any]:
    """Every kind of row a page shows, without Prefect (its calls are stubbed: the pages only read)."""
    from devtools.kpi_history import fill_history

    monkeypatch.setattr(
        recovery,
        "diagnose",
        lambda *a, **k: recovery.Diagnosis(findings=[], courses_checked=0, live_runners=0),
    )
    monkeypatch.setattr(prefect_gateway, "ensure_reachable", lambda: None)
    monkeypatch.setattr(prefect_gateway, "create_application_run", lambda *a, **k: "ingen-prefect")
    monkeypatch.setattr(prefect_gateway, "wake_course_run", lambda *a, **k: None)
    make_user("kk", "Konsulent K")
    make_user("chef", "Chef C", UserRole.ADMIN)

    evaluated, evaluation_task, links = _evaluation_sent()  # minoritetsetniske v1, Aarhus
    answered, waiting = sorted(links.values())
    anon = client()
    token = csrf_from(anon.get(answered).text)
    assert anon.post(answered, data={**ANSWER, "csrf_token": token}).status_code == 200

    with_link = seed_course(KOLDING, kommune_task=True, overdue_tasks=2)  # minoritetsetniske v1
    (kommune_task,) = [t for t in open_tasks(with_link) if t.assignee_role == "kommune"]
    consultant_task = next(t for t in open_tasks(with_link) if t.assignee_role == "konsulent")
    v2 = one_track()  # minoritetsetniske v2, Aalborg
    two_tracks = both_tracks()  # inddragelse, Aarhus
    overgreb = lay_out(
        ODENSE,
        "overgreb",
        1,
        done=("indledende-analyse",),
        active=("beredskab",),
        open_tasks=(("beredskab", "beredskab", "Gennemgå beredskabet"),),
    )
    with session_scope() as session:
        for course_id in (with_link, v2, two_tracks, overgreb):  # flow run ids: tasks can be answered
            course = session.get(Course, course_id)
            assert course is not None
            course.flow_run_id = "ingen-prefect"
            session.add(course)
        session.add(
            Contact(course_id=with_link, name="Fiktiv Leder", role="Leder", email="leder@kolding.example")
        )
        when = datetime.combine(today() + timedelta(days=9), datetime.min.time(), tzinfo=UTC)
        meetings = (
            (with_link, "workshop-1", "workshop", "Workshop 1", 9, "Rådhuset, mødelokale 2", None),
            (overgreb, "beredskab-moede", "moede", "Møde om beredskabet", 13, "", "https://moede.example/m"),
        )
        for course_id, key, kind, title, hour, location, link in meetings:
            planned_at = when.replace(hour=hour)
            session.add(
                Meeting(
                    course_id=course_id,
                    key=key,
                    kind=kind,
                    title=title,
                    planned_at=planned_at,
                    location=location,
                    link=link,
                )
            )
        planning = session.exec(
            select(HumanTask.id).where(HumanTask.course_id == v2, HumanTask.status == TaskStatus.OPEN)
        ).first()

    form = anon.get("/ansoeg/overgreb")
    sent = anon.post("/ansoeg/overgreb", data={**application_form(), "csrf_token": csrf_from(form.text)})
    assert sent.status_code == 201, sent.text
    network_link = _network_member(anon)
    if history:  # Nøgletal's charts
        fill_history(40, seed=3, consultants=["Konsulent K", "Konsulent L"], years=1.0, first_id=1000)
    assert kommune_task.id is not None
    return {
        "courses": [with_link, v2, two_tracks, overgreb],  # the first is minoritetsetniske v1 too
        "tasks": [evaluation_task, consultant_task.id, planning],  # the forms of three kinds
        "task_link": f"/k/{make_task_token(kommune_task.id, with_link)}",
        "kommune_task": kommune_task.id,
        "evaluation_links": [waiting],
        "evaluated_course": evaluated,
        "network_link": network_link,
        "application_id": applications.list_applications()[0].id,
        "application_link": sent.text.split('id="application-link" href="')[1].split('"')[0],
    }


def _network_member(anon: Any) -> str:
    """Signed up to the network through its public form: the member's own link, from the mail."""
    token = csrf_from(anon.get("/netvaerk").text)
    form = {"kommune": str(KOLDING), "navn": "Fiktiv Netværker", "email": "netvaerk@kolding.example"}
    assert anon.post("/netvaerk", data={**form, "samtykke": "ja", "csrf_token": token}).status_code == 201
    with session_scope() as session:
        mails = [n.body_text or "" for n in session.exec(select(Notification))]
    links = {m for mail in mails for m in re.findall(r"/netvaerk/[\w-]{20,}", mail)}
    assert len(links) == 1, links
    return links.pop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One chromium for the module; a context per role. CSP is bypassed in the test browser only,
    so that axe (an inline script here) can run: the dashboard's own CSP is tested elsewhere."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def new_context(browser: Any, server: str, role: str) -> Any:
    context = browser.new_context(
        base_url=server, bypass_csp=True, locale="da-DK", viewport={"width": 1280, "height": 900}
    )
    # axe-core into every page of the context, handed to the browser once (not 560 kB per page).
    context.add_init_script(path=str(AXE))
    if role != "anonymous":
        page = context.new_page()
        page.goto("/login")
        page.fill("#username", {"admin": "chef", "consultant": "kk"}[role])
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r"/oversigt"))
        page.close()
    return context


def axe(page: Any, where: str) -> list[str]:
    """axe-core's WCAG 2.1 A/AA violations on the page as it is now, one line each."""
    page.wait_for_load_state("load")
    if page.locator("#bpmn-diagram").count():  # the diagram is drawn after the page has loaded
        page.wait_for_function(
            "() => { const b = document.getElementById('bpmn-diagram'); "
            "return b.dataset.ready || b.dataset.failed; }"
        )
        assert page.locator("#bpmn-diagram svg[role=img][aria-label]").count(), f"{where}: no diagram drawn"
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "values => axe.run(document, {runOnly: {type: 'tag', values}, resultTypes: ['violations']})"
        ".then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " targets: v.nodes.map(n => n.target.join(' '))})))",
        WCAG,
    )
    found = [
        f"{where}: {v['id']} ({v['impact']}) {v['help']} at {', '.join(v['targets'][:6])}"
        + (f" and {len(v['targets']) - 6} more" if len(v["targets"]) > 6 else "")
        for v in result
    ]
    return found + reflow(page, where)


WIDE = """() => [...document.querySelectorAll('body *')]
  .filter(e => !e.closest('table, svg, .bpmn-diagram') && e.getBoundingClientRect().right > innerWidth + 1)
  .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className ? '.' + e.className : ''))"""


def reflow(page: Any, where: str) -> list[str]:
    """WCAG 1.4.10 (axe cannot tell): at 320 CSS px nothing but a data table or a diagram is wider
    than the window (no sideways scrolling to read text or use a form)."""
    size = page.viewport_size
    page.set_viewport_size({"width": 320, "height": 640})
    wide = page.evaluate(WIDE)
    page.set_viewport_size(size)
    return [f"{where}: reflow (serious) wider than 320 px at {', '.join(wide[:6])}"] if wide else []


def test_every_page_and_its_error_states_pass_axe_wcag21_aa(
    server: str, browser: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = time.perf_counter()
    world = lay_out_world(monkeypatch)
    urls, unfilled = page_urls(world)
    assert not unfilled, f"pages with parameters that {__name__}._pages does not fill: {unfilled}"
    seeded = time.perf_counter()
    contexts = {role: new_context(browser, server, role) for role in ("anonymous", "consultant", "admin")}
    pages = {role: context.new_page() for role, context in contexts.items()}
    violations: list[str] = []
    checked = 0
    for role, url in urls:
        page = pages[role]
        response = page.goto(url)
        assert response is not None and response.status < 400, (
            f"{url} as {role}: {response and response.status}"
        )
        violations += axe(page, f"{url} ({role})")
        checked += 1

    # Error states: the pages as they answer a refused form, a wrong link or address.
    anon, consultant = pages["anonymous"], pages["consultant"]
    for page, url, status in (
        (anon, "/k/ikke-et-link", 403),
        (anon, "/evaluering/findes-ikke", 404),
        (consultant, "/forloeb/999999", 404),
        (consultant, "/noegletal?fra=igaar", 422),
    ):
        response = page.goto(url)
        assert response is not None and response.status == status, url
        violations += axe(page, f"{url} ({status})")
        checked += 1
    login = {"#username": "kk", "#password": "forkert-adgangskode-123"}
    refused: list[tuple[Any, str, dict[str, str]]] = [
        (anon, "/login", login),
        (anon, world["task_link"], {}),
        (anon, world["evaluation_links"][0], {}),
        (anon, "/ansoeg/overgreb", {"#f-fokus": "Et kendt beredskab"}),
        (consultant, f"/opgaver/{world['tasks'][1]}", {}),
        (consultant, "/forloeb/ny", {"#konsulent": ""}),
        (consultant, "/konto", {}),
        (anon, "/netvaerk", {"#f-navn": "Fiktiv Netværker"}),
    ]
    for page, url, fills in refused:
        page.goto(url)
        for selector, value in fills.items():
            page.fill(selector, value)
        form = page.locator("main form").last
        form.evaluate("f => { f.noValidate = true; }")  # the server's refusal, not the browser's
        form.locator("button[type=submit]").click()
        page.wait_for_load_state("load")
        assert page.locator(".errors, .field-error").count(), f"{url}: no refusal shown"
        violations += axe(page, f"POST {url} (refused)")
        checked += 1
    for context in contexts.values():
        context.close()
    elapsed = time.perf_counter() - started
    print(
        f"\naxe: {checked} pages ({len(urls)} GET pages, {checked - len(urls)} error states) in "
        f"{elapsed:.1f} s ({seeded - started:.1f} s laying out rows)"
    )
    assert not violations, f"{len(violations)} WCAG 2.1 A/AA violations:\n" + "\n".join(violations)


FOCUS = """selector => {
  const e = document.activeElement;
  if (!e || e === document.body) return [false, ''];
  const what = e.tagName.toLowerCase() + (e.name ? '[name=' + e.name + ']' : '') + (e.id ? '#' + e.id : '');
  const s = getComputedStyle(e);
  const seen = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2;
  return [!!selector && e.matches(selector), seen ? '' : what + ': no visible focus outline'];
}"""
"""[the focused element matches the selector, what is wrong with its focus outline ('' if nothing)]"""
FOCUS_RULE = """() => [...document.styleSheets].some(sheet => [...sheet.cssRules].some(r =>
  (r.selectorText || '').includes(':focus-visible') && /outline:(?! none)/.test(r.style.cssText)))"""


def tab_to(page: Any, selector: str, *, back: bool = False) -> None:
    """Tab (or Shift+Tab) until `selector` has the focus, which must be visible on the way."""
    for _ in range(60):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        reached, problem = page.evaluate(FOCUS, selector)
        assert not problem, problem
        if reached:
            return
    raise AssertionError(f"{selector} is not reached with {'Shift+Tab' if back else 'Tab'}")


def skip_to_content(page: Any, url: str) -> None:
    """Open the page; the first Tab is the skip link, and Enter on it moves the focus to <main>."""
    page.goto(url)
    assert page.evaluate(FOCUS_RULE), "no :focus-visible outline rule in the stylesheets"
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUS, "a.skip-link") == [True, ""]
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "indhold"


def type_into(page: Any, selector: str, text: str) -> None:
    tab_to(page, selector)
    page.keyboard.type(text)


def date_into(page: Any, selector: str, day: Any) -> None:
    """A date field: day, month and year typed into its segments, in the order the browser's
    language shows them (ArrowLeft goes back to the first segment to try the next order)."""
    tab_to(page, selector)
    for n, order in enumerate(("%d%m%Y", "%m%d%Y", "%Y%m%d")):
        if n:
            page.keyboard.press("ArrowLeft")
            page.keyboard.press("ArrowLeft")
        page.keyboard.type(day.strftime(order))
        if page.eval_on_selector(selector, "e => e.value") == day.isoformat():
            return
    raise AssertionError(f"{selector}: {day} could not be typed")


def send(page: Any) -> None:
    """Enter on the focused button or field, and wait for the answer to the form."""
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_forms_work_with_the_keyboard_alone(
    server: str, browser: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = time.perf_counter()
    world = lay_out_world(monkeypatch, history=False)
    context = new_context(browser, server, "anonymous")
    page = context.new_page()
    violations: list[str] = []

    # The evaluation form: scales with Space and the arrow keys, free text typed.
    skip_to_content(page, world["evaluation_links"][0])
    scales = {k: int(v) for k, v in ANSWER.items() if v.isdigit()}
    for key, value in scales.items():
        tab_to(page, f"input[name={key}]")
        page.keyboard.press("Space")
        for _ in range(value - 1):
            page.keyboard.press("ArrowRight")
    type_into(page, "textarea[name=bedst]", ANSWER["bedst"])
    tab_to(page, "form.evaluation button[type=submit]")
    tab_to(page, "textarea[name=bedst]", back=True)  # and back to check the text once more
    tab_to(page, "form.evaluation button[type=submit]")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / SCREENSHOT.name), full_page=True)
    if os.environ.get("FORLOEB_SCREENSHOTS") == "1":
        page.screenshot(path=str(SCREENSHOT), full_page=True)
    send(page)
    assert "Tak for dit svar" in page.content()
    violations += axe(page, "evaluation sent")
    with session_scope() as session:
        stored = [a.answers for a in session.exec(select(EvaluationAnswer))]
    assert {**scales, "bedst": ANSWER["bedst"]} in stored and len(stored) == 2

    # The municipality's task link: the working group, roles chosen by typing in the select.
    skip_to_content(page, world["task_link"])
    members = (("Fiktiv Leder", "faglig"), ("Fiktiv Rådgiver", "myndighed"), ("Fiktiv Lærer", "almen"))
    for n, (name, role) in enumerate(members):
        type_into(page, f'[name="medlemmer.{n}.navn"]', name)
        type_into(page, f'[name="medlemmer.{n}.rolle"]', role)
    tab_to(page, "form.task-form button[type=submit]")
    send(page)
    violations += axe(page, "task link answered")
    with session_scope() as session:
        task = session.get(HumanTask, world["kommune_task"])
        assert task is not None and task.status == TaskStatus.COMPLETED, page.content()
        assert [m["rolle"] for m in (task.answer or {})["medlemmer"]] == [
            "faglig_leder",
            "myndighed",
            "almenomraade",
        ]

    # The public application form: a select by typing, dates, numbers, checkboxes with Space.
    skip_to_content(page, "/ansoeg/overgreb")
    type_into(page, "#f-kommune", "Vejle")
    for key in ("motivation", "udfordringer", "forventninger", "forankring"):
        type_into(page, f"#f-{key}", application_form()[key])
    type_into(page, "#f-fokus", "Et kendt beredskab")
    date_into(page, "#f-foretrukken_start", today() + timedelta(days=40))
    for field, text in (("navn", "Fiktiv Leder"), ("rolle", "Børnechef"), ("email", "leder@vejle.example")):
        type_into(page, f"[name=kontakt_0_{field}]", text)
    tab_to(page, "#f-ingen")
    page.keyboard.press("Space")
    type_into(page, "#f-underretninger", "120")
    type_into(page, "#f-foranstaltninger", "30")
    type_into(page, "#f-underskriver_navn", "Fiktiv Direktør")
    type_into(page, "#f-underskriver_titel", "Dir")
    date_into(page, "#f-underskrevet_dato", today())
    tab_to(page, "#f-direktoer")
    page.keyboard.press("Space")
    tab_to(page, "form.apply button[type=submit]")
    send(page)
    assert page.locator("#form-errors").count() == 0, page.locator("#form-errors").inner_text()
    assert "Ansøgningen har nummer" in page.content()
    violations += axe(page, "application sent")
    assert "Vejle" in {a.municipality for a in applications.list_applications()}

    # The network's sign-up: the consent checkbox with Space.
    skip_to_content(page, "/netvaerk")
    type_into(page, "#f-kommune", "Vejle")
    type_into(page, "#f-navn", "Fiktiv Netværker")
    type_into(page, "#f-email", "netvaerk@vejle.example")
    tab_to(page, "#f-samtykke")
    page.keyboard.press("Space")
    tab_to(page, "form.signup button[type=submit]")
    send(page)
    assert "Tak, du er tilmeldt netværket" in page.content()
    violations += axe(page, "network sign-up sent")

    # Logging in.
    skip_to_content(page, "/login")
    type_into(page, "#username", "kk")
    type_into(page, "#password", PASSWORD)
    send(page)  # Enter in a field sends its form
    page.wait_for_url(re.compile(r"/oversigt$"))
    tab_to(page, "a.skip-link")  # logged in: the first Tab is the skip link again
    tab_to(page, 'header a[href="/noegletal"]')  # through the menu on the dark bar, focus visible
    send(page)
    assert page.url.endswith("/noegletal") and page.locator("h1").inner_text().startswith("Nøgletal")
    context.close()
    print(f"\nkeyboard: 5 forms sent in {time.perf_counter() - started:.1f} s")
    assert not violations, "\n".join(violations)
