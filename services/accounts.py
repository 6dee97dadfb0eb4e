"""Logins for the dashboard and the API: consultants and admins, argon2 password hashes. Every
change is audited with the acting user."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pwdlib import PasswordHash
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from core.cpr import mask_cpr, refuse_cpr
from core.db import session_scope
from core.errors import Conflict, InvalidInput, NotFound
from core.labels import label
from core.links import secret_key
from core.settings import get_settings
from models.tables import ConsultantPreference, User, UserRole
from services.audit import audit

DEMO_ADMIN = "admin"
MIN_PASSWORD = 12


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The bundled list of very common passwords (services/common_passwords.txt)."""
    text = (Path(__file__).with_name("common_passwords.txt")).read_text(encoding="utf-8")
    return frozenset(
        line.strip().casefold() for line in text.splitlines() if line and not line.startswith("#")
    )


@lru_cache(maxsize=1)
def password_hasher() -> PasswordHash:
    return PasswordHash.recommended()


def hash_password(password: str) -> str:
    return password_hasher().hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return password_hasher().verify(password, password_hash)
    except Exception:  # a malformed hash is a failed login, not a crash
        return False


@dataclass(frozen=True)
class CurrentUser:
    id: int
    username: str
    display_name: str
    role: UserRole
    password_stamp: str = ""
    """A short keyed hash of the current password hash: a session carries it and ends when it no
    longer matches (a password change ends every other session; no extra column needed)."""

    @property
    def is_admin(self) -> bool:
        return self.role == UserRole.ADMIN


def _current(user: User) -> CurrentUser:
    assert user.id is not None
    return CurrentUser(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        password_stamp=password_stamp(user.password_hash),
    )


def password_stamp(password_hash: str) -> str:
    return hmac.new(secret_key().encode(), password_hash.encode(), hashlib.sha256).hexdigest()[:16]


def ensure_demo_admin() -> tuple[str, str]:
    """Create the admin "admin" once; its password lives in the data dir. Returns (username, password)."""
    path = get_settings().data_dir / "admin-password.txt"
    with session_scope() as session:
        existing = session.exec(select(User).where(User.username == DEMO_ADMIN)).first()
        if existing is not None and path.exists():
            return DEMO_ADMIN, path.read_text(encoding="utf-8").strip()
        password = secrets.token_urlsafe(12)
        if existing is None:
            session.add(
                User(
                    username=DEMO_ADMIN,
                    display_name="Administrator",
                    role=UserRole.ADMIN,
                    password_hash=hash_password(password),
                )
            )
            audit(session, actor="system", action="bruger oprettet", course_id=None, detail=DEMO_ADMIN)
        else:
            # The password file was lost: issue a new password rather than lock everyone out.
            existing.password_hash = hash_password(password)
            existing.active = True
            session.add(existing)
            audit(session, actor="system", action="adgangskode nulstillet", course_id=None, detail=DEMO_ADMIN)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(password + "\n", encoding="utf-8")
    path.chmod(0o600)
    return DEMO_ADMIN, password


def ensure_demo_consultants(display_names: list[str], password: str) -> list[str]:
    """Demo only (`make run` with FORLOEB_DEMO): a login for each demo course's consultant, so "Mine
    opgaver" can be tried. Username = first name in lower case. Returns the usernames."""
    usernames = []
    for name in display_names:
        username = name.split()[0].lower()
        with session_scope() as session:
            exists = session.exec(select(User).where(User.username == username)).first() is not None
        if not exists:
            create_user(username, name, UserRole.CONSULTANT, password, actor="demo")
        usernames.append(username)
    return usernames


def authenticate(username: str, password: str) -> CurrentUser | None:
    with session_scope() as session:
        user = session.exec(select(User).where(User.username == username.strip())).first()
    if user is None or not user.active or not verify_password(password, user.password_hash):
        return None
    return _current(user)


def load_user(user_id: int) -> CurrentUser | None:
    with session_scope() as session:
        user = session.get(User, user_id)
    if user is None or not user.active:
        return None
    return _current(user)


def list_users() -> list[User]:
    with session_scope() as session:
        return list(session.exec(select(User).order_by(User.username)))


