"""Personal API tokens for scripts and BI tools (issue 14): `Authorization: Bearer flb_...` on the
JSON API instead of a browser session or a person's password on every call.

A token acts as its owner (a consultant or an admin) narrowed to its scopes, on the JSON API only
(never on the HTML pages). It is 256 random bits; only its SHA-256 is stored (a slow password hash
buys nothing for a random secret and would cost argon2's ~50 ms on every request), with a short
non-secret prefix to recognise it in a list. The secret is shown once, when it is created. Creating
and revoking are audited (name and prefix, never the secret); `core.redact` masks any token that
reaches a log line down to that prefix. `last_used_at` is written at most once
a minute per token, so a busy script costs one indexed read per request, not a write.

A token stops working when it is revoked, when it expires, or when its owner is deactivated.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from core.clock import now
from core.cpr import refuse_cpr
from core.db import session_scope
from core.errors import InvalidInput, NotFound
from models.tables import ApiToken, User
from services.accounts import CurrentUser, load_user
from services.audit import audit

TOKEN_PREFIX = "flb_"
PREFIX_LENGTH = len(TOKEN_PREFIX) + 8
LAST_USED_EVERY = timedelta(minutes=1)
MAX_EXPIRES_DAYS = 3650

READ, TASKS_WRITE, COURSES_WRITE, APPLICATIONS_WRITE = (
    "read",
    "tasks:write",
    "courses:write",
    "applications:write",
)
SCOPES: dict[str, str] = {
    READ: "Læse forløb, opgaver, notifikationer, ansøgninger, kapacitet og nøgletal",
    TASKS_WRITE: "Udføre opgaver (svaret valideres som i dashboardet)",
    COURSES_WRITE: "Starte forløb, sende notifikationer igen og (administratorer) genoptage forløb",
    APPLICATIONS_WRITE: "Vurdere og afgøre ansøgninger",
}
"""Every scope, in Danish. They are independent (a write scope does not include `read`), and a token
never has more rights than its owner: admin-only endpoints need an admin's token."""


@dataclass(frozen=True)
class TokenPrincipal:
    """Who an API request with a token acts as."""

    user: CurrentUser
    token_id: int
    scopes: frozenset[str]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)  # SQLite gives naive UTC back


def check_scopes(scopes: list[str]) -> list[str]:
    """The scopes in a fixed order without repeats; `InvalidInput` naming the unknown ones."""
    wanted = [s.strip() for s in scopes if s.strip()]
    unknown = sorted({s for s in wanted if s not in SCOPES})
    if unknown:
        raise InvalidInput(f"Ukendt scope: {', '.join(unknown)}. Vælg blandt: {', '.join(SCOPES)}.")
    if not wanted:
        raise InvalidInput(f"Vælg mindst ét scope: {', '.join(SCOPES)}.")
    return [s for s in SCOPES if s in wanted]


def create_token(
    *, owner: str, name: str, scopes: list[str], expires_days: int | None, actor: str
) -> tuple[ApiToken, str]:
    """A new token for the user `owner` (username). Returns the row and the secret: the only time
    the secret exists outside the caller's hands."""
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("Giv nøglen et navn (højst 100 tegn), fx 'Power BI' eller 'rykker-script'.")
    refuse_cpr(name)
    chosen = check_scopes(scopes)
    if expires_days is not None and not 1 <= expires_days <= MAX_EXPIRES_DAYS:
        raise InvalidInput(f"Udløb skal være mellem 1 og {MAX_EXPIRES_DAYS} dage.")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with session_scope() as session:
        user = session.exec(select(User).where(User.username == owner.strip().lower())).first()
        if user is None or user.id is None or not user.active:
            raise NotFound(f"Der er ingen aktiv bruger '{owner}'.")
        row = ApiToken(
            user_id=user.id,
            name=name,
            scopes=chosen,
            token_hash=hash_token(secret),
            prefix=secret[:PREFIX_LENGTH],
            created_by=actor,
            expires_at=now() + timedelta(days=expires_days) if expires_days else None,
        )
        session.add(row)
        session.flush()
        audit(
            session,
            actor=actor,
            action="API-nøgle oprettet",
            course_id=None,
            detail=f"{row.prefix}… '{name}' til {user.username}: {', '.join(chosen)}",
        )
        session.refresh(row)
        session.expunge(row)
    return row, secret


@dataclass(frozen=True)
class TokenRow:
    """A token as lists show it (never the secret or its hash)."""

    id: int
    username: str
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return "tilbagekaldt"
        if self.expires_at is not None and self.expires_at <= now():
            return "udløbet"
        return "aktiv"


def list_tokens(*, username: str | None = None) -> list[TokenRow]:
    """Every token (admins), or one user's; newest first."""
    query = select(ApiToken, User.username).join(User, col(User.id) == ApiToken.user_id)
    if username is not None:
        query = query.where(User.username == username)
    with session_scope() as session:
        rows = session.exec(query.order_by(col(ApiToken.id).desc())).all()
    return [
        TokenRow(
            id=t.id or 0,
            username=u,
            name=t.name,
            prefix=t.prefix,
            scopes=list(t.scopes),
            created_at=_aware(t.created_at) or now(),
            expires_at=_aware(t.expires_at),
            last_used_at=_aware(t.last_used_at),
            revoked_at=_aware(t.revoked_at),
        )
        for t, u in rows
    ]


def revoke_token(token_id: int, *, actor: CurrentUser | str) -> ApiToken:
    """Revoke at once (audited). A consultant may revoke only their own tokens; an admin (or the
    CLI, `actor` a plain name) any. Revoking a revoked token changes nothing."""
    with session_scope() as session:
        row = session.get(ApiToken, token_id)
        mine = isinstance(actor, str) or actor.is_admin or (row is not None and row.user_id == actor.id)
        if row is None or not mine:
            raise NotFound(f"Der er ingen API-nøgle {token_id}.")
        if row.revoked_at is None:
            name = actor if isinstance(actor, str) else actor.username
            row.revoked_at, row.revoked_by = now(), name
            session.add(row)
            audit(
                session,
                actor=name,
                action="API-nøgle tilbagekaldt",
                course_id=None,
                detail=f"{row.prefix}… '{row.name}'",
            )
        session.flush()
        session.refresh(row)
        session.expunge(row)
    return row


def authenticate_token(token: str) -> TokenPrincipal | None:
    """The owner and scopes of a working token, else None (unknown, revoked, expired, owner gone).
    One indexed read; `last_used_at` is written when it is more than a minute old."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    at = now()
    with session_scope() as session:
        row = session.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).first()
        if row is None or row.id is None or row.revoked_at is not None:
            return None
        expires = _aware(row.expires_at)
        if expires is not None and expires <= at:
            return None
        last = _aware(row.last_used_at)
        if last is None or at - last >= LAST_USED_EVERY:
            row.last_used_at = at
            session.add(row)
        token_id, user_id, scopes = row.id, row.user_id, frozenset(row.scopes)
    user = load_user(user_id)
    if user is None:
        return None
    return TokenPrincipal(user=user, token_id=token_id, scopes=scopes)
