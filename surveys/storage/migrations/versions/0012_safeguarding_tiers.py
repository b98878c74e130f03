"""safeguarding tiers: hard flag or possible concern, score and trigger

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE (SQLite >= 3.35 adds and drops columns itself): a batch copy of
    # ``answers`` on SQLite would drop and recreate the table its cases hang from.
    op.add_column("answers", sa.Column("flag_tier", sa.String(length=16), nullable=True))
    op.add_column("answers", sa.Column("flag_score", sa.Float(), nullable=True))
    op.add_column(
        "safeguarding_cases",
        sa.Column("tier", sa.String(length=16), nullable=False, server_default="flag"),
    )
    op.add_column("safeguarding_cases", sa.Column("score", sa.Float(), nullable=True))
    op.add_column("safeguarding_cases", sa.Column("trigger_spans", sa.JSON(), nullable=True))
    # Answers flagged before tiers existed were flagged by the lexicon.
    op.execute("UPDATE answers SET flag_tier = 'flag' WHERE flagged")


def downgrade() -> None:
    op.drop_column("safeguarding_cases", "trigger_spans")
    op.drop_column("safeguarding_cases", "score")
    op.drop_column("safeguarding_cases", "tier")
    op.drop_column("answers", "flag_score")
    op.drop_column("answers", "flag_tier")
