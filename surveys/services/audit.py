"""The audit log: an append-only record of who did what.

``record`` is the only way in: it adds an ``AuditEvent`` to the caller's session (the
caller commits, so the event lands with the change it records, or not at all). There is no
update or delete here, and the database refuses both (triggers from migration 0003).

``details`` carries ids, counts and formats, never answer text, a password or a
respondent's identity: keys that could hold free text are refused.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from surveys.storage.models import AuditEvent, User

#: The actions the product records (others may be added: lower_snake_case names).
ACTIONS: tuple[str, ...] = (
    "sign_in",
    "sign_in_failed",
    "sign_out",
    "user_created",
    "user_role",
    "user_disable",
    "user_enable",
    "user_password",
    "user_unlock",
    "raw_text_viewed",
    "safeguarding_case_viewed",
    "quote_edited",
    "export",
    "purge",
    "import",
    "keys_rotated",
    "withdrawal",
)

#: Keys whose values could carry free text; refused in ``details``.
FORBIDDEN_DETAIL_KEYS = frozenset(
    {"text", "answer", "raw", "redacted", "quote", "quote_text", "password", "contact", "note"}
)
MAX_DETAIL_STRING = 200
_ACTION_RE = re.compile(r"[a-z][a-z0-9_.]{0,63}")


class AuditError(ValueError):
    """An audit event was given something it must not hold."""


def email_hash(email: str) -> str:
    """Return a short hash of an email (failed sign-ins for unknown accounts)."""
    norm = (email or "").strip().casefold()
    return "sha256:" + hashlib.sha256(norm.encode("utf-8")).hexdigest()[:16]


def _actor(actor: Any) -> tuple[int | None, str]:
    if actor is None:
        return None, "system"
    if isinstance(actor, str):
        return None, actor[:254]
    if isinstance(actor, User):
        return actor.id, actor.email
    uid = getattr(actor, "user_id", None)  # web.auth.StaffUser
    return uid, str(getattr(actor, "email", "") or f"user:{uid}")[:254]


def actor_id(actor: Any) -> int | None:
    """Return the user id of an actor (None for the system or a label such as "cli")."""
    return _actor(actor)[0]


def _clean(details: Mapping[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in (details or {}).items():
        if key.lower() in FORBIDDEN_DETAIL_KEYS:
            raise AuditError(f"audit details must not carry {key!r}")
        if isinstance(value, str) and len(value) > MAX_DETAIL_STRING:
            raise AuditError(f"audit detail {key!r} is too long to be an id or a label")
        if isinstance(value, datetime):
            value = value.isoformat()
        out[str(key)] = value
    return out


def record(
    session: Session,
    action: str,
    *,
    actor: Any = None,
    round_id: int | None = None,
    target: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append an audit event to the session (the caller commits) and return it.

    ``actor``: a ``User``, the signed-in ``StaffUser``, a label such as ``"cli"``, or None
    for the system. ``target``: what was acted on, e.g. ``"answer:42"``, ``"user:3"``.
    """
    if not _ACTION_RE.fullmatch(action or ""):
        raise AuditError(f"an audit action is a short lower_snake_case name, not {action!r}")
    actor_id, label = _actor(actor)
    event = AuditEvent(
        action=action,
        actor_id=actor_id,
        actor_label=label,
        round_id=round_id,
        target=(target or None) and target[:128],
        details=_clean(details),
    )
    session.add(event)
    session.flush()
    return event


def query(
    session: Session,
    *,
    action: str | None = None,
    round_id: int | None = None,
    before: int | None = None,
    limit: int = 50,
) -> tuple[Sequence[AuditEvent], int]:
    """Return a page of events, newest first (``before``: an id, for the next page), and
    the total matching the filters."""
    stmt = select(AuditEvent)
    count = select(func.count()).select_from(AuditEvent)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
        count = count.where(AuditEvent.action == action)
    if round_id is not None:
        stmt = stmt.where(AuditEvent.round_id == round_id)
        count = count.where(AuditEvent.round_id == round_id)
    if before is not None:
        stmt = stmt.where(AuditEvent.id < before)
    rows = session.scalars(stmt.order_by(AuditEvent.id.desc()).limit(limit)).all()
    return rows, session.scalar(count) or 0


def iter_all(
    session: Session, *, action: str | None = None, round_id: int | None = None
) -> Iterator[AuditEvent]:
    """Yield every matching event, oldest first (the CSV export)."""
    stmt = select(AuditEvent).order_by(AuditEvent.id)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    if round_id is not None:
        stmt = stmt.where(AuditEvent.round_id == round_id)
    yield from session.scalars(stmt.execution_options(yield_per=500))
