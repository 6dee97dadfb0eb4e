"""Who read something through the JSON API, as the access log names them (issue 14): the username,
and with an API token which one, so a script's reads can be told from the person's own."""

from __future__ import annotations

from fastapi import Request

from services.accounts import CurrentUser


def api_reader(request: Request, user: CurrentUser) -> str:
    token = getattr(request.state, "api_token", None)
    token_id = getattr(token, "token_id", None)
    return f"{user.username} (API-nøgle {token_id})" if token_id is not None else user.username
