"""One language for stored codes: statuses and roles are stored as English codes.

Revision ID: 0002_english_codes
Revises: 0001_baseline

Statuses were Danish words ('aaben', 'aktiv') next to the outbox's English ones ('pending'); the
Danish words people read now come from `core.labels` only. `user.role` held the enum member's
*name* ('CONSULTANT'; a native `userrole` type on PostgreSQL) and now holds its value as text, like
every other enum. The two partial indexes whose WHERE clauses name status codes are recreated.
`humantask.assignee_role` ('konsulent'/'kommune', from the programme definitions) is not a status
and stays as it is.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_english_codes"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None

CODES: dict[str, dict[str, str]] = {
    "course": {
        "starter": "starting",
        "aktiv": "active",
        "afsluttet": "completed",
        "fejlet": "failed",
        "annulleret": "cancelled",
    },
    "stagerun": {"planlagt": "planned", "igang": "active", "afsluttet": "done"},
    "humantask": {"aaben": "open", "udfoert": "completed"},
    "meeting": {"planlagt": "planned", "afholdt": "held", "aflyst": "cancelled"},
    "reminderrun": {"planlagt": "scheduled", "annulleret": "cancelled"},
}
ROLES = {"CONSULTANT": "consultant", "ADMIN": "admin"}
"""user.role: the member names SQLModel stored -> the values."""
OLD_ROLE = sa.Enum(*ROLES, name="userrole")
NEW_ROLE = sa.String(20)


def upgrade() -> None:
    _drop_partial_indexes()
    for table, codes in CODES.items():
        _translate(table, "status", codes)
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "user",
            "role",
            type_=NEW_ROLE,
            existing_type=OLD_ROLE,
            existing_nullable=False,
            postgresql_using=_case_sql("role::text", ROLES),
        )
        OLD_ROLE.drop(op.get_bind())
    else:
        with op.batch_alter_table("user") as batch:
            batch.alter_column("role", type_=NEW_ROLE, existing_type=OLD_ROLE, existing_nullable=False)
        # Values too, in case a row was written by hand: SQLite never checked them.
        _translate("user", "role", {**ROLES, "konsulent": "consultant"})
    _create_partial_indexes(active=("starting", "active"), open_="open")


def downgrade() -> None:
    _drop_partial_indexes()
    for table, codes in CODES.items():
        _translate(table, "status", {new: old for old, new in codes.items()})
    back = {new: old for old, new in ROLES.items()}
    if op.get_bind().dialect.name == "postgresql":
        OLD_ROLE.create(op.get_bind())
        op.alter_column(
            "user",
            "role",
            type_=OLD_ROLE,
            existing_type=NEW_ROLE,
            existing_nullable=False,
            postgresql_using=f"({_case_sql('role', back)})::userrole",
        )
    else:
        _translate("user", "role", back)
        with op.batch_alter_table("user") as batch:
            batch.alter_column("role", type_=OLD_ROLE, existing_type=NEW_ROLE, existing_nullable=False)
    _create_partial_indexes(active=("starter", "aktiv"), open_="aaben")


def _translate(table: str, column: str, codes: dict[str, str]) -> None:
    rows = sa.table(table, sa.column(column, sa.String))
    op.execute(
        rows.update()
        .where(rows.c[column].in_(list(codes)))
        .values({column: sa.case(codes, value=rows.c[column])})
    )


def _case_sql(expression: str, codes: dict[str, str]) -> str:
    """A CASE for PostgreSQL's ALTER ... USING (a literal: it is part of the DDL)."""
    whens = " ".join(f"WHEN '{old}' THEN '{new}'" for old, new in codes.items())
    return f"CASE {expression} {whens} END"


def _drop_partial_indexes() -> None:
    op.drop_index("uq_course_active", table_name="course")
    op.drop_index("ix_humantask_open_course_due", table_name="humantask")


def _create_partial_indexes(*, active: tuple[str, str], open_: str) -> None:
    # At most one active course per municipality and programme (models.tables.Course).
    active_only = sa.text(f"status IN ('{active[0]}', '{active[1]}')")
    op.create_index(
        "uq_course_active",
        "course",
        ["municipality_code", "programme"],
        unique=True,
        sqlite_where=active_only,
        postgresql_where=active_only,
    )
    # The open tasks only, for the overview's counts (models.tables, after HumanTask).
    open_only = sa.text(f"status = '{open_}'")
    op.create_index(
        "ix_humantask_open_course_due",
        "humantask",
        ["course_id", "due_date"],
        sqlite_where=open_only,
        postgresql_where=open_only,
    )
