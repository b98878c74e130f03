"""safeguarding tiers: hard flag or possible concern, score and trigger

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("answers") as batch:
        batch.add_column(sa.Column("flag_tier", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("flag_score", sa.Float(), nullable=True))
    with op.batch_alter_table("safeguarding_cases") as batch:
        batch.add_column(
            sa.Column("tier", sa.String(length=16), nullable=False, server_default="flag")
        )
        batch.add_column(sa.Column("score", sa.Float(), nullable=True))
        batch.add_column(sa.Column("trigger_spans", sa.JSON(), nullable=True))
    # Answers flagged before tiers existed were flagged by the lexicon.
    op.execute("UPDATE answers SET flag_tier = 'flag' WHERE flagged")


def downgrade() -> None:
    with op.batch_alter_table("safeguarding_cases") as batch:
        batch.drop_column("trigger_spans")
        batch.drop_column("score")
        batch.drop_column("tier")
    with op.batch_alter_table("answers") as batch:
        batch.drop_column("flag_score")
        batch.drop_column("flag_tier")
