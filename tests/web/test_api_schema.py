"""schemathesis against the served OpenAPI document with every check, the stateful phase included
(issue 14: "the OpenAPI document tells the truth"): 0 failures.

schemathesis' own engine (what `schemathesis run --checks all` runs) drives the app in-process
(ASGI): its probing, coverage, fuzzing and stateful phases (the stateful phase follows the
document's links: start a course -> read it -> its tasks -> complete one ...). Bounded: a few
examples per operation, no shrinking, a time cap.

Every check is on, `max_response_time` too (a generous limit: it catches a hang, not a slow CI).
Two things are set for the run, not for the checks:
- The login throttle's limits are raised. `ignored_auth` sends wrong credentials to every
  operation; after 5 failures the account and after 20 the address are locked out with 429 (right,
  and tested in tests/web/test_login_hardening.py), which would answer the run's own requests too.
- Rules JSON Schema cannot state, written in the fields' descriptions, are met by positive cases
  (`_meet_unwritable_rules`): the period's `from` not after its `to`; a decision's start date not
  before today and its slot of the application's programme's kind; a meeting on a working day; a
  municipality name that fits only one municipality.
  Negative cases are left alone.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Any

import pytest
import schemathesis
from schemathesis.engine import events, from_schema

from core.db import session_scope
from core.errors import AmbiguousMunicipality, ForloebError
from core.settings import get_settings
from core.workdays import next_working_day
from dashboard.api_schema import LINKS
from dashboard.app import create_app
from services import applications
from services.municipalities import find_municipality
from tests.integration.test_applications import DOCS, answers
from tests.support.web import PASSWORD, make_user, seed_course

CHECKS = {
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
    "missing_required_header",
    "unsupported_method",
    "use_after_free",
    "ensure_resource_availability",
    "ignored_auth",
}
"""Checks that must have run at least once (the others run when their situation arises)."""
MAX_SECONDS = 45
LINK_NAMES = [name for links in LINKS.values() for name, _, _ in links]
MEETING_FORMS = {"moedeplan", "traeningsdag-plan", "supervision-plan"}


def _day(value: Any) -> date | None:
    try:
        return value if isinstance(value, date) else date.fromisoformat(str(value))
    except ValueError:
        return None


def _ambiguous(municipality: Any) -> bool:
    """A name that fits several municipalities (422 with the candidates)."""
    if not isinstance(municipality, str):
        return False
    with session_scope() as session:
        try:
            find_municipality(session, municipality)
        except AmbiguousMunicipality:
            return True
        except ForloebError:
            return False
    return False


def _meet_unwritable_rules(context: Any, case: Any) -> Any:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return case
    path, today = case.operation.path, date.today()
    if path.startswith("/api/kpi") and case.query:
        start, end = _day(case.query.get("from")), _day(case.query.get("to"))
        start_default, end_default = today - timedelta(days=365), today
        if start is not None and start > (end or end_default):
            case.query["to"] = start.isoformat()
        elif end is not None and (start or start_default) > end:
            case.query["from"] = end.isoformat()
    elif path == "/api/courses" and isinstance(case.body, dict) and _ambiguous(case.body.get("municipality")):
        case.body["municipality"] = "Kolding"
    elif path.endswith("/decision") and isinstance(case.body, dict):
        # The one application is overgreb's (capacity per year); a start date inside the slot.
        case.body.pop("start_date", None)
        if "slot" in case.body:
            case.body["slot"] = str(today.year + 1)
    elif (
        path.endswith("/complete") and isinstance(case.body, dict) and case.body.get("form") in MEETING_FORMS
    ):
        answer = case.body.get("answer")
        when = answer.get("tidspunkt") if isinstance(answer, dict) else None
        if isinstance(when, str) and (day := _day(when[:10])) is not None:
            answer["tidspunkt"] = next_working_day(day).isoformat() + when[10:]
    return case


def _describe(phase: str, node: Any, recorder: Any, case_id: str) -> str:
    case = recorder.cases[case_id].value
    interaction = recorder.interactions.get(case_id)
    response = interaction.response if interaction else None
    answer = f"{response.status_code} {response.content[:300]!r}" if response else "no response"
    failure = node.failure_info.failure
    message = " | ".join(failure.message.splitlines())
    return (
        f"[{phase}] {node.name}: {failure.title} ({message}) <- {case.method} "
        f"{case.formatted_path} query={case.query} body={str(case.body)[:300]} -> {answer}"
    )


@pytest.mark.usefixtures("prefect_server")
def test_openapi_document_tells_the_truth(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORLOEB_LOGIN_MAX_FAILURES", "100000")
    monkeypatch.setenv("FORLOEB_LOGIN_MAX_FAILURES_PER_ADDRESS", "100000")
    get_settings.cache_clear()
    make_user("kk", "Konsulent K")
    seed_course(751, "Konsulent K", overdue_tasks=1, kommune_task=True)
    applications.submit("overgreb", "Kolding", answers(), DOCS)  # application 1
    config = schemathesis.Config.from_dict(
        {
            "seed": 14,
            "auth": {"basic": {"username": "kk", "password": PASSWORD}},
            "checks": {"enabled": True, "max_response_time": 30.0},
            # Credentials come from `auth` (a generated Authorization header would be replaced).
            "generation": {"max-examples": 5, "no-shrink": True, "with-security-parameters": False},
            "phases": {"stateful": {"max-steps": 6}},
            "max-time": MAX_SECONDS,
            "max-failures": 100,
            "warnings": False,
        }
    )
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", create_app(), config=config)
    schema.hook("map_case")(_meet_unwritable_rules)

    started = time.monotonic()
    failures: list[str] = []
    ran: set[str] = set()
    phases: dict[str, set[str]] = {}
    statuses: list[int] = []
    errors: list[str] = []
    transitions = 0
    for event in from_schema(schema).execute():
        if isinstance(event, events.PhaseStarted) and event.payload is not None:
            transitions = max(transitions, event.payload.transitions_total)
        elif isinstance(event, events.PhaseFinished):
            # Fuzzing and stateful take turns until the time is up (the last turn may be skipped).
            phases.setdefault(event.phase.name.value, set()).add(event.status.value)
        elif isinstance(event, events.NonFatalError | events.FatalError):
            errors.append(str(getattr(event, "value", getattr(event, "exception", event))))
        elif isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            statuses += [i.response.status_code for i in recorder.interactions.values() if i.response]
            for case_id, nodes in recorder.checks.items():
                for node in nodes:
                    ran.add(node.name)
                    if node.failure_info is not None:
                        failures.append(_describe(event.phase.value, node, recorder, case_id))
    elapsed = time.monotonic() - started
    print(f"schemathesis: {elapsed:.1f} s, {len(statuses)} requests, {transitions} transitions, {phases}")
    assert not errors, errors
    assert failures == [], "\n".join(failures)
    assert transitions >= len(LINK_NAMES), transitions  # the document's links, at least
    for phase in ("coverage", "fuzzing", "stateful"):  # the stateful phase followed the links
        assert "success" in phases.get(phase, set()) and "failure" not in phases[phase], phases
    assert ran >= CHECKS, CHECKS - ran
    # The run got past the login and reached real answers, not only refusals.
    assert sum(1 for s in statuses if 200 <= s < 300) >= 50, statuses