def consultant_names() -> list[str]:
    with session_scope() as session:
        return list(
            session.exec(
                select(User.display_name).where(User.role == UserRole.CONSULTANT, User.active == True)  # noqa: E712
            )
        )


def check_password_policy(password: str, username: str) -> None:
    """The minimum policy: at least 12 characters, not the username, not a very common password."""
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"Adgangskoden skal være mindst {MIN_PASSWORD} tegn.")
    folded = password.strip().casefold()
    name = username.strip().casefold()
    if name and (folded == name or (len(name) >= 4 and name in folded and len(folded) - len(name) < 6)):
        raise InvalidInput("Adgangskoden må ikke være (eller næsten være) brugernavnet.")
    if folded in common_passwords():
        raise InvalidInput("Adgangskoden er en af de mest brugte adgangskoder. Vælg en anden.")


def create_user(username: str, display_name: str, role: UserRole, password: str, *, actor: str) -> User:
    username = username.strip().lower()
    display_name = display_name.strip()
    if not username or not username.replace(".", "").replace("-", "").replace("_", "").isalnum():
        raise InvalidInput("Brugernavnet må kun indeholde bogstaver, tal, punktum, bindestreg og understreg.")
    if not display_name:
        raise InvalidInput("Angiv et visningsnavn (det navn, der står som konsulent på forløbene).")
    refuse_cpr(username, display_name)
    check_password_policy(password, username)
    user = User(
        username=username, display_name=display_name, role=role, password_hash=hash_password(password)
    )
    try:
        with session_scope() as session:
            session.add(user)
            session.flush()
            audit(
                session,
                actor=actor,
                action="bruger oprettet",
                course_id=None,
                detail=f"{username} ({label(role).lower()})",
            )
    except IntegrityError:
        raise Conflict(f"Brugernavnet '{username}' findes allerede.") from None
    return user


def set_active(user_id: int, active: bool, *, actor: str) -> User:
    with session_scope() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound(f"Bruger {user_id} findes ikke.")
        if user.username == actor and not active:
            raise Conflict("Du kan ikke deaktivere dig selv.")
        user.active = active
        session.add(user)
        audit(
            session,
            actor=actor,
            action="bruger aktiveret" if active else "bruger deaktiveret",
            course_id=None,
            detail=user.username,
        )
        return user


def set_password(user_id: int, password: str, *, actor: str) -> None:
    """A new password; every session of the user ends (their stamp no longer matches)."""
    with session_scope() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound(f"Bruger {user_id} findes ikke.")
        check_password_policy(password, user.username)
        user.password_hash = hash_password(password)
        session.add(user)
        audit(session, actor=actor, action="adgangskode ændret", course_id=None, detail=user.username)


def change_own_password(user_id: int, current: str, new: str, repeated: str) -> None:
    """A person changes their own password: the current one is checked first."""
    with session_scope() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound(f"Bruger {user_id} findes ikke.")
        username, password_hash = user.username, user.password_hash
    if not verify_password(current, password_hash):
        raise InvalidInput("Den nuværende adgangskode er forkert. Intet er ændret.")
    if new != repeated:
        raise InvalidInput("De to nye adgangskoder er ikke ens. Intet er ændret.")
    if new == current:
        raise InvalidInput("Den nye adgangskode er den samme som den gamle.")
    set_password(user_id, new, actor=username)


def record_login(username: str, *, success: bool) -> None:
    """Logins are audited (who used the dashboard when), failed ones too."""
    with session_scope() as session:
        audit(
            session,
            actor=mask_cpr(username[:100]) or "?",  # typed by anyone: a CPR number is not kept
            action="logget ind" if success else "mislykket login",
            course_id=None,
        )


def set_consultant_preference(
    consultant: str, *, email: str | None = None, stage_summary: bool | None = None
) -> ConsultantPreference:
    """A consultant's e-mail (blank: the default address) and whether they get a mail at each
    stage change of their courses. Only what is given changes."""
    with session_scope() as session:
        pref = session.get(ConsultantPreference, consultant) or ConsultantPreference(consultant=consultant)
        if email is not None:
            pref.email = email.strip() or None
        if stage_summary is not None:
            pref.stage_summary = stage_summary
        session.add(pref)
        return pref
