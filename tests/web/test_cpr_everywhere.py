"""No CPR number gets stored, whichever way it comes in (issue 14), as properties (hypothesis).

CPR numbers are generated valid by date and century rule, with and without modulus 11 (the check
ignores mod-11: numbers issued since 2007 may fail it), in every spelling the checker knows
(DDMMYYSSSS, DDMMYY-SSSS, "DDMMYY SSSS", with dots, dashes, slashes, a line break), inside random
text of letters, punctuation and line breaks. Every way in is enumerated from the code:

- every form of the catalog (`models.forms.FORMS`, which the programmes' forms name), every text
  field of each, nested lists included, through the service every front end calls;
- every POST route of the dashboard and the JSON API, from the app's route table: a route either
  has a case below that posts a CPR number into its free text, or is listed as having none (a new
  route without either fails the test);
- the CLI: an answer file (`forloeb task complete --file`), `--place`, `--consultant`, `--as`;
- an uploaded PDF whose text (or file name) holds one.

Each must be refused with the Danish message, and every table's row count stays the same. The
other way round: phone numbers, dates, times, case and journal references are taken as they are.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlmodel import SQLModel
from typer.testing import CliRunner

from core.clock import today
from core.cpr import CPR_MESSAGE, contains_cpr
from core.db import session_scope
from core.errors import CprNumberFound
from core.links import make_application_token, make_task_token
from dashboard.app import create_app
from models.examples import sample_answer
from models.forms import FORMS
from models.tables import Application, HumanTask, UserRole
from services import courses
from tests.support.pdf import pdf_with_text
from tests.support.web import (
    PASSWORD,
    _add_task,
    application_form,
    client,
    csrf_from,
    logged_in,
    make_user,
    seed_course,
)

# --- strategies --------------------------------------------------------------------------------

MOD11_WEIGHTS = (4, 3, 2, 7, 6, 5, 4, 3, 2, 1)


def _mod11(digits: str) -> bool:
    return sum(int(d) * w for d, w in zip(digits, MOD11_WEIGHTS, strict=True)) % 11 == 0


@st.composite
def cpr_digits(draw: st.DrawFn) -> str:
    """Ten digits that are a CPR number by date rules: born 1900-2036, the 7th digit fitting the
    century; half of them also pass modulus 11 (as before 2007), half do not (as since)."""
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=date(2036, 12, 31)))
    seventh = draw(st.sampled_from("0123" if born.year < 2000 else "456789"))
    rest = draw(st.integers(0, 999))
    want_mod11 = draw(st.booleans())
    head = born.strftime("%d%m%y")
    for step in range(1000):
        digits = f"{head}{seventh}{(rest + step) % 1000:03d}"
        if _mod11(digits) == want_mod11:
            return digits
    return f"{head}{seventh}{rest:03d}"  # no serial with the wanted mod-11 outcome: any will do


SPELLINGS = (
    "{d}{m}{y}{s}",
    "{d}{m}{y}-{s}",
    "{d}{m}{y} {s}",
    "{d}{m}{y}/{s}",
    "{d}{m}{y}.{s}",
    "{d}{m}{y} - {s}",
    "{d}{m}{y}\u2013{s}",
    "{d}{m}{y}\n{s}",
    "{d}.{m}.{y}-{s}",
    "{d}.{m}.{y} {s}",
    "{d}.{m}.{y}{s}",
    "{d}-{m}-{y}-{s}",
)

FILLER = st.text(alphabet="abcdefghijklmnopqrstuvwxyzæøåABCÆØÅ .,;:!?()'\"\n-", max_size=25)


@st.composite
def cpr_spelled(draw: st.DrawFn) -> str:
    digits = draw(cpr_digits())
    spelling = draw(st.sampled_from(SPELLINGS))
    return spelling.format(d=digits[:2], m=digits[2:4], y=digits[4:6], s=digits[6:])


@st.composite
def text_with_cpr(draw: st.DrawFn) -> str:
    """The CPR number somewhere in free text: letters, punctuation or line breaks around it (never
    digits: a digit next to it makes a longer number, which is not a CPR number)."""
    text = draw(FILLER) + draw(cpr_spelled()) + draw(FILLER)
    return text.strip() or "x"


def not_cpr() -> st.SearchStrategy[str]:
    """Numbers people write that are not CPR numbers."""
    phone = st.builds(
        lambda n, style: style.format(*f"{n:08d}"),
        st.integers(10_000_000, 99_999_999),
        st.sampled_from(
            ("{}{}{}{}{}{}{}{}", "{}{} {}{} {}{} {}{}", "+45 {}{}{}{} {}{}{}{}", "tlf. {}{}{}{} {}{}{}{}")
        ),
    )
    day = st.dates(min_value=date(1990, 1, 1), max_value=date(2040, 12, 31))
    dates = st.builds(
        lambda d, style, h: d.strftime(style).replace("HH", f"{h:02d}"),
        day,
        st.sampled_from(
            ("%Y-%m-%d", "%d.%m.%Y", "%d-%m-%Y", "%d/%m/%Y", "%Y-%m-%d HH:00", "%d.%m.%Y kl. HH.00")
        ),
        st.integers(7, 18),
    )
    refs = st.builds(
        lambda y, n, style: style.format(y=y, n=n),
        st.integers(2000, 2040),
        st.integers(1, 99_999),
        st.sampled_from(("sag-{n}", "j.nr. {y}-{n:05d}", "sag {y}/{n}", "{y}-{n:06d}", "ref. {n:04d}-{y}")),
    )
    invalid_date = st.builds(lambda s: f"3201{s % 100:02d}{s % 10_000:04d}", st.integers(0, 99_999))
    return st.one_of(phone, dates, refs, invalid_date)


def test_the_strategies_make_what_they_say() -> None:
    @settings(max_examples=200, deadline=None)
    @given(cpr_spelled(), not_cpr())
    def check(cpr: str, other: str) -> None:
        assert contains_cpr(cpr), cpr
        assert not contains_cpr(other), other

    check()


# --- every table's row count -------------------------------------------------------------------


def row_counts() -> dict[str, int]:
    """Every table's row count, in one statement (it runs after every example)."""
    tables = list(SQLModel.metadata.tables.items())
    query = select(*(select(func.count()).select_from(table).scalar_subquery() for _, table in tables))
    with session_scope() as session:
        counts = session.execute(query).one()
    return {name: int(n) for (name, _), n in zip(tables, counts, strict=True)}


