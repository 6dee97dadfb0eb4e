"""API tokens and revocable municipality links (issue 14).

Revision ID: 0009_api_tokens
Revises: 0008_privacy
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0009_api_tokens"
down_revision = "0008_privacy"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # filled in by the work on this issue


def downgrade() -> None:
    pass
