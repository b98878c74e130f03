"""The safeguarding queue: flagged answers waiting for the designated safeguarding lead.

A case is opened for every answer the detector flags (``open_cases``), in the same
transaction that stores the answer. The safeguarding lead (or the YJS lead) reads the raw
words, acknowledges the case, records what was done and closes it. A case nobody has
acknowledged within ``DEFAULT_OVERDUE_AFTER`` is *overdue* and highlighted on every admin page.

Alert delivery (email, a Telegram staff chat, escalation) plugs in through
``on_case_opened``: a hook is called with the session and the new case inside the same
transaction, so an outbox row it adds is committed with the case or not at all. Hooks must
only write to the session; the delivery itself (network) belongs to a worker reading the
outbox, never to the request that stored the answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from surveys.core.vocabulary import CASE_STATUSES, CLOSED_CASE_STATUSES, OPEN_CASE_STATUSES
from surveys.services import audit
from surveys.storage.models import Answer, Round, SafeguardingCase, User, utcnow

UK = ZoneInfo("Europe/London")
log = logging.getLogger("yjvoice.safeguarding")

DEFAULT_OVERDUE_AFTER = timedelta(hours=1)
MAX_NOTE = 5000

CaseHook = Callable[[Session, SafeguardingCase], None]
_hooks: list[CaseHook] = []


class CaseNotFound(LookupError):
    """No safeguarding case has this id."""


class CaseClosed(Exception):
    """The case is closed; reopen it before changing it."""


class InvalidNote(ValueError):
    """An action note is empty or too long."""


def on_case_opened(hook: CaseHook) -> CaseHook:
    """Register a hook called with (session, case) for every newly opened case.

    Usable as a decorator. Registering the same function twice has no effect.
    """
    if hook not in _hooks:
        _hooks.append(hook)
    return hook


def remove_hook(hook: CaseHook) -> None:
    """Unregister a hook (no error when it was not registered)."""
    if hook in _hooks:
        _hooks.remove(hook)


@contextmanager
def case_hook(hook: CaseHook) -> Iterator[CaseHook]:
    """Register a hook for the duration of a ``with`` block (tests, one-off scripts)."""
    on_case_opened(hook)
    try:
        yield hook
    finally:
        remove_hook(hook)


Concern = Sequence[str] | Mapping[str, Any]


def _concern(value: Concern) -> dict[str, Any]:
    """Return a concern as case fields; a plain list of categories is a hard flag."""
    if isinstance(value, Mapping):
        return {
            "categories": list(value.get("categories") or ()),
            "tier": value.get("tier") or "flag",
            "score": value.get("score"),
            "trigger_spans": [list(s) for s in value.get("trigger_spans") or ()] or None,
        }
    return {"categories": list(value), "tier": "flag", "score": None, "trigger_spans": None}


def open_cases(
    session: Session,
    flagged: Iterable[tuple[Answer, Concern]],
    *,
    contact: str | None = None,
) -> list[SafeguardingCase]:
    """Open one case per flagged answer (once per answer), tell the hooks, return the new cases.

    Each answer comes with its categories, or with the whole concern
    (``pipeline.concern``: categories, tier, score, trigger spans). The answers must belong
    to ``session``; they are flushed here so the cases can point at them. An answer that
    already has a case gets no second one.
    """
    pairs = list(flagged)
    if not pairs:
        return []
    if any(a.id is None for a, _ in pairs):
        session.flush()
    ids = [a.id for a, _ in pairs]
    existing: set[int] = set()
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        existing.update(
            session.scalars(
                select(SafeguardingCase.answer_id).where(SafeguardingCase.answer_id.in_(chunk))
            )
        )
    cases = []
    for answer, found in pairs:
        if answer.id in existing:
            continue
        existing.add(answer.id)
        case = SafeguardingCase(
            answer_id=answer.id,
            round_id=answer.round_id,
            **_concern(found),
            status="new",
            contact=contact,
            created_at=utcnow(),
        )
        session.add(case)
        cases.append(case)
    if cases:
        session.flush()
    for case in cases:
        log.info("safeguarding case opened case=%s round=%s", case.id, case.round_id)
        for hook in list(_hooks):
            hook(session, case)
    return cases


def open_case(
    session: Session, answer: Answer, categories: Concern, *, contact: str | None = None
) -> SafeguardingCase:
    """Open the case for one flagged answer (or return the one it already has)."""
    new = open_cases(session, [(answer, categories)], contact=contact)
    if new:
        return new[0]
    case = session.scalar(select(SafeguardingCase).where(SafeguardingCase.answer_id == answer.id))
    assert case is not None
    return case


@dataclass(frozen=True)
class CaseView:
    """One case as the queue shows it: the raw words, where and when they came from."""

    id: int
    status: str
    categories: tuple[str, ...]
    tier: str  # "flag" (lexicon) or "possible" (recall net, or not read automatically)
    score: float | None
    trigger_spans: tuple[tuple[int, int], ...]
    created_at: datetime
    channel: str
    audience: str
    round_code: str
    round_title: str
    question_id: str
    priority: str
    text: str  # the raw answer: only the safeguarding pages may show it
    contact: str | None
    respondent: str  # pseudonym, e.g. R-1A2B3C4D
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    action_note: str | None
    closed_at: datetime | None
    closed_by: str | None

    def overdue(
        self, now: datetime | None = None, after: timedelta = DEFAULT_OVERDUE_AFTER
    ) -> bool:
        """Return True when nobody has acknowledged the case in time."""
        return self.status == "new" and self.created_at < (now or utcnow()) - after

    @property
    def trigger(self) -> list[tuple[str, bool]]:
        """Return the raw text as (piece, is_trigger) parts, for highlighting the trigger."""
        parts: list[tuple[str, bool]] = []
        at = 0
        for start, end in sorted(self.trigger_spans):
            start, end = max(start, at), min(end, len(self.text))
            if start >= end:
                continue
            if start > at:
                parts.append((self.text[at:start], False))
            parts.append((self.text[start:end], True))
            at = end
        if at < len(self.text):
            parts.append((self.text[at:], False))
        return parts

    @property
    def is_open(self) -> bool:
        """Return True until the case is closed (or cleared)."""
        return self.status not in CLOSED_CASE_STATUSES


def _views(session: Session, where: Sequence, *, limit: int | None = None) -> list[CaseView]:
    acker = select(User.email).where(User.id == SafeguardingCase.acknowledged_by)
    closer = select(User.email).where(User.id == SafeguardingCase.closed_by)
    stmt = (
        select(
            SafeguardingCase,
            Answer.text,
            Answer.channel,
            Answer.audience,
            Answer.question_id,
            Answer.priority,
            Answer.respondent_id,
            Round.code,
            Round.title,
            acker.scalar_subquery(),
            closer.scalar_subquery(),
        )
        .join(Answer, Answer.id == SafeguardingCase.answer_id)
        .join(Round, Round.id == SafeguardingCase.round_id)
        .where(*where)
        .order_by(SafeguardingCase.created_at, SafeguardingCase.id)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    out = []
    for case, text, channel, audience, qid, prio, rid, code, title, ack, closer_ in session.execute(
        stmt
    ):
        out.append(
            CaseView(
                id=case.id,
                status=case.status,
                categories=tuple(case.categories or ()),
                tier=case.tier or "flag",
                score=case.score,
                trigger_spans=tuple(
                    (int(a), int(b)) for a, b in (case.trigger_spans or ()) if text
                ),
                created_at=case.created_at,
                channel=channel,
                audience=audience,
                round_code=code,
                round_title=title,
                question_id=qid,
                priority=prio,
                text=text,
                contact=case.contact,
                respondent="R-" + rid[:8].upper(),
                acknowledged_at=case.acknowledged_at,
                acknowledged_by=ack,
                action_note=case.action_note,
                closed_at=case.closed_at,
                closed_by=closer_,
            )
        )
    return out


def list_cases(
    session: Session, *, status: str = "open", round_id: int | None = None, limit: int = 500
) -> list[CaseView]:
    """Return cases oldest first: ``open`` (new or acknowledged), ``closed`` (or cleared),
    ``cleared`` alone, or ``all``."""
    where: list = []
    if status == "open":
        where.append(SafeguardingCase.status.in_(OPEN_CASE_STATUSES))
    elif status == "closed":
        where.append(SafeguardingCase.status.in_(CLOSED_CASE_STATUSES))
    elif status in CASE_STATUSES:
        where.append(SafeguardingCase.status == status)
    elif status != "all":
        raise ValueError(f"unknown status {status!r}")
    if round_id is not None:
        where.append(SafeguardingCase.round_id == round_id)
    return _views(session, where, limit=limit)


def get_case(session: Session, case_id: int) -> CaseView:
    """Return one case or raise CaseNotFound."""
    found = _views(session, [SafeguardingCase.id == case_id])
    if not found:
        raise CaseNotFound(case_id)
    return found[0]


def _case(session: Session, case_id: int) -> SafeguardingCase:
    case = session.get(SafeguardingCase, case_id, with_for_update=True)
    if case is None:
        raise CaseNotFound(case_id)
    return case


def acknowledge(
    session: Session, case_id: int, user_id: int, *, now: datetime | None = None
) -> SafeguardingCase:
    """Say someone is dealing with the case (stops it being overdue); idempotent."""
    case = _case(session, case_id)
    if case.status == "new":
        case.status = "acknowledged"
        case.acknowledged_by = user_id
        case.acknowledged_at = now or utcnow()
        log.info("safeguarding case acknowledged case=%s user=%s", case.id, user_id)
    return case


def _clean_note(note: str | None) -> str:
    text = (note or "").replace("\r\n", "\n").strip()
    if not text:
        raise InvalidNote("Please write what was done.")
    if len(text) > MAX_NOTE:
        raise InvalidNote(f"Please keep the note under {MAX_NOTE:,} characters.")
    return text


def record_action(
    session: Session,
    case_id: int,
    user_id: int,
    note: str | None,
    *,
    who: str | None = None,
    now: datetime | None = None,
) -> SafeguardingCase:
    """Add a dated note of what was done (acknowledging the case if nobody had)."""
    text = _clean_note(note)
    case = _case(session, case_id)
    if case.status in CLOSED_CASE_STATUSES:
        raise CaseClosed(case_id)
    now = now or utcnow()
    acknowledge(session, case_id, user_id, now=now)
    local = now.astimezone(UK)  # the safeguarding lead reads the clock on the wall
    stamp = f"{local:%Y-%m-%d %H:%M} UK time" + (f" · {who}" if who else "")
    entry = f"{stamp}\n{text}"
    case.action_note = f"{case.action_note}\n\n{entry}" if case.action_note else entry
    log.info("safeguarding action recorded case=%s user=%s", case.id, user_id)
    return case


def close(
    session: Session,
    case_id: int,
    user_id: int,
    note: str | None = None,
    *,
    who: str | None = None,
    now: datetime | None = None,
) -> SafeguardingCase:
    """Close a case; what was done must be on record (given now or earlier)."""
    case = _case(session, case_id)
    if case.status in CLOSED_CASE_STATUSES:
        return case
    now = now or utcnow()
    if note and note.strip():
        record_action(session, case_id, user_id, note, who=who, now=now)
    elif not case.action_note:
        raise InvalidNote("Please record what was done before closing the case.")
    acknowledge(session, case_id, user_id, now=now)
    case.status = "closed"
    case.closed_by = user_id
    case.closed_at = now
    log.info("safeguarding case closed case=%s user=%s", case.id, user_id)
    return case


class HardFlagStays(ValueError):
    """A hard flag (the lexicon's) is never cleared: close the case instead."""


def clear(
    session: Session,
    case_id: int,
    user_id: int,
    note: str | None,
    *,
    who: str | None = None,
    actor: Any = None,
    now: datetime | None = None,
) -> SafeguardingCase:
    """Close a *possible concern* as "no concern": the answer may then be reviewed and quoted.

    For the recall net's false alarms and the "not read automatically" lane (an answer in a
    language the models cannot read, read by a person). The reason is recorded like any
    action, the case keeps its history (status ``cleared``), and the audit log says who.
    A hard flag raises ``HardFlagStays``: the lexicon's flag is never removed.
    """
    case = _case(session, case_id)
    if case.status in CLOSED_CASE_STATUSES:
        raise CaseClosed(case_id)
    if (case.tier or "flag") != "possible":
        raise HardFlagStays("A hard flag stays on the answer: record what was done and close.")
    if not (note and note.strip()):
        raise InvalidNote("Please say why there is no concern before clearing the case.")
    now = now or utcnow()
    record_action(session, case_id, user_id, f"No concern: {note.strip()}", who=who, now=now)
    case.status, case.closed_by, case.closed_at = "cleared", user_id, now
    answer = session.get(Answer, case.answer_id)
    if answer is not None:
        answer.flagged = False
    audit.record(
        session,
        "safeguarding_case_cleared",
        actor=actor,
        round_id=case.round_id,
        target=f"case:{case.id}",
    )
    log.info("safeguarding case cleared (no concern) case=%s user=%s", case.id, user_id)
    return case


def overdue_count(
    session: Session, *, after: timedelta = DEFAULT_OVERDUE_AFTER, now: datetime | None = None
) -> int:
    """Return how many cases nobody has acknowledged for longer than ``after``."""
    cutoff = (now or utcnow()) - after
    return (
        session.scalar(
            select(func.count())
            .select_from(SafeguardingCase)
            .where(SafeguardingCase.status == "new", SafeguardingCase.created_at < cutoff)
        )
        or 0
    )


def open_count(session: Session) -> int:
    """Return how many cases are not closed yet."""
    return (
        session.scalar(
            select(func.count())
            .select_from(SafeguardingCase)
            .where(SafeguardingCase.status.in_(OPEN_CASE_STATUSES))
        )
        or 0
    )


CONTACT_MAX = 200


def leave_contact(session: Session, respondent_id: str, contact: str) -> bool:
    """Attach a way to reach the respondent to their newest safeguarding case.

    Only offered after a flagged answer, and only if they choose to leave one. Returns
    False when they have no case (nothing is stored then). The contact is encrypted at rest
    like the answer text and never logged.
    """
    contact = " ".join((contact or "").split())[:CONTACT_MAX]
    if not contact:
        return False
    case = session.scalar(
        select(SafeguardingCase)
        .join(Answer, Answer.id == SafeguardingCase.answer_id)
        .where(Answer.respondent_id == respondent_id)
        .order_by(SafeguardingCase.created_at.desc(), SafeguardingCase.id.desc())
        .limit(1)
    )
    if case is None:
        return False
    case.contact = contact
    return True
