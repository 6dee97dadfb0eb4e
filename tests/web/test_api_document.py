"""The OpenAPI document's exact parts (issue 14), without a server run: the programme enum is the
catalog's keys, every form's schema is in the task-completion body, every error is a declared
problem+json, the links point at real operations. tests/web/test_api_schema.py runs schemathesis."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from core.errors import InvalidInput
from dashboard.api_schema import api_operations, check_answer_types
from models.examples import sample_answer
from models.forms import FORMS, VISIBLE, Text
from models.programmes import programme_keys
from tests.support.web import PASSWORD, client, make_user


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    from dashboard.app import create_app

    return create_app().openapi()


def _enum(schema: dict[str, Any]) -> list[str]:
    branches = schema.get("anyOf", [schema])
    (found,) = [b["enum"] for b in branches if "enum" in b]
    return list(found)


def test_programme_is_the_catalogs_keys(document: dict[str, Any]) -> None:
    keys = programme_keys()
    assert len(keys) >= 3
    schemas = document["components"]["schemas"]
    assert _enum(schemas["StartCourseIn"]["properties"]["programme"]) == keys
    filters = [
        (path, parameter)
        for _, path, operation in api_operations(document)
        for parameter in operation.get("parameters", [])
        if parameter["name"] in ("programme", "key")
    ]
    assert {path for path, _ in filters} >= {
        "/api/courses",
        "/api/applications",
        "/api/kpi",
        "/api/kpi/courses",
        "/api/programmes/{key}/{version}/bpmn",
    }
    for path, parameter in filters:
        assert _enum(parameter["schema"]) == keys, path


def test_every_form_schema_is_in_the_answer_body(document: dict[str, Any]) -> None:
    body = document["paths"]["/api/tasks/{task_id}/complete"]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    mapping = schema["discriminator"]["mapping"]
    assert schema["discriminator"]["propertyName"] == "form"
    assert set(mapping) == set(FORMS) and len(schema["oneOf"]) == len(FORMS)
    schemas = document["components"]["schemas"]
    for kind, form in FORMS.items():
        branch = schemas[mapping[kind].rsplit("/", 1)[1]]
        assert branch["properties"]["form"]["const"] == kind
        assert branch["properties"]["answer"] == {"$ref": f"#/components/schemas/{form.__name__}"}
        own = form.model_json_schema(ref_template="#/components/schemas/{model}")
        assert schemas[form.__name__]["properties"] == own["properties"]
    # Rules the forms check, written into their schemas.
    assert schemas["DataindsamlingForm"]["properties"]["procedurer_modtaget"]["const"] is True
    assert len(schemas["ArbejdsgruppeForm"]["allOf"]) == 3
    assert schemas["BehovsafklaringForm"]["properties"]["fokus"]["pattern"] == VISIBLE


def test_not_blank_means_the_same_to_pydantic_and_to_a_python_regex() -> None:
    """pydantic checks with Rust's regex, the document's reader with its own (schemathesis: Python's
    `re`); their `\\s` differ (U+0085, U+FEFF, U+001C-U+001F), so VISIBLE spells space out. Every
    character up to U+3100 and U+FEFF, alone: accepted by the form field exactly when the pattern
    finds it."""
    text = TypeAdapter(Text)
    for code in [*range(0x3100), 0xFEFF]:
        char = chr(code)
        try:
            text.validate_python(char)
            accepted = True
        except ValidationError:
            accepted = False
        assert accepted == bool(re.search(VISIBLE, char)), hex(code)


def test_every_error_is_a_declared_problem(document: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in document["components"]["schemas"]
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemDetail"}}}
    for method, path, operation in api_operations(document):
        codes = set(operation["responses"])
        assert {"401", "403", "429"} <= codes, (method, path)
        if "requestBody" in operation:
            assert {"400", "422"} <= codes, (method, path)
        if "{" in path:
            assert "404" in codes, (method, path)
        for code, response in operation["responses"].items():
            if int(code) >= 400:
                assert response["content"] == problem, (method, path, code)


def test_links_point_at_operations(document: dict[str, Any]) -> None:
    ids = {operation["operationId"] for _, _, operation in api_operations(document)}
    links = [
        link
        for _, _, operation in api_operations(document)
        for response in operation["responses"].values()
        for link in response.get("links", {}).values()
    ]
    assert len(links) >= 15
    assert all(link["operationId"] in ids for link in links)


def test_an_answer_is_read_as_the_document_says() -> None:
    # pydantic alone takes a number of seconds as a date; the document says a date string.
    with pytest.raises(InvalidInput) as refused:
        check_answer_types("moede-afholdt", {"afholdt_dato": 86400})
    assert refused.value.details == ["afholdt_dato: har en forkert type (type)"]
    check_answer_types("moede-afholdt", {"afholdt_dato": "2026-01-05", "noter": ""})
    check_answer_types("moede-afholdt", {"afholdt_dato": "i morgen"})  # the service says why
    # A meeting's time is Danish time: without an offset too, as the pages and the examples send it.
    for kind in FORMS:
        check_answer_types(kind, sample_answer(kind, date(2026, 1, 5)))
    check_answer_types("moedeplan", {"tidspunkt": "2026-01-06T10:00:00+01:00", "sted": "Rådhuset"})
    with pytest.raises(InvalidInput):
        check_answer_types("moedeplan", {"tidspunkt": 1767690000, "sted": "Rådhuset"})


def test_unreadable_body_and_unknown_programme_are_danish_problems() -> None:
    make_user("kk", "Konsulent K")
    c = client()
    c.auth = ("kk", PASSWORD)
    broken = c.post("/api/courses", content=b"{not json", headers={"Content-Type": "application/json"})
    assert broken.status_code in (400, 422) and broken.headers["content-type"] == "application/problem+json"
    unreadable = c.post(
        "/api/courses", content=b",\xcd\x0b \xc1", headers={"Content-Type": "application/json"}
    )
    assert unreadable.status_code == 400
    assert unreadable.json()["detail"].startswith("Forespørgslens indhold kunne ikke læses")
    listing = c.get("/api/courses", params={"programme": "ukendt"})
    assert listing.status_code == 422 and "Ukendt program 'ukendt'" in listing.json()["errors"][0]
    assert c.get("/api/kpi", params={"from": "0"}).status_code == 422  # not 1970-01-01