# --- the form catalog --------------------------------------------------------------------------


def _text_paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, str):
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _text_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _text_paths(item, (*path, index))


def _put(data: Any, path: tuple[Any, ...], text: str) -> None:
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = text


def _free_text_fields() -> list[tuple[str, tuple[Any, ...]]]:
    """(form kind, path) for every string in every form's sample answer, plus every top-level text
    field the sample leaves out (optional ones)."""
    found = []
    for kind, form in FORMS.items():
        sample = sample_answer(kind, date(2026, 3, 2))
        paths = set(_text_paths(sample))
        for name, prop in form.model_json_schema().get("properties", {}).items():
            types = {prop.get("type")} | {p.get("type") for p in prop.get("anyOf", [])}
            if "string" in types and prop.get("format") not in ("date", "date-time") and "enum" not in prop:
                paths.add((name,))
        found += [(kind, p) for p in sorted(paths, key=str)]
    return found


FORM_FIELDS = _free_text_fields()


def test_every_form_has_text_fields_to_check() -> None:
    assert {kind for kind, _ in FORM_FIELDS} >= {"behovsafklaring", "samarbejdsaftale", "moede-afholdt"}
    assert len(FORM_FIELDS) > len(FORMS)


@settings(max_examples=120, deadline=None)
@given(field=st.sampled_from(FORM_FIELDS), text=text_with_cpr())
def test_every_text_field_of_every_form_refuses_a_cpr_number(
    field: tuple[str, tuple[Any, ...]], text: str
) -> None:
    kind, path = field
    data = sample_answer(kind, date(2026, 3, 2))
    _put(data, path, text)
    with pytest.raises(CprNumberFound) as refused:
        courses.validate_answer(HumanTask(kind=kind), data)
    assert refused.value.message == CPR_MESSAGE


@settings(max_examples=100, deadline=None)
@given(field=st.sampled_from(FORM_FIELDS), text=not_cpr())
def test_numbers_that_are_not_cpr_numbers_pass_the_check(
    field: tuple[str, tuple[Any, ...]], text: str
) -> None:
    kind, path = field
    data = sample_answer(kind, date(2026, 3, 2))
    _put(data, path, f"Notat {text}.")
    try:
        courses.validate_answer(HumanTask(kind=kind), data)
    except CprNumberFound:
        pytest.fail(f"{text!r} was taken for a CPR number")
    except Exception:
        pass


# --- every POST route --------------------------------------------------------------------------

