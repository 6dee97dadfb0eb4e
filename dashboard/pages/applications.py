"""Applications (issue 13): the public application form (/ansoeg/<programme>, no login), the
municipality's own link (/a/<token>: status, missing documents, withdrawal), and the consultants'
pages: Ansøgninger, the application page (scores, decision, letters) and Kapacitet."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import Response
from starlette.datastructures import FormData, UploadFile

from core.cpr import contains_cpr
from core.errors import ForloebError, InvalidInput
from core.links import LinkExpired, LinkInvalid, make_application_token, read_application_token
from dashboard.deps import CheckedForm, form_str
from dashboard.pages.common import Id, Refused, User, form_page, redirect
from dashboard.templating import render
from models.tables import AccessKind, AccessVia
from services import access_log, applications, intake, municipalities, privacy
from services.uploads import max_bytes

router = APIRouter(include_in_schema=False)


# --- the public form -------------------------------------------------------------------------


def _form_data(form: FormData) -> dict[str, Any]:
    """Posted fields -> the dict `ApplicationForm` validates (empty fields left out)."""
    data: dict[str, Any] = {}
    for name in (
        "motivation",
        "udfordringer",
        "forventninger",
        "forankring",
        "fokus",
        "organisering",
        "foretrukken_start",
        "underretninger",
        "foranstaltninger",
        "underskriver_navn",
        "underskriver_titel",
        "underskrevet_dato",
    ):
        value = form_str(form, name)
        if value:
            data[name] = value
    for flag in ("indledende_moede", "direktoerbeslutning", "ingen_tidligere_bistand"):
        data[flag] = form_str(form, flag) == "on"
    contacts = []
    for n in range(5):
        person = {k: form_str(form, f"kontakt_{n}_{k}") for k in ("navn", "rolle", "email")}
        if any(person.values()):
            contacts.append(person)
    data["kontaktpersoner"] = contacts
    help_list: list[dict[str, Any]] = []
    for scheme in intake.HELP_SCHEMES:
        if form_str(form, f"bistand_{scheme}") == "on":
            year = form_str(form, f"bistand_{scheme}_aar")
            help_list.append({"ordning": scheme, "aar": year})
    data["tidligere_bistand"] = help_list
    return data


def _read_upload(value: Any) -> tuple[str, bytes] | None:
    """The posted file (already spooled by the form dependency): read in the thread pool."""
    if not isinstance(value, UploadFile) or not value.filename:
        return None
    value.file.seek(0)
    return value.filename, value.file.read(max_bytes() + 1)


def _apply_page(request: Request, programme: str, refused: Refused | None = None) -> Response:
    state = applications.intake_state(programme)
    return form_page(
        request,
        "apply.html",
        {
            "state": state,
            "programme": programme,
            "kommuner": municipalities.list_municipalities(),
            "schemes": intake.HELP_SCHEMES,
            "max_mb": max_bytes() // (1024 * 1024),
        },
        refused,
    )


@router.get("/ansoeg")
def apply_index(request: Request) -> Response:
    states = [applications.intake_state(p.key) for p in applications.intake_programmes()]
    return render(request, "apply_index.html", {"states": states})


@router.get("/ansoeg/{programme}")
def apply_form(request: Request, programme: str) -> Response:
    return _apply_page(request, programme)


@router.post("/ansoeg/{programme}")
def apply_submit(request: Request, programme: str, form: CheckedForm) -> Response:
    files = []
    for kind in intake.DOCUMENT_KINDS:
        read = _read_upload(form.get(f"dokument_{kind}"))
        if read is not None:
            files.append(applications.Upload(kind, read[0], read[1]))
    data = _form_data(form)
    kommune = form_str(form, "kommune")
    # Shown again when refused, except a value holding a CPR number (never echoed).
    values = {
        k: form_str(form, k)
        for k in form
        if isinstance(form.get(k), str) and k != "csrf_token" and not contains_cpr(form_str(form, k))
    }
    try:
        application = applications.submit(programme, kommune, data, files)
    except ForloebError as exc:
        return _apply_page(request, programme, Refused.because(exc, values))
    assert application.id is not None
    link = f"/a/{make_application_token(application.id, application.uid)}"
    return render(request, "apply_done.html", {"application": application, "link": link}, status_code=201)


# --- the municipality's own link -------------------------------------------------------------


def _resolve(request: Request, token: str) -> applications.ApplicationDetail | Response:
    def error(title: str, message: str, status: int) -> Response:
        return render(request, "link_error.html", {"title": title, "message": message}, status_code=status)

    try:
        application_id, uid = read_application_token(token)
    except LinkExpired:
        return error("Linket er udløbet", "Linket er ikke længere gyldigt. Kontakt Socialstyrelsen.", 410)
    except LinkInvalid:
        return error("Linket er ugyldigt", "Linket kan ikke bruges. Tjek at I har kopieret hele linket.", 403)
    try:
        detail = applications.application_detail(application_id)
    except ForloebError:
        return error("Ansøgningen findes ikke", "Ansøgningen, linket peger på, findes ikke.", 404)
    if not detail.application.uid.startswith(uid):
        return error("Linket er ugyldigt", "Linket passer ikke til ansøgningen.", 403)
    return detail


def _link_page(request: Request, token: str, detail: Any, message: str = "", error: str = "") -> Response:
    return render(
        request,
        "application_link.html",
        {
            "d": detail,
            "token": token,
            "kinds": intake.DOCUMENT_KINDS,
            "reasons": intake.REJECT_REASONS,
            "message": message,
            "error": error or None,
        },
        status_code=422 if error else 200,
    )


def _link_actor(detail: applications.ApplicationDetail) -> str:
    return f"kommune: {detail.row.municipality} (link)"


@router.get("/a/{token}")
def application_link(request: Request, token: str, background: BackgroundTasks) -> Response:
    resolved = _resolve(request, token)
    if isinstance(resolved, Response):
        return resolved
    assert resolved.application.id is not None
    background.add_task(
        access_log.record_read,
        AccessKind.APPLICATION,
        resolved.application.id,
        _link_actor(resolved),
        AccessVia.LINK,
    )
    return _link_page(request, token, resolved)


@router.post("/a/{token}/dokument")
def application_link_document(request: Request, token: str, form: CheckedForm) -> Response:
    resolved = _resolve(request, token)
    if isinstance(resolved, Response):
        return resolved
    assert resolved.application.id is not None
    read = _read_upload(form.get("dokument"))
    kind = form_str(form, "kind")
    try:
        if read is None:
            raise InvalidInput("Vælg en PDF-fil.")
        applications.add_document(
            resolved.application.id,
            applications.Upload(kind, read[0], read[1]),
            actor=f"kommune: {resolved.row.municipality} (link)",
        )
    except ForloebError as exc:
        if exc.http_status >= 500:
            raise
        return _link_page(request, token, resolved, "", exc.message)
    detail = applications.application_detail(resolved.application.id)
    return _link_page(request, token, detail, "Dokumentet er tilføjet.")


@router.post("/a/{token}/traek-tilbage")
def application_link_withdraw(request: Request, token: str, form: CheckedForm) -> Response:
    resolved = _resolve(request, token)
    if isinstance(resolved, Response):
        return resolved
    assert resolved.application.id is not None
    try:
        applications.withdraw(resolved.application.id, actor=f"kommune: {resolved.row.municipality} (link)")
    except ForloebError as exc:
        return _link_page(request, token, resolved, "", exc.message)
    detail = applications.application_detail(resolved.application.id)
    return _link_page(request, token, detail, "Ansøgningen er trukket tilbage.")


def _pdf(
    application_id: int, document_id: int, actor: str, via: AccessVia, background: BackgroundTasks
) -> Response:
    doc, content = applications.document(application_id, document_id)
    applications.note_document_read(application_id, document_id, actor)
    background.add_task(access_log.record_read, AccessKind.DOCUMENT, document_id, actor, via)
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{doc.filename}"'},
    )


@router.get("/a/{token}/dokumenter/{document_id}")
def application_link_pdf(
    request: Request, token: str, document_id: Id, background: BackgroundTasks
) -> Response:
    resolved = _resolve(request, token)
    if isinstance(resolved, Response):
        return resolved
    assert resolved.application.id is not None
    return _pdf(resolved.application.id, document_id, _link_actor(resolved), AccessVia.LINK, background)


# --- consultants -----------------------------------------------------------------------------


@router.get("/ansoegninger")
def application_list(request: Request, user: User) -> Response:
    p = request.query_params
    filters = {k: p.get(k) or None for k in ("runde", "status", "program")}
    try:
        rows = applications.list_applications(
            round_key=filters["runde"], status=filters["status"], programme=filters["program"]
        )
        error = None
    except ForloebError as exc:
        rows, error = [], exc.message
    return render(
        request,
        "applications.html",
        {
            "nav": "ansoegninger",
            "rows": rows,
            "filters": filters,
            "rounds": applications.list_rounds(),
            "programmes": applications.intake_programmes(),
            "statuses": [s.value for s in applications.ApplicationStatus],
            "error": error,
            "today_str": "",
        },
    )


def _detail_page(request: Request, application_id: int, message: str = "", error: str = "") -> Response:
    detail = applications.application_detail(application_id)
    return render(
        request,
        "application.html",
        {
            "nav": "ansoegninger",
            "d": detail,
            "kinds": intake.DOCUMENT_KINDS,
            "reasons": intake.REJECT_REASONS,
            "help_schemes": intake.HELP_SCHEMES,
            "message": message,
            "error": error or None,
            "retention": privacy.application_retention_note(detail.application),
        },
        status_code=422 if error else 200,
    )


@router.get("/ansoegninger/{application_id}")
def application_page(
    request: Request, application_id: Id, user: User, background: BackgroundTasks
) -> Response:
    response = _detail_page(request, application_id)
    background.add_task(
        access_log.record_read, AccessKind.APPLICATION, application_id, user.username, AccessVia.PAGE
    )
    return response


@router.post("/ansoegninger/{application_id}/vurdering")
def application_score(request: Request, application_id: Id, user: User, form: CheckedForm) -> Response:
    scores: dict[str, tuple[int, str]] = {}
    try:
        for criterion in intake.CRITERIA:
            value = form_str(form, f"point_{criterion}")
            if value:
                if not value.isdigit():
                    raise InvalidInput(f"{intake.CRITERIA[criterion]}: point skal være et tal fra 1 til 5.")
                scores[criterion] = (int(value), form_str(form, f"note_{criterion}"))
        applications.score(application_id, user.display_name, scores, actor=user.username)
    except ForloebError as exc:
        return _detail_page(request, application_id, error=exc.message)
    return redirect(f"/ansoegninger/{application_id}?besked=vurderet")


@router.post("/ansoegninger/{application_id}/afgoerelse")
def application_decide(request: Request, application_id: Id, user: User, form: CheckedForm) -> Response:
    from datetime import date

    decision = form_str(form, "afgoerelse")
    start_text = form_str(form, "start")
    try:
        try:
            start = date.fromisoformat(start_text) if start_text else None
        except ValueError:
            raise InvalidInput("Startdatoen skal være en dato som 2026-09-01.") from None
        applications.decide(
            application_id,
            decision,
            actor=user.username,
            consultant=form_str(form, "konsulent") or user.display_name,
            start_date=start,
            slot=form_str(form, "periode") or None,
            reason=form_str(form, "begrundelse") or None,
        )
    except ForloebError as exc:
        if exc.http_status >= 500:
            raise
        return _detail_page(request, application_id, error=exc.message)
    return redirect(f"/ansoegninger/{application_id}?besked=afgjort")


@router.post("/ansoegninger/{application_id}/mangler")
def application_request_missing(
    request: Request, application_id: Id, user: User, form: CheckedForm
) -> Response:
    try:
        applications.request_missing(application_id, actor=user.username)
    except ForloebError as exc:
        return _detail_page(request, application_id, error=exc.message)
    return redirect(f"/ansoegninger/{application_id}?besked=link-sendt")


@router.post("/ansoegninger/{application_id}/start")
def application_start_now(request: Request, application_id: Id, user: User, form: CheckedForm) -> Response:
    try:
        applications.start_now(application_id, actor=user.username)
    except ForloebError as exc:
        return _detail_page(request, application_id, error=exc.message)
    return redirect(f"/ansoegninger/{application_id}?besked=startes")


@router.get("/ansoegninger/{application_id}/dokumenter/{document_id}")
def application_pdf(
    request: Request, application_id: Id, document_id: Id, user: User, background: BackgroundTasks
) -> Response:
    return _pdf(application_id, document_id, user.username, AccessVia.PAGE, background)


@router.post("/ansoegninger/droeftelse")
def register_talk(request: Request, user: User, form: CheckedForm) -> Response:
    from datetime import date

    from core.clock import today

    try:
        text = form_str(form, "dato")
        try:
            held = date.fromisoformat(text) if text else today()
        except ValueError:
            raise InvalidInput("Datoen skal være en dato som 2026-03-02.") from None
        applications.register_intro_talk(
            form_str(form, "kommune"), form_str(form, "program"), held, actor=user.username
        )
    except ForloebError as exc:
        return render(
            request,
            "error.html",
            {"title": "Drøftelsen er ikke registreret", "message": exc.message, "status": exc.http_status},
            status_code=exc.http_status,
        )
    return redirect("/ansoegninger?besked=droeftelse")


@router.get("/kapacitet")
def capacity_page(request: Request, user: User) -> Response:
    return render(request, "capacity.html", {"nav": "kapacitet", "rows": applications.capacity_view()})
