"""Programmes as data with parallel tracks: stage rows know their track, contacts their
organisation, a meeting may be virtual (its link), a course may wait on a timer, and the
course flow marks the actions it has done.

Revision ID: 0004_tracks
Revises: 0003_runner_heartbeat

Existing rows keep their meaning: every stage of a course started before this is on the main track
('hoved'), every contact belongs to the municipality ('kommune').
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_tracks"
down_revision = "0003_runner_heartbeat"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stagerun") as batch:
        batch.add_column(sa.Column("track", sa.String(), server_default="hoved", nullable=False))
    with op.batch_alter_table("contact") as batch:
        batch.add_column(sa.Column("organisation", sa.String(), server_default="kommune", nullable=False))
    with op.batch_alter_table("course") as batch:
        batch.add_column(sa.Column("wake_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_course_wake_at", ["wake_at"])
    with op.batch_alter_table("meeting") as batch:
        batch.add_column(sa.Column("link", sa.String(), nullable=True))
    op.create_table(
        "flowmark",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["course_id"], ["course.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("course_id", "key"),
    )
    op.create_index("ix_flowmark_course_id", "flowmark", ["course_id"])


def downgrade() -> None:
    op.drop_index("ix_flowmark_course_id", table_name="flowmark")
    op.drop_table("flowmark")
    with op.batch_alter_table("meeting") as batch:
        batch.drop_column("link")
    with op.batch_alter_table("course") as batch:
        batch.drop_index("ix_course_wake_at")
        batch.drop_column("wake_at")
    with op.batch_alter_table("contact") as batch:
        batch.drop_column("organisation")
    with op.batch_alter_table("stagerun") as batch:
        batch.drop_column("track")
