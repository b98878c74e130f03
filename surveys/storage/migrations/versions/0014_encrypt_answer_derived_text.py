"""encrypt every answer-derived text at rest

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 15:45:00

Plain values already stored in ``answers.redacted``, ``redactions`` (JSON: it then holds
one JSON string, the token), ``quote_text`` and ``safeguarding_cases.action_note`` are
encrypted under the newest answer key (``surveys.storage.crypto.rotate``); on an empty
database this reads nothing. No column changes type. Downgrade does nothing: the text stays
encrypted (decrypting it back would defeat the point; keep the keys).
"""

from collections.abc import Sequence
from contextlib import contextmanager

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    _encrypt_existing(op.get_bind())


def _encrypt_existing(bind) -> None:
    from sqlalchemy import text

    from surveys.storage import crypto

    found = bind.execute(
        text(
            "SELECT 1 FROM answers WHERE redacted IS NOT NULL OR quote_text IS NOT NULL "
            "OR quote_translation IS NOT NULL "
            "UNION ALL SELECT 1 FROM safeguarding_cases WHERE action_note IS NOT NULL LIMIT 1"
        )
    ).first()
    if found is None:  # a new database: do not touch keys at all
        return

    @contextmanager
    def same_connection():
        yield bind  # inside the migration's transaction

    # The columns this revision starts encrypting (the others are rotated by their own).
    crypto.rotate(
        same_connection,
        columns=(
            ("answers", "id", "redacted"),
            ("answers", "id", "redactions"),
            ("answers", "id", "quote_text"),
            ("answers", "id", "quote_translation"),
            ("safeguarding_cases", "id", "action_note"),
        ),
    )


def downgrade() -> None:
    pass
