"""Retention, erasure and the access audit (issue 14): `accesslog` (who read which course,
application or document, when, from where) and `purged_at` on courses and applications (when the
personal data was purged after the retention period).

Revision ID: 0008_privacy
Revises: 0007_network

A new table and two nullable columns: existing rows keep their meaning (not purged).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_privacy"
down_revision = "0007_network"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accesslog",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("course", "application", "document", name="accesskind", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("object_id", sa.Integer(), nullable=False),
        sa.Column(
            "via",
            sa.Enum("page", "api", "cli", "link", name="accessvia", native_enum=False, length=20),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_accesslog_at", "accesslog", ["at"])
    op.create_index("ix_accesslog_actor", "accesslog", ["actor"])
    op.create_index("ix_accesslog_kind_object", "accesslog", ["kind", "object_id"])
    # Plain ADD/DROP COLUMN (no batch copy), as 0004_tracks: a batch rebuild on SQLite would drop
    # tables that refer to these.
    op.add_column("course", sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("application", sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("application", "purged_at")
    op.drop_column("course", "purged_at")
    op.drop_table("accesslog")
