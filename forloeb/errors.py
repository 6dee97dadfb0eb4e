"""Errors that reach people.

    ForloebError                 base; `message` is Danish and meant for a person
    ├── NotFound                 unknown municipality, course or task        (exit 3, HTTP 404)
    ├── Conflict                 duplicate course, task already completed    (exit 4, HTTP 409)
    │   └── AlreadyCompleted
    ├── InvalidInput             a form that does not validate, bad options  (exit 2, HTTP 422)
    │   ├── AmbiguousMunicipality
    │   └── CprNumberFound       a CPR-like string in free text
    └── OrchestratorUnavailable  the Prefect server does not answer          (exit 5, HTTP 503)

Errors are mapped once, at the boundary: the CLI turns them into exit codes, the API into
HTTP status codes.
"""

from __future__ import annotations

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
