"""What every page module uses: who is asking, ids in paths, redirects, numbers from the query
string, and the one way a form page is shown, the first time or again with what was typed and
what was wrong (`form_page` with a `Refused`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from fastapi.responses import RedirectResponse, Response

from core.errors import ForloebError, InvalidInput
from dashboard import formgen
from dashboard.deps import admin_user, page_user
from dashboard.templating import render
from services.accounts import CurrentUser

User = Annotated[CurrentUser, Depends(page_user)]
Admin = Annotated[CurrentUser, Depends(admin_user)]
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def int_param(value: str | None, default: int) -> int:
    try:
        return int(value) if value else default
    except ValueError:
        return default


@dataclass(frozen=True)
class Refused:
    """A posted form that was not accepted: shown again with the values typed and why."""

    values: dict[str, Any]
    errors: list[str]
    """Messages for the whole form (shown above it)."""
    field_errors: dict[str, str] = field(default_factory=dict)
    """'field.path' -> message, shown next to the field (generated task forms)."""
    status_code: int = 422

    @classmethod
    def because(
        cls,
        error: ForloebError,
        values: dict[str, Any],
        *,
        by_field: bool = False,
        status_code: int | None = None,
    ) -> Refused:
        """A service's refusal. `by_field`: a validation error's lines go next to their fields.
        A failure on our side (5xx: Prefect, mail) is not the form's fault and is raised on."""
        if error.http_status >= 500:
            raise error
        field_errors: dict[str, str] = {}
        errors = [error.message]
        details = error.details if isinstance(error.details, list) else []
        if by_field and isinstance(error, InvalidInput) and details:
            field_errors, errors = formgen.split_errors([str(d) for d in details])
        return cls(values, errors, field_errors, status_code or error.http_status)


def form_page(
    request: Request,
    template: str,
    context: dict[str, Any],
    refused: Refused | None = None,
    *,
    task_kind: str | None = None,
) -> Response:
    """Show a form page: the first time (200), or again after `refused` (its status) with the
    values typed (`values`) and the errors (`error`: one line; `general_errors`: a list).

    `task_kind`: the form is generated from that task kind's model (`fields`, each with its value
    and its error; errors that fit no field join `general_errors`)."""
    values: dict[str, Any] = {**context.get("values", {}), **(refused.values if refused else {})}
    errors = list(refused.errors) if refused else []
    ctx = {**context, "values": values}
    if task_kind is not None:
        ctx["fields"] = formgen.form_fields(task_kind, values)
        errors += formgen.assign_errors(ctx["fields"], refused.field_errors if refused else {})
    ctx["general_errors"] = errors
    ctx["error"] = " ".join(errors) or None
    return render(request, template, ctx, status_code=refused.status_code if refused else 200)
