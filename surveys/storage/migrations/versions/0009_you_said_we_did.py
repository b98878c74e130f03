"""a round's "You said, we did" page: its lines, and when it went public

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import surveys.storage.models

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rounds", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "changes_published_at",
                surveys.storage.models.UTCDateTime(timezone=True),
                nullable=True,
            )
        )
    op.create_table(
        "changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("priority", sa.String(length=64), nullable=True),
        sa.Column("you_said", sa.Text(), nullable=False),
        sa.Column("we_did", sa.Text(), nullable=False),
        sa.Column("you_said_cy", sa.Text(), nullable=True),
        sa.Column("we_did_cy", sa.Text(), nullable=True),
        sa.Column("created_at", surveys.storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", surveys.storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"], ["rounds.id"], name=op.f("fk_changes_round_id_rounds"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_changes")),
    )
    op.create_index(op.f("ix_changes_round_id"), "changes", ["round_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_changes_round_id"), table_name="changes")
    op.drop_table("changes")
    with op.batch_alter_table("rounds", schema=None) as batch_op:
        batch_op.drop_column("changes_published_at")
