"""The JSON API's OpenAPI document, as exact as JSON Schema can say it (issue 14).

- Errors: every status code an operation can answer is declared (`problems(...)`), each with the
  `application/problem+json` body `ProblemDetail` (Danish `detail`), never FastAPI's default 422.
- Programme keys: `ProgrammeKey` validates against the programme catalog and puts the catalog's
  keys into the document as an `enum` when the document is generated.
- A task's answer: `AnswerIn`, a body discriminated by `form` (the task's `kind`) whose `answer` is
  that form's own schema (`models.forms`); the course service validates the answer as before.
- Links (`LINKS`): from a created or listed resource to the operations on it, for clients and
  for schemathesis' stateful phase.

Rules JSON Schema cannot state are in the fields' descriptions: no CPR number in any text; a
meeting's time on a Danish working day; a decision's start date not before today; the period's
`from` not after its `to`.
"""

from __future__ import annotations

import functools
import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from jsonschema import Draft202012Validator, FormatChecker
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)
from pydantic.json_schema import GetJsonSchemaHandler, JsonSchemaValue
from pydantic_core import CoreSchema

from core.errors import InvalidInput
from models.forms import FORMS, VISIBLE
from models.programmes import programme_keys

PROBLEM_JSON = "application/problem+json"
NO_CPR = "Et CPR-nummer afvises (422), også inde i teksten."


class ProblemDetail(BaseModel):
    """Every error of the API (RFC 9457)."""

    type: str = "about:blank"
    title: str = Field(description="Short English title, e.g. 'Not Found'.")
    status: int = Field(ge=400, le=599)
    detail: str = Field(description="Danish message meant for a person.")
    errors: list[str] = Field(default_factory=list, description="One line per problem (validation).")


DESCRIPTIONS = {
    400: "Forespørgslens indhold kunne ikke læses (ikke gyldig JSON).",
    401: "Ikke logget ind, eller forkert brugernavn/adgangskode (WWW-Authenticate).",
    403: "Ingen adgang: API-nøglen mangler scope, kun for administratorer, eller en skrivning med "
    "session uden gyldig X-CSRF-Token.",
    404: "Findes ikke.",
    409: "Konflikt med det, der allerede er registreret.",
    422: "Ugyldige oplysninger; `errors` har én linje pr. problem.",
    429: "For mange mislykkede logins; prøv igen efter Retry-After sekunder.",
    502: "Mailserveren afviste eller svarede ikke; prøv igen senere.",
    503: "Prefect svarer ikke lige nu; intet er gemt. Prøv igen senere.",
}
HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "Basic realm"}},
    429: {"Retry-After": {"schema": {"type": "string"}, "description": "Sekunder til næste forsøg"}},
}


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for error codes: the problem body (moved to application/problem+json when the
    document is built) and the codes' headers."""
    return {
        code: {
            "model": ProblemDetail,
            "description": DESCRIPTIONS[code],
            **({"headers": HEADERS[code]} if code in HEADERS else {}),
        }
        for code in codes
    }


COMMON = problems(401, 403, 429)
"""Every API operation: no or wrong credentials; an API token without the operation's scope, or
admins only; Basic login throttling."""
WRITE = problems(400, 422)
"""Every operation with a JSON body: unreadable body, validation."""


# --- programme keys -------------------------------------------------------------------------------


def known_programme(value: str) -> str:
    keys = programme_keys()
    if value not in keys:
        raise ValueError(f"Ukendt program '{value}'. Vælg et af: {', '.join(keys)}.")
    return value


class _CatalogEnum:
    """Puts the programme catalog's keys into the JSON schema when the document is generated."""

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema["enum"] = programme_keys()
        return schema


ProgrammeKey = Annotated[str, AfterValidator(known_programme), _CatalogEnum]

ConsultantName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200, pattern=VISIBLE),
    Field(
        description="Konsulentens navn, som det står under Konsulenter (mindst ét synligt tegn). " + NO_CPR
    ),
]


ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _iso_date(value: Any) -> Any:
    """Only 2026-03-03 (pydantic alone also takes a number of seconds, or '0', as a date)."""
    if isinstance(value, date) or (isinstance(value, str) and ISO_DATE.match(value)):
        return value
    raise ValueError("skal være en dato som 2026-03-03")


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
"""A date as the document says: `format: date`, nothing else."""


