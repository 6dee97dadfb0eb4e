"""Baseline: the schema `SQLModel.metadata.create_all` made before migrations (commit d2cb0b0).

Revision ID: 0001_baseline
Revises: -

The tables are written out here as they were then (statuses stored as Danish words, `user.role`
as the enum member's name, a native `userrole` type on PostgreSQL), not imported from
`models.tables`, which moves on.

`upgrade` creates only what is missing. That is how a database made by `create_all` before this
revision existed (tables, no `alembic_version`) is adopted: nothing is created or touched but the
revision stamp, and the later revisions then migrate its rows. A database made by an older
checkout may lack an index added to the models later (`create_all` never adds an index to a table
that exists); it gets it here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None

baseline = sa.MetaData()
Timestamp = sa.DateTime(timezone=True)

sa.Table(
    "municipality",
    baseline,
    sa.Column("code", sa.Integer, primary_key=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("region", sa.String, nullable=False),
    sa.Index("ix_municipality_name", "name", unique=True),
    sa.Index("ix_municipality_region", "region"),
)
sa.Table(
    "course",
    baseline,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("uid", sa.String, nullable=False, unique=True),
    sa.Column("municipality_code", sa.Integer, sa.ForeignKey("municipality.code"), nullable=False),
    sa.Column("programme", sa.String, nullable=False),
    sa.Column("programme_version", sa.Integer, nullable=False),
    sa.Column("consultant", sa.String, nullable=False),
    sa.Column("start_date", sa.Date, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("current_stage", sa.String, nullable=True),
    sa.Column("current_stage_since", Timestamp, nullable=True),
    sa.Column("flow_run_id", sa.String, nullable=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("completed_at", Timestamp, nullable=True),
    sa.Index("ix_course_municipality_code", "municipality_code"),
    sa.Index("ix_course_programme", "programme"),
    sa.Index("ix_course_consultant", "consultant"),
    sa.Index("ix_course_status", "status"),
    sa.Index("ix_course_current_stage", "current_stage"),
    sa.Index("ix_course_flow_run_id", "flow_run_id"),
    sa.Index("ix_course_stage_since", "current_stage_since"),
    sa.Index(
        "uq_course_active",
        "municipality_code",
        "programme",
        unique=True,
        sqlite_where=sa.text("status IN ('starter', 'aktiv')"),
        postgresql_where=sa.text("status IN ('starter', 'aktiv')"),
    ),
)
sa.Table(
    "stagerun",
    baseline,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("course_id", sa.Integer, sa.ForeignKey("course.id"), nullable=False),
    sa.Column("stage_key", sa.String, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("planned_start", sa.Date, nullable=False),
    sa.Column("planned_end", sa.Date, nullable=False),
    sa.Column("actual_start", Timestamp, nullable=True),
    sa.Column("actual_end", Timestamp, nullable=True),
    sa.UniqueConstraint("course_id", "stage_key"),
    sa.Index("ix_stagerun_course_id", "course_id"),
)
sa.Table(
    "humantask",
    baseline,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("course_id", sa.Integer, sa.ForeignKey("course.id"), nullable=False),
    sa.Column("stage_key", sa.String, nullable=False),
    sa.Column("key", sa.String, nullable=False),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("title", sa.String, nullable=False),
    sa.Column("assignee_role", sa.String, nullable=False),
    sa.Column("due_date", sa.Date, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("answer", sa.JSON, nullable=True),
    sa.Column("completed_by", sa.String, nullable=True),
    sa.Column("completed_at", Timestamp, nullable=True),
    sa.Column("applied", sa.Boolean, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.UniqueConstraint("course_id", "key"),
    sa.Index("ix_humantask_course_id", "course_id"),
    sa.Index("ix_task_status_due", "status", "due_date"),
    sa.Index(
        "ix_humantask_open_course_due",
        "course_id",
        "due_date",
        sqlite_where=sa.text("status = 'aaben'"),
        postgresql_where=sa.text("status = 'aaben'"),
    ),
)
sa.Table(
    "meeting",
    baseline,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("course_id", sa.Integer, sa.ForeignKey("course.id"), nullable=False),
    sa.Column("key", sa.String, nullable=False),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("title", sa.String, nullable=False),
    sa.Column("planned_at", Timestamp, nullable=False),
    sa.Column("location", sa.String, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("held_on", sa.Date, nullable=True),
    sa.UniqueConstraint("course_id", "key"),
    sa.Index("ix_meeting_course_id", "course_id"),
    sa.Index("ix_meeting_course_status_at", "course_id", "status", "planned_at"),
)
sa.Table(
    "contact",
    baseline,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("course_id", sa.Integer, sa.ForeignKey("course.id"), nullable=False),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("role", sa.String, nullable=False),
    sa.Column("email", sa.String, nullable=False),
    sa.UniqueConstraint("course_id", "email"),
    sa.Index("ix_contact_course_id", "course_id"),
)
sa.Table(
    "auditevent",
    baseline,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("course_id", sa.Integer, sa.ForeignKey("course.id"), nullable=True),
    sa.Column("at", Timestamp, nullable=False),
    sa.Column("actor", sa.String, nullable=False),
    sa.Column("action", sa.String, nullable=False),
    sa.Column("detail", sa.String, nullable=False),
    sa.Column("dedupe_key", sa.String, nullable=True, unique=True),
    sa.Index("ix_auditevent_course_id", "course_id"),
    sa.Index("ix_auditevent_course_at", "course_id", "at"),
)
sa.Table(
    "user",
    baseline,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("username", sa.String, nullable=False),
    sa.Column("display_name", sa.String, nullable=False),
    # SQLModel's default for an enum field: the member's *name*; a native type on PostgreSQL.
    sa.Column("role", sa.Enum("CONSULTANT", "ADMIN", name="userrole"), nullable=False),
    sa.Column("password_hash", sa.String, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Index("ix_user_username", "username", unique=True),
)
sa.Table(
    "notification",
    baseline,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("course_id", sa.Integer, sa.ForeignKey("course.id"), nullable=True),
    sa.Column("meeting_id", sa.Integer, sa.ForeignKey("meeting.id"), nullable=True),
    sa.Column("purpose", sa.String, nullable=False),
    sa.Column("channel", sa.String, nullable=False),
    sa.Column("recipient", sa.String, nullable=False),
    sa.Column("idempotency_key", sa.String, nullable=False, unique=True),
    sa.Column("subject", sa.String, nullable=False),
    sa.Column("body_text", sa.String, nullable=False),
    sa.Column("body_html", sa.String, nullable=False),
    sa.Column("ics", sa.String, nullable=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("last_error", sa.String, nullable=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=True),
    sa.Column("sent_at", Timestamp, nullable=True),
    sa.Index("ix_notification_course_id", "course_id"),
    sa.Index("ix_notification_meeting_id", "meeting_id"),
    sa.Index("ix_notification_purpose", "purpose"),
    sa.Index("ix_notification_status", "status"),
)
sa.Table(
    "reminderrun",
    baseline,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("meeting_id", sa.Integer, sa.ForeignKey("meeting.id"), nullable=False),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("meeting_version", sa.Integer, nullable=False),
    sa.Column("scheduled_for", Timestamp, nullable=False),
    sa.Column("flow_run_id", sa.String, nullable=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.UniqueConstraint("meeting_id", "kind", "meeting_version"),
    sa.Index("ix_reminderrun_meeting_id", "meeting_id"),
)
sa.Table(
    "consultantpreference",
    baseline,
    sa.Column("consultant", sa.String, primary_key=True),
    sa.Column("email", sa.String, nullable=True),
    sa.Column("stage_summary", sa.Boolean, nullable=False),
)


def upgrade() -> None:
    bind = op.get_bind()
    baseline.create_all(bind, checkfirst=True)  # tables that exist are left as they are
    inspector = sa.inspect(bind)
    for table in baseline.sorted_tables:
        present = {index["name"] for index in inspector.get_indexes(table.name)}
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            if index.name not in present:
                index.create(bind)


def downgrade() -> None:
    baseline.drop_all(op.get_bind())
