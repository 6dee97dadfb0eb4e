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
    # Plain ADD COLUMN (no batch copy): on SQLite a batch rebuild of `meeting` would drop a table
    # that notifications and reminder runs point to.
    op.add_column("stagerun", sa.Column("track", sa.String(), server_default="hoved", nullable=False))
    op.add_column("contact", sa.Column("organisation", sa.String(), server_default="kommune", nullable=False))
    op.add_column("course", sa.Column("wake_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_course_wake_at", "course", ["wake_at"])
    op.add_column("meeting", sa.Column("link", sa.String(), nullable=True))
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
    # Plain DROP COLUMN (SQLite >= 3.35 has it): a batch copy would drop `meeting`, which other
    # tables point to.
    op.drop_column("meeting", "link")
    op.drop_index("ix_course_wake_at", table_name="course")
    op.drop_column("course", "wake_at")
    op.drop_column("contact", "organisation")
    op.drop_column("stagerun", "track")