NO_FREE_TEXT = {
    "POST /login": "credentials, not stored (a failed username is audited with CPR numbers masked)",
    "POST /logout": "nothing typed",
    "POST /konto": "passwords (stored hashed)",
    "POST /konsulenter/{user_id}/adgangskode": "a password (stored hashed)",
    "POST /konsulenter/{user_id}/aktiv": "a yes/no",
    "POST /a/{token}/traek-tilbage": "nothing typed",
    "POST /ansoegninger/{application_id}/mangler": "nothing typed",
    "POST /ansoegninger/{application_id}/start": "nothing typed",
    "POST /ansoegninger/droeftelse": "a municipality, a programme and a date (looked up, not stored)",
    "POST /opgaver/{task_id}/kommunelink": "nothing typed",
    "POST /opgaver/{task_id}/kommunelink/tilbagekald": "nothing typed",
    "POST /moeder/{meeting_id}/flyt": "a time",
    "POST /moeder/{meeting_id}/aflys": "nothing typed",
    "POST /notifikationer/{notification_id}/send-igen": "nothing typed",
    "POST /drift/forloeb/{course_id}/genoptag": "nothing typed",
    "POST /drift/ret-alle": "nothing typed",
    "POST /api/notifications/{notification_id}/retry": "nothing typed",
    "POST /api/courses/{course_id}/resume": "nothing typed",
    "POST /netvaerk/moeder/{meeting_id}/flyt": "a time",
    "POST /netvaerk/moeder/{meeting_id}/aflys": "nothing typed",
    "POST /netvaerk/{token}/afmeld": "nothing typed",
    "POST /konto/api-noegler/{token_id}/tilbagekald": "nothing typed",
    "POST /slet-person": "the e-mail of the person to erase (looked up, never stored)",
}


@dataclass
class World:
    """What the routes need, laid out without Prefect (a CPR number is refused before Prefect is
    asked)."""

    consultant: Any
    admin: Any
    anon: Any
    task_id: int
    link_task_id: int
    evaluation_task_id: int
    application_id: int
    evaluation_link: str
    task_link: str
    application_link: str

    def csrf(self, who: Any, page: str) -> str:
        return csrf_from(who.get(page).text)


def _world() -> World:
    from notifications import compose

    course_id = seed_course(751)
    task_id = _add_task(
        course_id, "arbejdsgruppe", "moede-x", "moede-afholdt", "Registrér møde", "konsulent", today()
    )
    link_task_id = _add_task(
        course_id, "arbejdsgruppe", "moede-k", "moede-afholdt", "Registrér mødet", "kommune", today()
    )
    evaluation_task_id = _add_task(
        course_id, "evaluering", "evaluering", "evaluering", "Evaluering", "konsulent", today()
    )
    with session_scope() as session:
        from models.tables import Contact

        session.add(
            Contact(course_id=course_id, name="Fiktiv Leder", role="Leder", email="leder@kommune.example")
        )
        application = Application(
            municipality_code=621,
            programme="overgreb",
            answers={"kontaktpersoner": []},
            preferred_start=today() + timedelta(days=30),
        )
        session.add(application)
        session.flush()
        assert application.id is not None
        application_id, uid = application.id, application.uid
    compose.enqueue_stage_messages(course_id, "evaluering")
    with session_scope() as session:
        from models.tables import EvaluationInvite

        token = session.exec(select(EvaluationInvite.token)).scalar_one()  # type: ignore[call-overload]
    make_user("admin1", "Admin A", UserRole.ADMIN)
    admin = client()
    admin.post(
        "/login",
        data={"username": "admin1", "password": PASSWORD, "csrf_token": csrf_from(admin.get("/login").text)},
    )
    return World(
        consultant=logged_in(),
        admin=admin,
        anon=client(),
        task_id=task_id,
        link_task_id=link_task_id,
        evaluation_task_id=evaluation_task_id,
        application_id=application_id,
        evaluation_link=f"/evaluering/{token}",
        task_link=f"/k/{make_task_token(link_task_id, course_id)}",
        application_link=f"/a/{make_application_token(application_id, uid)}",
    )


@dataclass(frozen=True)
class Case:
    """How to post free text to one route: `page` gives the CSRF token (fetched before the rows are
    counted: opening a page may write the access log), `send` posts."""

    who: str
    page: str | None
    send: Callable[[World, Any, str, str], Any]

    def prepare(self, w: World) -> tuple[Any, str]:
        c = getattr(w, self.who)
        return c, (w.csrf(c, self.page.format(w=w)) if self.page else "")


