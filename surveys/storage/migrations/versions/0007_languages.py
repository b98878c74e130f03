"""languages: rounds offered in English and Welsh, each person's and answer's language

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-02 10:00:00

- ``rounds.languages``: the languages a round is offered in, in the order the service shows
  them (``["en"]``, ``["cy", "en"]``...); existing rounds are English.
- ``respondents.language``: the language the person chose at first contact (or switched to).
- ``answers.language``: the language the question was shown in when it was answered.
- ``answers.quote_translation``: the lead's English translation of a quote given in another
  language, printed in the English plan beside the words as given.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rounds") as batch:
        batch.add_column(sa.Column("languages", sa.JSON(), nullable=False, server_default='["en"]'))
    with op.batch_alter_table("respondents") as batch:
        batch.add_column(sa.Column("language", sa.String(8), nullable=False, server_default="en"))
    with op.batch_alter_table("answers") as batch:
        batch.add_column(sa.Column("language", sa.String(8), nullable=False, server_default="en"))
        batch.add_column(sa.Column("quote_translation", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("answers") as batch:
        batch.drop_column("quote_translation")
        batch.drop_column("language")
    with op.batch_alter_table("respondents") as batch:
        batch.drop_column("language")
    with op.batch_alter_table("rounds") as batch:
        batch.drop_column("languages")
