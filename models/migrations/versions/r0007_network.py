"""The cross-municipal network (issue 15): sign-ups and network meetings.

Revision ID: 0007_network
Revises: 0006_evaluation_network
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0007_network"
down_revision = "0006_evaluation_network"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # filled in by the work on this issue


def downgrade() -> None:
    pass
