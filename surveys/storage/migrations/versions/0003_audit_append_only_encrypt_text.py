"""audit log append-only; encrypt existing raw answer text

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 16:30:00

- Triggers refuse UPDATE and DELETE on ``audit_events`` (PostgreSQL and SQLite). The only
  update let through is a foreign key's ``ON DELETE SET NULL`` (a deleted user or round):
  the event keeps its ``actor_label``.
- Rows written before encryption (plain ``answers.text`` / ``safeguarding_cases.contact``)
  are encrypted under the newest answer key (``surveys.storage.crypto.rotate``); on an empty
  database this reads nothing. Downgrade removes the triggers only: the text stays
  encrypted (decrypting it back would defeat the point; keep the keys).
"""

from collections.abc import Sequence
from contextlib import contextmanager

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND NEW.id = OLD.id AND NEW.at = OLD.at AND NEW.action = OLD.action
       AND NEW.actor_label = OLD.actor_label
       AND NEW.target IS NOT DISTINCT FROM OLD.target
       AND NEW.details::text = OLD.details::text
       AND (NEW.actor_id IS NOT DISTINCT FROM OLD.actor_id OR NEW.actor_id IS NULL)
       AND (NEW.round_id IS NOT DISTINCT FROM OLD.round_id OR NEW.round_id IS NULL) THEN
        RETURN NEW;  -- ON DELETE SET NULL of a user or round
    END IF;
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql
"""

SQLITE_TRIGGERS = (
    """CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
       BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: DELETE refused'); END""",
    """CREATE TRIGGER audit_events_no_update BEFORE UPDATE OF
       id, at, action, actor_label, target, details ON audit_events
       BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER audit_events_no_update_fk BEFORE UPDATE OF actor_id, round_id
       ON audit_events
       WHEN (NEW.actor_id IS NOT NULL AND NEW.actor_id IS NOT OLD.actor_id)
         OR (NEW.round_id IS NOT NULL AND NEW.round_id IS NOT OLD.round_id)
       BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: UPDATE refused'); END""",
)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute(
            "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
        )
    else:
        for sql in SQLITE_TRIGGERS:
            op.execute(sql)
    _encrypt_existing(bind)


def _encrypt_existing(bind) -> None:
    from sqlalchemy import text

    from surveys.storage import crypto

    # Nothing to do on a new database: do not touch keys at all then.
    found = bind.execute(
        text(
            "SELECT 1 FROM answers WHERE text <> '' UNION ALL "
            "SELECT 1 FROM safeguarding_cases WHERE contact IS NOT NULL AND contact <> '' LIMIT 1"
        )
    ).first()
    if found is None:
        return

    @contextmanager
    def same_connection():
        yield bind  # inside the migration's transaction

    # The columns that existed at this revision (later ones are added encrypted from the start).
    crypto.rotate(
        same_connection,
        columns=(("answers", "id", "text"), ("safeguarding_cases", "id", "contact")),
    )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
    else:
        names = ("audit_events_no_delete", "audit_events_no_update", "audit_events_no_update_fk")
        for name in names:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