def _json_integer(value: Any) -> Any:
    """A JSON Schema integer: 3 or 3.0, never "3" or true."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("skal være et helt tal")
    return value


JsonInt = BeforeValidator(_json_integer)
"""Metadata: `Annotated[int, JsonInt, Field(...)]`."""


# --- a task's answer ------------------------------------------------------------------------------

FormKind = Literal[tuple(FORMS)]  # type: ignore[valid-type]


def _answer_model(kind: str, form: type[BaseModel]) -> type[BaseModel]:
    """{"form": kind, "answer": <that form>}: one branch of the discriminated body."""
    name = "".join(part.capitalize() for part in kind.split("-")) + "Answer"
    namespace = {
        "__annotations__": {"form": Literal[kind], "answer": form},  # type: ignore[valid-type]
        "model_config": ConfigDict(extra="forbid", title=name),
        "__doc__": f"Svar på en opgave af typen '{kind}'.",
    }
    return type(name, (BaseModel,), namespace)


ANSWER_MODELS = [_answer_model(kind, form) for kind, form in FORMS.items()]


def answer_body_schema() -> tuple[dict[str, Any], dict[str, Any]]:
    """The discriminated request body of completing a task, and the component schemas it uses."""
    from typing import Union

    union: Any = Annotated[Union[tuple(ANSWER_MODELS)], Field(discriminator="form")]  # noqa: UP007
    schema = TypeAdapter(union).json_schema(ref_template="#/components/schemas/{model}")
    defs = schema.pop("$defs", {})
    return schema, defs


class AnswerIn(BaseModel):
    """Completing a task: `form` is the task's `kind`, `answer` that form's fields. The document
    shows one schema per form (`oneOf`, discriminated by `form`)."""

    model_config = ConfigDict(extra="forbid")
    form: FormKind = Field(description="The task's `kind` (its form).")  # type: ignore[valid-type]
    answer: dict[str, Any] = Field(description="The form's fields (GET /api/tasks/{task_id}/form-schema).")


_SAYS = {
    "type": "har en forkert type",
    "format": "har et forkert format",
    "enum": "er ikke et af de tilladte valg",
    "const": "skal have den eneste tilladte værdi",
    "pattern": "har en forkert form",
}


LOCAL_DATE_TIME = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?([Zz]|[+-][0-9]{2}:[0-9]{2})?$"
)
FORMATS = FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    """RFC 3339, and without an offset too: a meeting's time is Danish time (the forms' titles say
    so, the pages send it so)."""
    if not isinstance(value, str) or not LOCAL_DATE_TIME.match(value):
        return not isinstance(value, str)
    datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    return True


@functools.cache
def _answer_validator(kind: str) -> Draft202012Validator:
    return Draft202012Validator(FORMS[kind].model_json_schema(), format_checker=FORMATS)


def check_answer_types(kind: str, answer: dict[str, Any]) -> None:
    """An answer the form takes must also be one its schema in the document describes: pydantic
    alone would also take "3" for 3, a number for a date, "yes" for true. The form's own check
    comes first (its messages are the pages' messages); this refuses only what it coerced."""
    try:
        FORMS[kind].model_validate(answer)
    except ValidationError:
        return  # the course service refuses it with the form's messages
    problems = [  # never the value: it might be personal data
        f"{'.'.join(str(p) for p in error.absolute_path) or 'formularen'}: "
        f"{_SAYS.get(str(error.validator), 'er ikke gyldig')} ({error.validator})"
        for error in _answer_validator(kind).iter_errors(answer)
    ]
    if problems:
        raise InvalidInput("Formularen er ikke gyldig:\n- " + "\n- ".join(problems), details=problems)


# --- links ----------------------------------------------------------------------------------------

Link = tuple[str, str, dict[str, str]]
"""(name, "METHOD /path" of the target, parameters with runtime expressions)."""
LINKS: dict[tuple[str, str, str], list[Link]] = {
    ("post", "/api/courses", "201"): [
        ("GetCourse", "get /api/courses/{course_id}", {"course_id": "$response.body#/course/id"}),
        ("GetDiagram", "get /api/courses/{course_id}/diagram", {"course_id": "$response.body#/course/id"}),
        ("ResumeCourse", "post /api/courses/{course_id}/resume", {"course_id": "$response.body#/course/id"}),
        ("ListTasks", "get /api/tasks", {"course_id": "$response.body#/course/id"}),
    ],
    ("get", "/api/courses", "200"): [
        ("GetCourse", "get /api/courses/{course_id}", {"course_id": "$response.body#/items/0/id"}),
    ],
    ("get", "/api/courses/{course_id}", "200"): [
        ("GetTask", "get /api/tasks/{task_id}", {"task_id": "$response.body#/tasks/0/id"}),
        ("CompleteTask", "post /api/tasks/{task_id}/complete", {"task_id": "$response.body#/tasks/0/id"}),
    ],
    ("get", "/api/tasks", "200"): [
        ("GetTask", "get /api/tasks/{task_id}", {"task_id": "$response.body#/items/0/id"}),
        ("GetFormSchema", "get /api/tasks/{task_id}/form-schema", {"task_id": "$response.body#/items/0/id"}),
        ("CompleteTask", "post /api/tasks/{task_id}/complete", {"task_id": "$response.body#/items/0/id"}),
    ],
    ("get", "/api/tasks/{task_id}", "200"): [
        ("GetFormSchema", "get /api/tasks/{task_id}/form-schema", {"task_id": "$response.body#/id"}),
        ("CompleteTask", "post /api/tasks/{task_id}/complete", {"task_id": "$response.body#/id"}),
        ("GetCourse", "get /api/courses/{course_id}", {"course_id": "$response.body#/course_id"}),
    ],
    ("get", "/api/notifications", "200"): [
        (
            "RetryNotification",
            "post /api/notifications/{notification_id}/retry",
            {"notification_id": "$response.body#/items/0/id"},
        ),
    ],
    ("get", "/api/applications", "200"): [
        (
            "GetApplication",
            "get /api/applications/{application_id}",
            {"application_id": "$response.body#/0/id"},
        ),
        (
            "DecideApplication",
            "post /api/applications/{application_id}/decision",
            {"application_id": "$response.body#/0/id"},
        ),
        (
            "ScoreApplication",
            "post /api/applications/{application_id}/scores",
            {"application_id": "$response.body#/0/id"},
        ),
    ],
    ("get", "/api/applications/{application_id}", "200"): [
        (
            "DecideApplication",
            "post /api/applications/{application_id}/decision",
            {"application_id": "$response.body#/application/id"},
        ),
        (
            "ScoreApplication",
            "post /api/applications/{application_id}/scores",
            {"application_id": "$response.body#/application/id"},
        ),
    ],
}


# --- the document ---------------------------------------------------------------------------------


def api_operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, operation) of every operation under /api."""
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        if path.startswith("/api/")
        for method, operation in item.items()
        if isinstance(operation, dict) and "responses" in operation
    ]


def refine(document: dict[str, Any]) -> dict[str, Any]:
    """FastAPI's document made exact: errors as problem+json, the answer body, links."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    operation_ids: dict[str, str] = {}
    for method, path, operation in api_operations(document):
        operation_ids[f"{method} {path}"] = operation["operationId"]
        for code, response in operation["responses"].items():
            if int(code) >= 400:
                response["content"] = {
                    PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ProblemDetail"}}
                }
    complete = document["paths"]["/api/tasks/{task_id}/complete"]["post"]
    body_schema, defs = answer_body_schema()
    schemas.update(defs)
    complete["requestBody"]["content"]["application/json"]["schema"] = body_schema
    schemas.pop("AnswerIn", None)
    for (method, path, code), links in LINKS.items():
        response = document["paths"][path][method]["responses"][code]
        response["links"] = {
            name: {"operationId": operation_ids[target], "parameters": parameters}
            for name, target, parameters in links
        }
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return document


def install(app: FastAPI) -> None:
    """`app.openapi()` builds the refined document once (the programme catalog is read then)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                openapi_version=app.openapi_version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = refine(document)
        return app.openapi_schema

    setattr(app, "openapi", openapi)  # noqa: B010
