"""Runner heartbeats: which runners are alive and which flow runs each executes.

Revision ID: 0003_runner_heartbeat
Revises: 0002_english_codes

A run left Running/Pending by a runner that was killed is found by comparing Prefect's states
with this table, and handed back to the live runners (`services.recovery`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_runner_heartbeat"
down_revision = "0002_english_codes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runnerprocess",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("host", sa.String(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("running", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("runnerprocess")
