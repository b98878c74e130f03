"""respondents.disclosed_at: help stays on screen after a possible disclosure

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import surveys.storage.models

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("respondents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "disclosed_at", surveys.storage.models.UTCDateTime(timezone=True), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("respondents", schema=None) as batch_op:
        batch_op.drop_column("disclosed_at")
