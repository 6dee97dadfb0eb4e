"""Stored stage and task figures for the numbers page (issue 15): a done stage's days taken,
planned days and whether it ended late, a completed task's lateness, all in Copenhagen dates.

Revision ID: 0010_stage_figures
Revises: 0009_api_tokens

New nullable columns, filled here from the rows' own dates (the same rule `models.tables`
applies on every later write), so the numbers before and after the upgrade are the same.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from models.tables import stage_figures, task_figures

revision = "0010_stage_figures"
down_revision = "0009_api_tokens"
branch_labels = None
depends_on = None

_stagerun = sa.table(
    "stagerun",
    sa.column("id", sa.Integer),
    sa.column("status", sa.String),
    sa.column("planned_start", sa.Date),
    sa.column("planned_end", sa.Date),
    sa.column("actual_start", sa.DateTime(timezone=True)),
    sa.column("actual_end", sa.DateTime(timezone=True)),
    sa.column("days_taken", sa.Integer),
    sa.column("planned_days", sa.Integer),
    sa.column("finished_late", sa.Boolean),
)
_humantask = sa.table(
    "humantask",
    sa.column("id", sa.Integer),
    sa.column("due_date", sa.Date),
    sa.column("completed_at", sa.DateTime(timezone=True)),
    sa.column("completed_late", sa.Boolean),
)
BATCH = 5_000


def upgrade() -> None:
    op.add_column("stagerun", sa.Column("days_taken", sa.Integer(), nullable=True))
    op.add_column("stagerun", sa.Column("planned_days", sa.Integer(), nullable=True))
    op.add_column("stagerun", sa.Column("finished_late", sa.Boolean(), nullable=True))
    op.add_column("humantask", sa.Column("completed_late", sa.Boolean(), nullable=True))
    conn = op.get_bind()
    s = _stagerun.c
    stages = conn.execute(
        sa.select(s.id, s.status, s.planned_start, s.planned_end, s.actual_start, s.actual_end)
    ).all()
    rows = [
        dict(zip(("b_days_taken", "b_planned_days", "b_finished_late"), stage_figures(*row[1:]), strict=True))
        | {"b_id": row[0]}
        for row in stages
    ]
    update = (
        sa.update(_stagerun)
        .where(s.id == sa.bindparam("b_id"))
        .values(
            days_taken=sa.bindparam("b_days_taken"),
            planned_days=sa.bindparam("b_planned_days"),
            finished_late=sa.bindparam("b_finished_late"),
        )
    )
    for at in range(0, len(rows), BATCH):
        conn.execute(update, rows[at : at + BATCH])
    t = _humantask.c
    tasks = conn.execute(sa.select(t.id, t.due_date, t.completed_at).where(t.completed_at.is_not(None))).all()
    task_rows = [{"b_id": tid, "b_late": task_figures(done, due)} for tid, due, done in tasks]
    task_update = (
        sa.update(_humantask)
        .where(t.id == sa.bindparam("b_id"))
        .values(completed_late=sa.bindparam("b_late"))
    )
    for at in range(0, len(task_rows), BATCH):
        conn.execute(task_update, task_rows[at : at + BATCH])


def downgrade() -> None:
    op.drop_column("humantask", "completed_late")
    op.drop_column("stagerun", "finished_late")
    op.drop_column("stagerun", "planned_days")
    op.drop_column("stagerun", "days_taken")
