"""answers.assessed_at: the second reading (recall net and heads) runs in a worker

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 18:20:00

A written answer is stored with its first reading (redaction, the lexicon's hard flag,
themes, the rule readers' sentiment and priority) and ``assessed_at`` NULL; a job reads it
with the recall net and the heads and sets it. ``assess_lease_until`` is that job's hold on
the answer. Answers stored before this revision were read in full when stored.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import surveys.storage.models

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE (as 0012): a batch copy of ``answers`` on SQLite would drop and
    # recreate the table its cases hang from.
    stamp = surveys.storage.models.UTCDateTime(timezone=True)
    op.add_column("answers", sa.Column("assessed_at", stamp, nullable=True))
    op.add_column("answers", sa.Column("assess_lease_until", stamp, nullable=True))
    op.execute("UPDATE answers SET assessed_at = created_at")
    op.create_index(
        "ix_answers_unassessed",
        "answers",
        ["id"],
        unique=False,
        sqlite_where=sa.text("assessed_at IS NULL"),
        postgresql_where=sa.text("assessed_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_answers_unassessed",
        table_name="answers",
        sqlite_where=sa.text("assessed_at IS NULL"),
        postgresql_where=sa.text("assessed_at IS NULL"),
    )
    op.drop_column("answers", "assess_lease_until")
    op.drop_column("answers", "assessed_at")