def _page(
    path: str, who: str, data: Callable[[World, str], dict[str, Any]], *, form_page: str | None = None
) -> Case:
    def send(w: World, c: Any, csrf: str, text: str) -> Any:
        return c.post(path.format(w=w), data={**data(w, text), "csrf_token": csrf})

    return Case(who, form_page or path, send)


def _api(path: str, body: Callable[[World, str], dict[str, Any]]) -> Case:
    def send(w: World, c: Any, csrf: str, text: str) -> Any:
        return c.post(path.format(w=w), json=body(w, text), auth=("kk", PASSWORD))

    return Case("anon", None, send)


def _application_form(w: World, text: str) -> dict[str, Any]:
    return application_form(motivation=text)


def _email_with(text: str) -> str:
    """The CPR number as the local part of an address (only the characters an address may hold)."""
    local = "".join(c for c in text if c.isascii() and (c.isalnum() or c in ".-")).strip(".-") or "x"
    return f"{local}@kommune.example"


def _upload(w: World, c: Any, csrf: str, text: str) -> Any:
    # pdf_with_text writes ASCII only: the CPR number in a line of its own, as a scan often has it.
    line = text.encode("ascii", "ignore").decode() or "x"
    return c.post(
        f"{w.application_link}/dokument",
        data={"kind": "referat", "csrf_token": csrf},
        files={"dokument": ("referat.pdf", pdf_with_text("Referat", line), "application/pdf")},
    )


CASES: dict[str, Case] = {
    "POST /forloeb/ny": _page(
        "/forloeb/ny",
        "consultant",
        lambda w, t: {"kommune": "Odense", "program": "inddragelse", "konsulent": t},
    ),
    "POST /opgaver/{task_id}": _page(
        "/opgaver/{w.task_id}", "consultant", lambda w, t: {"afholdt_dato": today().isoformat(), "noter": t}
    ),
    "POST /k/{token}": _page(
        "{w.task_link}", "anon", lambda w, t: {"afholdt_dato": today().isoformat(), "noter": t}
    ),
    "POST /opgaver/{task_id}/luk-evaluering": _page(
        "/opgaver/{w.evaluation_task_id}/luk-evaluering",
        "consultant",
        lambda w, t: {"hovedpointer": t},
        form_page="/opgaver/{w.evaluation_task_id}",
    ),
    "POST /evaluering/{token}": _page(
        "{w.evaluation_link}",
        "anon",
        lambda w, t: {"udbytte": "5", "redskaber": "4", "forankring": "3", "samarbejde": "5", "bedst": t},
    ),
    "POST /ansoeg/{programme}": _page("/ansoeg/overgreb", "anon", _application_form),
    "POST /a/{token}/dokument": Case("anon", "{w.application_link}", _upload),
    "POST /ansoegninger/{application_id}/vurdering": _page(
        "/ansoegninger/{w.application_id}/vurdering",
        "consultant",
        lambda w, t: {"point_motivation": "4", "note_motivation": t},
        form_page="/ansoegninger/{w.application_id}",
    ),
    "POST /ansoegninger/{application_id}/afgoerelse": _page(
        "/ansoegninger/{w.application_id}/afgoerelse",
        "consultant",
        lambda w, t: {"afgoerelse": "accept", "konsulent": t},
        form_page="/ansoegninger/{w.application_id}",
    ),
    "POST /konsulenter": _page(
        "/konsulenter",
        "admin",
        lambda w, t: {
            "username": "ny",
            "display_name": t,
            "role": "consultant",
            "password": "en-lang-sikker-frase-9",
        },
    ),
    "POST /api/courses": _api(
        "/api/courses", lambda w, t: {"municipality": "Odense", "programme": "inddragelse", "consultant": t}
    ),
    "POST /api/tasks/{task_id}/complete": _api(
        "/api/tasks/{w.task_id}/complete",
        lambda w, t: {"form": "moede-afholdt", "answer": {"afholdt_dato": today().isoformat(), "noter": t}},
    ),
    "POST /api/applications/{application_id}/decision": _api(
        "/api/applications/{w.application_id}/decision", lambda w, t: {"decision": "accept", "consultant": t}
    ),
    "POST /api/applications/{application_id}/scores": _api(
        "/api/applications/{w.application_id}/scores",
        lambda w, t: {"scores": {"motivation": 4}, "notes": {"motivation": t}},
    ),
    "POST /netvaerk": _page(
        "/netvaerk",
        "anon",
        lambda w, t: {"kommune": "751", "navn": t, "email": "ny@kommune.example", "samtykke": "ja"},
    ),
    "POST /netvaerk (e-mail)": _page(
        "/netvaerk",
        "anon",
        lambda w, t: {
            "kommune": "751",
            "navn": "Fiktiv Leder",
            "email": _email_with(t),
            "samtykke": "ja",
        },
    ),
    "POST /netvaerk/moeder": _page(
        "/netvaerk/moeder",
        "consultant",
        lambda w, t: {
            "titel": "Netværksmøde",
            "tidspunkt": f"{(today() + timedelta(days=30)).isoformat()} 10:00",
            "sted": t,
        },
        form_page="/netvaerk/oversigt",
    ),
    "POST /konto/api-noegler": _page(
        "/konto/api-noegler", "consultant", lambda w, t: {"name": t, "scope": "read"}
    ),
}


