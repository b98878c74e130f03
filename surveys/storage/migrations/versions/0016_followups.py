"""who asked to be told what changed (Telegram and SMS), their address encrypted until sent

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-03 18:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import surveys.storage.crypto
import surveys.storage.models

revision: str = "0016"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "followups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("address", surveys.storage.crypto.EncryptedText(), nullable=True),
        sa.Column("address_hash", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("created_at", surveys.storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", surveys.storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["rounds.id"],
            name=op.f("fk_followups_round_id_rounds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_followups")),
        sa.UniqueConstraint("round_id", "channel", "address_hash", name="uq_followups_address"),
    )
    op.create_index(op.f("ix_followups_round_id"), "followups", ["round_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_followups_round_id"), table_name="followups")
    op.drop_table("followups")
