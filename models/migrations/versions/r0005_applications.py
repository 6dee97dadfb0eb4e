"""Applications, rounds and capacity (issue 13): a municipality's application, its documents and
scores, the application rounds, the registered introductory talks; courses, audit events and
messages may point to an application.

Revision ID: 0005_applications
Revises: 0004_tracks

Existing rows keep their meaning: no course, event or message came from an application.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_applications"
down_revision = "0004_tracks"
branch_labels = None
depends_on = None

OPEN = sa.text("status IN ('submitted', 'assessment', 'accepted', 'deferred')")


def upgrade() -> None:
    op.create_table(
        "applicationround",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("opens_on", sa.Date(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("preferred_start", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("programme", "key"),
    )
    op.create_index("ix_applicationround_programme", "applicationround", ["programme"])
    op.create_table(
        "application",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(), nullable=False),
        sa.Column("municipality_code", sa.Integer(), nullable=False),
        sa.Column("programme", sa.String(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "submitted",
                "assessment",
                "accepted",
                "deferred",
                "rejected",
                "withdrawn",
                "started",
                name="applicationstatus",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("preferred_start", sa.Date(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decision", sa.String(), nullable=True),
        sa.Column("decision_no", sa.Integer(), nullable=False),
        sa.Column("decided_by", sa.String(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reject_reason", sa.String(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("slot", sa.String(), nullable=True),
        sa.Column("consultant", sa.String(), nullable=True),
        sa.Column("course_id", sa.Integer(), nullable=True),
        sa.Column("flow_run_id", sa.String(), nullable=True),
        sa.Column("wake_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["municipality_code"], ["municipality.code"]),
        sa.ForeignKeyConstraint(["round_id"], ["applicationround.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uid"),
    )
    for column in (
        "course_id",
        "flow_run_id",
        "municipality_code",
        "programme",
        "round_id",
        "status",
        "wake_at",
    ):
        op.create_index(f"ix_application_{column}", "application", [column])
    op.create_index(
        "uq_application_open",
        "application",
        ["municipality_code", "programme"],
        unique=True,
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )
    op.create_table(
        "introtalk",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("municipality_code", sa.Integer(), nullable=False),
        sa.Column("programme", sa.String(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("registered_by", sa.String(), nullable=False),
        sa.Column("note", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["municipality_code"], ["municipality.code"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_introtalk_municipality_code", "introtalk", ["municipality_code"])
    op.create_index("ix_introtalk_programme", "introtalk", ["programme"])
    op.create_table(
        "applicationdocument",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("uploaded_by", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["application.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_applicationdocument_application_id", "applicationdocument", ["application_id"])
    op.create_table(
        "applicationscore",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("consultant", sa.String(), nullable=False),
        sa.Column("criterion", sa.String(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["application.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("application_id", "consultant", "criterion"),
    )
    op.create_index("ix_applicationscore_application_id", "applicationscore", ["application_id"])
    # Plain ADD COLUMN (no batch copy): a SQLite batch rebuild would drop tables others point to.
    for table in ("auditevent", "course", "notification"):
        op.add_column(table, sa.Column("application_id", sa.Integer(), nullable=True))
        op.create_index(f"ix_{table}_application_id", table, ["application_id"])
    op.add_column("course", sa.Column("focus", sa.String(), nullable=True))


def downgrade() -> None:
    op.drop_column("course", "focus")
    for table in ("notification", "course", "auditevent"):
        op.drop_index(f"ix_{table}_application_id", table_name=table)
        op.drop_column(table, "application_id")
    op.drop_table("applicationscore")
    op.drop_table("applicationdocument")
    op.drop_table("introtalk")
    op.drop_table("application")
    op.drop_table("applicationround")