@functools.cache
def post_routes() -> frozenset[str]:
    routes = set()
    for route in iter_route_contexts(create_app().routes):
        for method in set(getattr(route, "methods", None) or ()) - {"GET", "HEAD"}:
            routes.add(f"{method} {route.path}")
    return frozenset(routes)


def test_every_post_route_is_checked_or_takes_no_free_text() -> None:
    unchecked = post_routes() - CASES.keys() - NO_FREE_TEXT.keys()
    assert not unchecked, f"routes that take input with no CPR case and no reason to have none: {unchecked}"


def _refused(response: Any) -> bool:
    text = response.text
    return response.status_code in (400, 409, 422) and "CPR-nummer" in text


def _route_property(
    world: World, route: str, case: Case, who: Any, csrf: str, before: dict[str, int]
) -> Callable[[], None]:
    @settings(
        max_examples=8,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        database=None,
    )
    @given(text=text_with_cpr())
    def check(text: str) -> None:
        response = case.send(world, who, csrf, text)
        assert _refused(response), (route, text, response.status_code, response.text[:500])
        assert row_counts() == before, (route, text)

    return check  # type: ignore[no-any-return]


def test_every_route_refuses_a_cpr_number_and_stores_nothing() -> None:
    """One world for all routes (laying it out costs more than the examples), each route with its
    own generated texts."""
    world = _world()
    routes = post_routes()
    checked = []
    for route, case in sorted(CASES.items()):
        if route.split(" (")[0] not in routes:  # a part not in this build
            continue
        who, csrf = case.prepare(world)
        before = row_counts()

        check = _route_property(world, route, case, who, csrf, before)
        check()
        checked.append(route)
    assert len(checked) >= 14, checked


# --- the CLI: answer files and typed options ---------------------------------------------------


@pytest.fixture
def cli_world(tmp_path: Path) -> tuple[int, int, Path]:
    course_id = seed_course(751)
    task_id = _add_task(
        course_id, "arbejdsgruppe", "moede-x", "moede-afholdt", "Registrér møde", "konsulent", today()
    )
    return course_id, task_id, tmp_path / "svar.json"


def test_the_cli_refuses_a_cpr_number_in_an_answer_file_and_in_options(
    cli_world: tuple[int, int, Path],
) -> None:
    from forloeb.cli import app

    course_id, task_id, answer_file = cli_world
    runner = CliRunner()
    before = row_counts()
    started = time.perf_counter()

    @settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(text=text_with_cpr(), way=st.integers(0, 4))
    def check(text: str, way: int) -> None:
        answer = {"afholdt_dato": today().isoformat(), "noter": "Godt møde"}
        if way == 0:
            answer["noter"] = text
        answer_file.write_text(json.dumps(answer), encoding="utf-8")
        args = [
            ["complete", str(task_id), "--file", str(answer_file)],
            ["complete", str(task_id), "--file", str(answer_file), "--as", text],
            ["start", "Odense", "--programme", "inddragelse", "--consultant", text],
            [
                "meeting",
                "plan",
                str(course_id),
                "--kind",
                "workshop",
                "--at",
                f"{(today() + timedelta(days=30)).isoformat()} 10:00",
                "--place",
                text,
            ],
            ["decide", "1", "accept", "--consultant", text],
        ][way]
        result = runner.invoke(app, args)
        assert result.exit_code == 2 and "CPR-nummer" in result.output, (args, result.output)
        assert row_counts() == before

    check()
    assert time.perf_counter() - started < 60


def test_a_pdf_whose_name_holds_a_cpr_number_is_refused() -> None:
    from services import uploads

    with pytest.raises(CprNumberFound):
        uploads.check_pdf(pdf_with_text("Referat"), "Referat 010190-1234.pdf", "Referat")
