"""Retention, erasure and the access audit (issue 14).

Revision ID: 0008_privacy
Revises: 0007_network
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0008_privacy"
down_revision = "0007_network"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # filled in by the work on this issue


def downgrade() -> None:
    pass
