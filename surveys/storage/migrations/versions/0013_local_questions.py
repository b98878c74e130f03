"""local questions, their catalogue stamp, rolling rounds

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 16:45:00.295519

A service's own priorities and consultations (local_banks) and the versions of the
questions it writes (local_questions); one catalogue_stamp row, changed with every edit, so
each process knows when to rebuild its catalogue; rounds.rolling for rounds open all year.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import surveys.storage.models

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "catalogue_stamp",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stamp", sa.String(length=32), nullable=False),
        sa.Column("changed_at", surveys.storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogue_stamp")),
    )
    op.create_table(
        "local_banks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("title_cy", sa.String(length=200), nullable=True),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("created_at", surveys.storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_local_banks_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_local_banks")),
        sa.UniqueConstraint("key", name=op.f("uq_local_banks_key")),
    )
    op.create_table(
        "local_questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("qid", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("priority", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", surveys.storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("retired_at", surveys.storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_local_questions_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_local_questions")),
        sa.UniqueConstraint("name", "version", name="uq_local_questions_version"),
        sa.UniqueConstraint("qid", name=op.f("uq_local_questions_qid")),
    )
    with op.batch_alter_table("local_questions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_local_questions_name"), ["name"], unique=False)
        batch_op.create_index(batch_op.f("ix_local_questions_priority"), ["priority"], unique=False)

    with op.batch_alter_table("rounds", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("rolling", sa.Boolean(), server_default=sa.false(), nullable=False)
        )

    stamps = sa.table(
        "catalogue_stamp",
        sa.column("id", sa.Integer()),
        sa.column("stamp", sa.String()),
        sa.column("changed_at", surveys.storage.models.UTCDateTime(timezone=True)),
    )
    op.bulk_insert(
        stamps, [{"id": 1, "stamp": "initial", "changed_at": surveys.storage.models.utcnow()}]
    )


def downgrade() -> None:
    with op.batch_alter_table("rounds", schema=None) as batch_op:
        batch_op.drop_column("rolling")

    with op.batch_alter_table("local_questions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_local_questions_priority"))
        batch_op.drop_index(batch_op.f("ix_local_questions_name"))

    op.drop_table("local_questions")
    op.drop_table("local_banks")
    op.drop_table("catalogue_stamp")
