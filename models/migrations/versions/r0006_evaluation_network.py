"""The evaluation form (issue 15): each person's link to a course's evaluation (whether they
answered, for the reminders) and the anonymous answers, stored apart without a name.

Revision ID: 0006_evaluation_network
Revises: 0005_applications

New tables only: existing rows keep their meaning.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_evaluation_network"
down_revision = "0005_applications"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evaluationinvite",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("sent_on", sa.Date(), nullable=False),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["course_id"], ["course.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("course_id", "email"),
        sa.UniqueConstraint("token"),
    )
    op.create_index("ix_evaluationinvite_course_id", "evaluationinvite", ["course_id"])
    op.create_table(
        "evaluationanswer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("programme", sa.String(), nullable=False),
        sa.Column("programme_version", sa.Integer(), nullable=False),
        sa.Column("submitted_on", sa.Date(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["course_id"], ["course.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_evaluationanswer_course_id", "evaluationanswer", ["course_id"])
    op.create_index("ix_evaluationanswer_programme", "evaluationanswer", ["programme"])
    op.create_index("ix_evaluationanswer_submitted_on", "evaluationanswer", ["submitted_on"])


def downgrade() -> None:
    op.drop_table("evaluationanswer")
    op.drop_table("evaluationinvite")
