"""The audit trail: who did what to a course, when. Every service that changes something writes
one event in the same transaction as the change."""

from __future__ import annotations

from sqlmodel import Session, select

from core.cpr import refuse_cpr
from models.tables import AuditEvent


def audit(
    session: Session,
    *,
    actor: str,
    action: str,
    course_id: int | None,
    detail: str = "",
    dedupe_key: str | None = None,
) -> None:
    """Record an audit event; with `dedupe_key`, at most once. The actor may be typed by hand
    (`--as` on the CLI): a CPR number there is refused like in any free text."""
    refuse_cpr(actor)
    if dedupe_key is not None:
        exists = session.exec(select(AuditEvent.id).where(AuditEvent.dedupe_key == dedupe_key)).first()
        if exists is not None:
            return
    session.add(
        AuditEvent(course_id=course_id, actor=actor, action=action, detail=detail, dedupe_key=dedupe_key)
    )
