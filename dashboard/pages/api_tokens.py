"""API-nøgler: personal API tokens for scripts and BI tools (`services.api_tokens`). A consultant
creates and revokes their own; an admin sees and revokes everyone's. The secret is shown once, on
the page that answers the creation (never stored, never in a redirect or a log)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from core.errors import ForloebError, InvalidInput
from dashboard.deps import CheckedForm, form_str
from dashboard.pages.common import Id, Refused, User, form_page, redirect
from services import api_tokens
from services.accounts import CurrentUser

router = APIRouter(include_in_schema=False)
PAGE = "/konto/api-noegler"


def _page(
    request: Request, user: CurrentUser, *, secret: str | None = None, refused: Refused | None = None
) -> Response:
    context = {
        "tokens": api_tokens.list_tokens(username=None if user.is_admin else user.username),
        "scopes": api_tokens.SCOPES,
        "secret": secret,
        "revoked": request.query_params.get("tilbagekaldt") == "1",
    }
    return form_page(request, "api_tokens.html", context, refused)


@router.get(PAGE)
def tokens_page(request: Request, user: User) -> Response:
    return _page(request, user)


@router.post(PAGE)
def create_token(request: Request, user: User, form: CheckedForm) -> Response:
    values = {"name": form_str(form, "name"), "expires": form_str(form, "expires")}
    scopes = [s for s in form.getlist("scope") if isinstance(s, str)]
    try:
        if values["expires"] and not values["expires"].isdigit():
            raise InvalidInput("Udløb skal være et antal dage (eller tomt for ingen udløbsdato).")
        _row, secret = api_tokens.create_token(
            owner=user.username,
            name=values["name"],
            scopes=scopes,
            expires_days=int(values["expires"]) if values["expires"] else None,
            actor=user.username,
        )
    except ForloebError as exc:
        return _page(request, user, refused=Refused.because(exc, {**values, "scopes": scopes}))
    return _page(request, user, secret=secret)


@router.post(PAGE + "/{token_id}/tilbagekald")
def revoke_token(token_id: Id, user: User, form: CheckedForm) -> Response:
    api_tokens.revoke_token(token_id, actor=user)
    return redirect(PAGE + "?tilbagekaldt=1")
