"""the lead's narrative per priority of a plan

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import surveys.storage.models

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "narratives",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("priority", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("updated_at", surveys.storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["rounds.id"],
            name=op.f("fk_narratives_round_id_rounds"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"],
            ["users.id"],
            name=op.f("fk_narratives_updated_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("round_id", "priority", name=op.f("pk_narratives")),
    )


def downgrade() -> None:
    op.drop_table("narratives")
