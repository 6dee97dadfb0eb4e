"""Privacy (issue 14), admins only: Adgangslog (/adgangslog: who read which course, application or
document, when and from where; filters; CSV export) and Slet person (/slet-person: erasure on
request by e-mail: where the address is found, then erase after a confirmation)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from core.errors import ForloebError
from dashboard.deps import CheckedForm, form_str
from dashboard.pages.common import Admin, int_param
from dashboard.templating import render
from services import access_log, privacy

router = APIRouter(include_in_schema=False)
SHOWN = 500
"""Rows on the page; the CSV export has every row that matches."""


def _filters(request: Request) -> tuple[dict[str, str], access_log.AccessFilters]:
    p = request.query_params
    values = {k: (p.get(k) or "").strip() for k in ("slags", "nummer", "hvem", "fra", "til")}
    kind = access_log.parse_kind(values["slags"])
    number = int_param(values["nummer"], 0) or None
    return values, access_log.AccessFilters(
        kind=kind,
        object_id=number,
        actor=values["hvem"] or None,
        since=access_log.parse_day(values["fra"], "Fra"),
        until=access_log.parse_day(values["til"], "Til"),
    )


@router.get("/adgangslog")
def access_log_page(request: Request, user: Admin) -> Response:
    error = None
    try:
        values, filters = _filters(request)
        rows = access_log.list_reads(filters, limit=SHOWN + 1)
    except ForloebError as exc:
        values, rows, error = {}, [], exc.message
    return render(
        request,
        "access_log.html",
        {
            "rows": rows[:SHOWN],
            "more": len(rows) > SHOWN,
            "shown": SHOWN,
            "values": values,
            "kinds": access_log.KIND_LABELS.values(),
            "actors": access_log.actors(),
            "csv_query": request.url.query,
            "error": error,
        },
        status_code=422 if error else 200,
    )


@router.get("/adgangslog.csv")
def access_log_csv(request: Request, user: Admin) -> Response:
    _values, filters = _filters(request)
    text = access_log.to_csv(access_log.list_reads(filters, limit=None))
    return Response(
        "\ufeff" + text,  # a BOM, so Danish Excel reads UTF-8
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="adgangslog.csv"'},
    )


@router.get("/slet-person")
def erase_page(request: Request, user: Admin) -> Response:
    return render(request, "erase_contact.html", {"email": "", "found": None, "done": None, "error": None})


@router.post("/slet-person")
def erase_person(request: Request, user: Admin, form: CheckedForm) -> Response:
    """First post: where the address is (nothing changed). Second, with `bekraeft`: erase."""
    email = form_str(form, "email")
    confirmed = form_str(form, "bekraeft") == "ja"
    try:
        report = privacy.erase_contact(email, actor=user.username, dry_run=not confirmed)
    except ForloebError as exc:
        refused = {"email": email, "found": None, "done": None, "error": exc.message}
        return render(request, "erase_contact.html", refused, status_code=422)
    context: dict[str, object] = {
        "email": "" if confirmed else email,
        "found": None if confirmed else report,
        "done": report if confirmed else None,
        "error": None,
    }
    return render(request, "erase_contact.html", context)
