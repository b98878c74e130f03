"""text messages: numbers (by keyed hash) and the outbox of texts that must wait

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 15:20:00

- ``sms_numbers``: one row per phone number, keyed by ``HMAC(SECRET_KEY, "sms", number)``;
  the suppression list (``opted_out_at``), when it last texted, unreadable replies, and the
  texts sent to it this hour.
- ``sms_outbox``: texts waiting for the end of quiet hours or a retry; the number is
  encrypted and erased once the text is sent.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import surveys.storage.models

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = surveys.storage.models.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "sms_numbers",
        sa.Column("number_hash", sa.String(length=64), nullable=False),
        sa.Column("opted_out_at", UTC(), nullable=True),
        sa.Column("seen_at", UTC(), nullable=True),
        sa.Column("misses", sa.Integer(), nullable=False),
        sa.Column("miss_question", sa.String(length=128), nullable=True),
        sa.Column("window_start", UTC(), nullable=True),
        sa.Column("window_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("number_hash", name=op.f("pk_sms_numbers")),
    )
    op.create_table(
        "sms_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", surveys.storage.crypto.EncryptedText(), nullable=True),
        sa.Column("number_hash", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("not_before", UTC(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("sent_at", UTC(), nullable=True),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["rounds.id"],
            name=op.f("fk_sms_outbox_round_id_rounds"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_outbox")),
    )
    op.create_index(op.f("ix_sms_outbox_number_hash"), "sms_outbox", ["number_hash"])
    op.create_index(op.f("ix_sms_outbox_status"), "sms_outbox", ["status"])


def downgrade() -> None:
    op.drop_index(op.f("ix_sms_outbox_status"), table_name="sms_outbox")
    op.drop_index(op.f("ix_sms_outbox_number_hash"), table_name="sms_outbox")
    op.drop_table("sms_outbox")
    op.drop_table("sms_numbers")
