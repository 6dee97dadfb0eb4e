"""Errors that reach people, and the Danish words for pydantic's validation errors.

    ForloebError                 base; `message` is Danish and meant for a person
    ├── NotFound                 unknown municipality, course or task        (exit 3, HTTP 404)
    ├── Conflict                 duplicate course, task already completed    (exit 4, HTTP 409)
    │   └── AlreadyCompleted
    ├── InvalidInput             a form that does not validate, bad options  (exit 2, HTTP 422)
    │   ├── AmbiguousMunicipality
    │   └── CprNumberFound       a CPR-like string in free text
    ├── OrchestratorUnavailable  the Prefect server does not answer          (exit 5, HTTP 503)
    └── DatabaseTooNew           the app database was migrated by a newer    (exit 7, HTTP 503)
                                 forloeb: refused, left untouched

Each class carries its `exit_code` and `http_status`: the CLI maps an error to its exit code in
one place (`forloeb.output.fail`), the web layer to problem+json / an error page in one place
(`dashboard.app`). Links that are forged or expired (`core.links.LinkInvalid`, `LinkExpired`) are
not ForloebErrors: the municipality's link page answers them with its own page.

Pydantic's errors (forms, API bodies, query strings) become Danish lines with
`validation_messages`, one map for the CLI, the pages and the API.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


class ForloebError(Exception):
    exit_code = 1
    http_status = 500

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(ForloebError):
    exit_code = 3
    http_status = 404


class Conflict(ForloebError):
    exit_code = 4
    http_status = 409


class AlreadyCompleted(Conflict):
    pass


class InvalidInput(ForloebError):
    exit_code = 2
    http_status = 422


class AmbiguousMunicipality(InvalidInput):
    pass


class CprNumberFound(InvalidInput):
    pass


class OrchestratorUnavailable(ForloebError):
    exit_code = 5
    http_status = 503


class DatabaseTooNew(ForloebError):
    """The database's schema revision is unknown to this code (`models.schema`): a newer
    forloeb migrated it. Nothing is written to it; update forloeb (or use the newer one).
    (Exit 6 is taken: `forloeb notifications retry` when a send fails again.)"""

    exit_code = 7
    http_status = 503


# --- pydantic validation errors in Danish ------------------------------------------------------

DANISH_VALIDATION = {
    "missing": "skal udfyldes",
    "extra_forbidden": "er ikke et felt i denne formular",
    "int_parsing": "skal være et helt tal",
    "int_type": "skal være et helt tal",
    "bool_parsing": "skal være ja/nej (true/false)",
    "bool_type": "skal være ja/nej (true/false)",
    "date_from_datetime_parsing": "skal være en dato som 2026-03-03",
    "date_parsing": "skal være en dato som 2026-03-03",
    "date_type": "skal være en dato som 2026-03-03",
    "datetime_from_date_parsing": "skal være et tidspunkt som 2026-03-03 10:00",
    "datetime_parsing": "skal være et tidspunkt som 2026-03-03 10:00",
    "datetime_type": "skal være et tidspunkt som 2026-03-03 10:00",
    "string_type": "skal være tekst",
    "list_type": "skal være en liste",
    "too_short": "har for få elementer eller tegn",
    "too_long": "har for mange elementer eller tegn",
    "string_too_short": "skal udfyldes",
    "string_too_long": "er for lang",
    "string_pattern_mismatch": "har et ugyldigt format",
    "greater_than_equal": "er for lille",
    "less_than_equal": "er for stor",
    "literal_error": "har en ugyldig værdi",
    "json_invalid": "er ikke gyldig JSON",
    "dict_type": "skal være et JSON-objekt",
    "model_attributes_type": "skal være et JSON-objekt",
}


def validation_messages(
    errors: Iterable[Mapping[str, Any]], *, where_default: str = "formularen", skip: tuple[str, ...] = ()
) -> list[str]:
    """Pydantic's errors (`exc.errors(include_input=False)`) as Danish lines, one per problem,
    "field: what is wrong (pydantic's own words)". Never echoes the input: it might hold personal
    data. `skip` drops location parts such as FastAPI's "body"."""
    lines = []
    for error in errors:
        where = ".".join(str(part) for part in error.get("loc", ()) if part not in skip) or where_default
        message = str(error.get("msg", "")).removeprefix("Value error, ")
        danish = DANISH_VALIDATION.get(str(error.get("type")))
        lines.append(f"{where}: {danish} ({message})" if danish else f"{where}: {message}")
    return lines
