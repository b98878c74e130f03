"""A round's "You said, we did" page: what the service changed because of the answers.

Child First participation means telling children what happened to what they said. The lead
writes each line ("You said ... / We did ..."), optionally under a priority and in Welsh
too, orders them, and publishes the page; the public page lists them with the plan's
accepted actions. Every change is in the audit log by line id, never by its words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from surveys.services import audit, followups
from surveys.storage.models import Change, Round, utcnow

#: The longest "you said" or "we did" (a few sentences, read on a phone).
MAX_TEXT = 600


class ChangeError(ValueError):
    """A line cannot be saved as given; the message says why in plain words."""


class ChangeNotFound(LookupError):
    """No such line in this round."""


@dataclass(frozen=True)
class Wording:
    """What the lead typed for one line."""

    you_said: str
    we_did: str
    priority: str | None = None
    you_said_cy: str = ""
    we_did_cy: str = ""


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


def check(rnd: Round, wording: Wording) -> Wording:
    """Return the wording tidied, or raise ChangeError saying what to fix."""
    w = Wording(
        _clean(wording.you_said),
        _clean(wording.we_did),
        wording.priority or None,
        _clean(wording.you_said_cy),
        _clean(wording.we_did_cy),
    )
    if not w.you_said or not w.we_did:
        raise ChangeError("Please fill in both 'You said' and 'We did'.")
    for text in (w.you_said, w.we_did, w.you_said_cy, w.we_did_cy):
        if len(text) > MAX_TEXT:
            raise ChangeError(f"Please keep each part under {MAX_TEXT} characters.")
    if bool(w.you_said_cy) != bool(w.we_did_cy):
        raise ChangeError("Please give both parts in Welsh, or neither.")
    if w.priority is not None and w.priority not in (*rnd.priorities, "general"):
        raise ChangeError("That priority is not part of this round.")
    return w


def lines(session: Session, rnd: Round) -> list[Change]:
    """Return the round's lines in the order the page shows them."""
    stmt = select(Change).where(Change.round_id == rnd.id).order_by(Change.position, Change.id)
    return list(session.scalars(stmt))


def get(session: Session, rnd: Round, change_id: int) -> Change:
    """Return one line of this round, or raise ChangeNotFound."""
    change = session.get(Change, change_id)
    if change is None or change.round_id != rnd.id:
        raise ChangeNotFound(change_id)
    return change


def add(session: Session, rnd: Round, wording: Wording, *, actor: Any) -> Change:
    """Add a line at the end of the page."""
    w = check(rnd, wording)
    last = session.scalar(select(func.max(Change.position)).where(Change.round_id == rnd.id))
    change = Change(
        round_id=rnd.id,
        position=(last or 0) + 1,
        priority=w.priority,
        you_said=w.you_said,
        we_did=w.we_did,
        you_said_cy=w.you_said_cy or None,
        we_did_cy=w.we_did_cy or None,
    )
    session.add(change)
    session.flush()
    audit.record(
        session, "change_added", actor=actor, round_id=rnd.id, target=f"change:{change.id}"
    )
    return change


def edit(session: Session, rnd: Round, change_id: int, wording: Wording, *, actor: Any) -> Change:
    """Change a line's words (or priority)."""
    change = get(session, rnd, change_id)
    w = check(rnd, wording)
    change.you_said, change.we_did, change.priority = w.you_said, w.we_did, w.priority
    change.you_said_cy, change.we_did_cy = w.you_said_cy or None, w.we_did_cy or None
    change.updated_at = utcnow()
    audit.record(
        session, "change_edited", actor=actor, round_id=rnd.id, target=f"change:{change.id}"
    )
    return change


def remove(session: Session, rnd: Round, change_id: int, *, actor: Any) -> None:
    """Delete a line."""
    change = get(session, rnd, change_id)
    session.delete(change)
    audit.record(
        session, "change_removed", actor=actor, round_id=rnd.id, target=f"change:{change_id}"
    )


def move(session: Session, rnd: Round, change_id: int, step: int) -> None:
    """Move a line up (step -1) or down (+1) the page."""
    order = lines(session, rnd)
    ids = [c.id for c in order]
    i = ids.index(get(session, rnd, change_id).id)
    j = max(0, min(len(order) - 1, i + step))
    order.insert(j, order.pop(i))
    for position, change in enumerate(order, start=1):
        change.position = position


def publish(session: Session, rnd: Round, *, actor: Any, public: bool = True) -> None:
    """Put the page up (or take it down); it needs at least one line to go up."""
    if public and not lines(session, rnd):
        raise ChangeError("Add at least one line before you publish the page.")
    rnd.changes_published_at = utcnow() if public else None
    action = "changes_published" if public else "changes_withdrawn"
    audit.record(session, action, actor=actor, round_id=rnd.id)
    if public:  # tell those who asked by text or Telegram (each person once, ever)
        followups.published(session, rnd, actor=actor)


def is_public(rnd: Round) -> bool:
    """Return True when the round's "You said, we did" page is up."""
    return rnd.changes_published_at is not None
