"""The cross-municipal network (issue 15): sign-ups and network meetings.

Revision ID: 0007_network
Revises: 0006_evaluation_network

New tables only: existing rows keep their meaning.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_network"
down_revision = "0006_evaluation_network"
branch_labels = None
depends_on = None

ACTIVE = sa.text("left_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "networkmember",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("municipality_code", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("email", sa.String(), nullable=False),
        sa.Column("signed_up_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["municipality_code"], ["municipality.code"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token"),
    )
    op.create_index("ix_networkmember_municipality_code", "networkmember", ["municipality_code"])
    op.create_index(
        "uq_networkmember_active",
        "networkmember",
        ["municipality_code", "email"],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )
    op.create_table(
        "networkmeeting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("location", sa.String(), nullable=False),
        sa.Column("link", sa.String(), nullable=True),
        sa.Column("agenda", sa.String(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("planned", "cancelled", name="networkmeetingstatus", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uid"),
    )
    op.create_index("ix_networkmeeting_starts_at", "networkmeeting", ["starts_at"])


def downgrade() -> None:
    op.drop_table("networkmeeting")
    op.drop_table("networkmember")
