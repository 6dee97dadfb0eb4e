"""schemathesis against the served OpenAPI schema: generated requests never get a 5xx, and
responses match the schema.

Bounded (a few examples per operation) so the whole run stays well under a minute. The Prefect
harness is up, so a generated request that does start a course is served, not a 503.
"""

from __future__ import annotations

import base64

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from dashboard.app import create_app
from services import applications
from tests.integration.test_applications import DOCS, answers
from tests.support.web import PASSWORD, make_user, seed_course

AUTH = {"Authorization": "Basic " + base64.b64encode(f"kk:{PASSWORD}".encode()).decode()}
EXAMPLES_PER_OPERATION = 12


@pytest.mark.usefixtures("prefect_server")
def test_api_never_answers_5xx() -> None:
    make_user("kk", "Konsulent K")
    seed_course(751, "Konsulent K", overdue_tasks=1, kommune_task=True)
    applications.submit("overgreb", "Kolding", answers(), DOCS)  # application 1, for /api/applications/1
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", create_app())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 9
    statuses: list[int] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],  # report, don't spend minutes shrinking
            suppress_health_check=list(HealthCheck),
        )
        def exercise(case) -> None:  # type: ignore[no-untyped-def]
            response = case.call_and_validate(
                headers=AUTH, checks=[not_a_server_error, response_schema_conformance]
            )
            statuses.append(response.status_code)

        exercise()
    # The run got past the login and reached real answers, not only refusals.
    assert 401 not in statuses
    assert sum(1 for s in statuses if s < 300) >= 3 * len(operations)
