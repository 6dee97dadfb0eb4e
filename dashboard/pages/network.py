"""Netværk (issue 15): the public sign-up page the revisit reminder links to, the member's own page
to leave, and the consultants' page with the members and the network's meetings.

    /netvaerk                          sign up, no login (CSRF; submissions throttled per address)
    /netvaerk/<token>                  the member's own page (from the confirmation mail): leave
    /netvaerk/oversigt                 members, meetings (upcoming, past), plan a meeting (login)
    /netvaerk/moeder                   plan: every active member invited with .ics
    /netvaerk/moeder/<id>/flyt|aflys   move (update, SEQUENCE + 1) / cancel (METHOD:CANCEL)
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from core.cpr import contains_cpr
from core.errors import ForloebError, InvalidInput
from dashboard.deps import CheckedForm, client_address, form_str
from dashboard.pages.common import Id, User, redirect
from dashboard.templating import render
from dashboard.throttle import SubmitThrottle
from services import municipalities, network

router = APIRouter(include_in_schema=False)

SIGNUPS_PER_ADDRESS = 20
"""Sign-up submissions per client address per hour (a municipality's staff share an address)."""
OVERVIEW = "/netvaerk/oversigt"


def _throttle(request: Request) -> SubmitThrottle:
    state = request.app.state
    if not hasattr(state, "network_signup_throttle"):
        state.network_signup_throttle = SubmitThrottle("forloeb-netvaerk", SIGNUPS_PER_ADDRESS, 60)
    throttle: SubmitThrottle = state.network_signup_throttle
    return throttle


def _field_errors(exc: ForloebError) -> tuple[dict[str, str], list[str]]:
    """A service's refusal: messages per field (InvalidInput's details) and for the whole form."""
    if isinstance(exc, InvalidInput) and isinstance(exc.details, dict):
        return {str(k): str(v) for k, v in exc.details.items()}, [exc.message]
    return {}, [exc.message]


def _signup_page(
    request: Request,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    general: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    upcoming, _past = network.list_meetings()
    return render(
        request,
        "network_signup.html",
        {
            "kommuner": municipalities.list_municipalities(),
            "upcoming": [m for m in upcoming if m.status == "planned"],
            "values": values or {},
            "errors": errors or {},
            "general_errors": general or [],
        },
        status_code=status_code,
    )


@router.get("/netvaerk")
def signup_form(request: Request) -> Response:
    return _signup_page(request)


@router.post("/netvaerk")
def signup_submit(request: Request, form: CheckedForm) -> Response:
    locked = _throttle(request).hit(client_address(request))
    if locked is not None:
        response = render(
            request,
            "link_error.html",
            {
                "title": "For mange tilmeldinger",
                "message": "Der er sendt for mange tilmeldinger fra din adresse. "
                f"Prøv igen om {max(1, locked.retry_after // 60)} minutter.",
            },
            status_code=429,
        )
        response.headers["Retry-After"] = str(locked.retry_after)
        return response
    fields = ("kommune", "navn", "email")
    typed = {name: form_str(form, name) for name in fields}
    consent = form_str(form, "samtykke") == "ja"
    try:
        result = network.sign_up(typed["kommune"], typed["navn"], typed["email"], consent=consent)
    except ForloebError as exc:
        if exc.http_status >= 500:
            raise
        errors, general = _field_errors(exc)
        # Shown again to correct, except a value holding a CPR number (never echoed).
        values = {k: v for k, v in typed.items() if not contains_cpr(v)}
        values["samtykke"] = "ja" if consent else ""
        return _signup_page(request, values, errors, general, exc.http_status)
    return render(
        request,
        "network_done.html",
        {"email": typed["email"].lower(), "result": result},
        status_code=201,
    )


# --- the member's own page ----------------------------------------------------------------------


def _member_page(request: Request, token: str, message: str = "") -> Response:
    try:
        member = network.member_page(token[:100])
    except ForloebError:
        return render(
            request,
            "link_error.html",
            {
                "title": "Linket er ugyldigt",
                "message": "Linket til netværket kan ikke bruges. Tjek at du har kopieret hele linket "
                "fra bekræftelsesmailen.",
            },
            status_code=404,
        )
    return render(request, "network_member.html", {"member": member, "token": token, "message": message})


# --- the consultants' page ----------------------------------------------------------------------


def _overview(
    request: Request,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    general: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    upcoming, past = network.list_meetings()
    query = request.query_params
    done = None
    if query.get("handling") in ("planlagt", "flyttet", "aflyst"):
        done = {
            "verb": query["handling"],
            "sent": query.get("sendt", "0"),
            "failed": query.get("fejlet", "0") not in ("", "0"),
            "failed_count": query.get("fejlet", "0"),
        }
    return render(
        request,
        "network.html",
        {
            "nav": "netvaerk",
            "members": network.list_members(),
            "upcoming": upcoming,
            "past": past,
            "done": done,
            "values": values or {},
            "errors": errors or {},
            "general_errors": general or [],
        },
        status_code=status_code,
    )


@router.get(OVERVIEW)
def network_overview(request: Request, user: User) -> Response:
    return _overview(request)


def _done(result: network.Sent, verb: str) -> Response:
    query = urlencode(
        {"moede": result.id, "handling": verb, "sendt": result.sent, "fejlet": len(result.failed)}
    )
    return redirect(f"{OVERVIEW}?{query}#moeder")


@router.post("/netvaerk/moeder")
def plan_meeting(request: Request, user: User, form: CheckedForm) -> Response:
    typed = {name: form_str(form, name) for name in ("titel", "tidspunkt", "sted", "link", "dagsorden")}
    data = network.MeetingInput(
        title=typed["titel"],
        at=typed["tidspunkt"],
        location=typed["sted"],
        link=typed["link"],
        agenda=typed["dagsorden"],
    )
    try:
        result = network.plan_meeting(data, actor=user.username, organizer=user.display_name)
    except ForloebError as exc:
        if exc.http_status >= 500:
            raise
        errors, general = _field_errors(exc)
        values = {k: v for k, v in typed.items() if not contains_cpr(v)}
        return _overview(request, values=values, errors=errors, general=general, status_code=exc.http_status)
    return _done(result, "planlagt")


def _refused(request: Request, exc: ForloebError, what: str) -> Response:
    if exc.http_status >= 500:
        raise exc
    errors, general = _field_errors(exc)
    lines = [f"Mødet er ikke {what}.", *(errors.values() if errors else general)]
    return _overview(request, general=lines, status_code=exc.http_status)


@router.post("/netvaerk/moeder/{meeting_id}/flyt")
def move_meeting(request: Request, meeting_id: Id, user: User, form: CheckedForm) -> Response:
    try:
        result = network.move_meeting(meeting_id, form_str(form, "til"), actor=user.username)
    except ForloebError as exc:
        return _refused(request, exc, "flyttet")
    return _done(result, "flyttet")


@router.post("/netvaerk/moeder/{meeting_id}/aflys")
def cancel_meeting(request: Request, meeting_id: Id, user: User, form: CheckedForm) -> Response:
    try:
        result = network.cancel_meeting(meeting_id, actor=user.username)
    except ForloebError as exc:
        return _refused(request, exc, "aflyst")
    return _done(result, "aflyst")


# Registered after the fixed paths above: a token never shadows them.


@router.get("/netvaerk/{token}")
def member_page(request: Request, token: str) -> Response:
    return _member_page(request, token)


@router.post("/netvaerk/{token}/afmeld")
def member_leave(request: Request, token: str, form: CheckedForm) -> Response:
    try:
        network.leave(token[:100])
    except ForloebError:
        return _member_page(request, token)
    return _member_page(request, token, "Du er nu afmeldt netværket og får ikke flere invitationer.")
