"""Storage operations over a caller-owned SQLAlchemy session.

Every inbound delivery is applied at most once: its natural key (Telegram ``update_id``,
a web form's submission UUID) is recorded in the same transaction as the state change and
the answer, under a unique constraint. Steps of one conversation are serialised by a row
lock on the respondent (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN
IMMEDIATE`` write lock).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from surveys import engine, ingest, safeguarding
from surveys.catalogue import AUDIENCES, Catalogue
from surveys.models import Answer, ChatLink, Inbound, Priority, Respondent, Round, utcnow

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud and typed by kids


class RoundNotFound(LookupError):
    """No round has this invite code."""


class RoundClosed(Exception):
    """The round is not taking answers (draft, closed, or past its closing date)."""


class RoundInvalid(ValueError):
    """A round's settings are not valid (unknown priority or audience, empty title...)."""


@dataclass(frozen=True)
class Outcome:
    """What applying one inbound delivery did."""

    replies: tuple[engine.Reply, ...]
    duplicate: bool = False
    completed: bool = False
    stored: int = 0
    flagged: bool = False  # an answer in this delivery may disclose harm


def sync_priorities(session: Session, catalogue: Catalogue) -> int:
    """Upsert the priorities table from the banks; return how many there are."""
    existing = {p.key: p for p in session.scalars(select(Priority))}
    for bank in catalogue.banks:
        row = existing.get(bank.key) or Priority(key=bank.key)
        row.title, row.position, row.description = bank.title, bank.order, bank.description
        session.add(row)
    return len(catalogue.banks)


def new_code(length: int = 6) -> str:
    """Return a random invite code that is easy to read aloud and type."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def open_round(
    session: Session,
    catalogue: Catalogue,
    *,
    title: str,
    priorities: Iterable[str],
    audiences: Iterable[str],
    closes_on: date | None = None,
    status: str = "open",
) -> Round:
    """Create a round taking answers now (or a draft) and return it."""
    title = " ".join((title or "").split())
    if not title or len(title) > 200:
        raise RoundInvalid("the title must be 1 to 200 characters")
    prios = list(dict.fromkeys(priorities))
    unknown = [p for p in prios if p not in catalogue.priority_keys]
    if unknown or not prios:
        raise RoundInvalid(
            f"unknown priorities: {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(catalogue.priority_keys)}"
        )
    auds = [a for a in AUDIENCES if a in set(audiences)]
    bad = set(audiences) - set(AUDIENCES)
    if bad or not auds:
        raise RoundInvalid(
            f"unknown audiences: {', '.join(sorted(bad)) or '(none given)'}; "
            f"choose from {', '.join(AUDIENCES)}"
        )
    if closes_on is not None and closes_on < date.today():
        raise RoundInvalid("the closing date is in the past")
    if status not in ("draft", "open"):
        raise RoundInvalid("a new round is either draft or open")
    code = new_code()
    while session.scalar(select(Round.id).where(Round.code == code)) is not None:
        code = new_code()
    rnd = Round(
        code=code,
        title=title,
        status=status,
        closes_on=closes_on,
        priorities=prios,
        audiences=auds,
        opened_at=utcnow() if status == "open" else None,
    )
    session.add(rnd)
    session.flush()
    return rnd


def get_round(session: Session, code: str) -> Round:
    """Return a round by its invite code (case-insensitive) or raise RoundNotFound."""
    code = (code or "").strip().upper()
    if not code or len(code) > 32:
        raise RoundNotFound(code)
    rnd = session.scalar(select(Round).where(Round.code == code))
    if rnd is None:
        raise RoundNotFound(code)
    return rnd


def set_status(session: Session, code: str, status: str) -> Round:
    """Open, close or reopen a round."""
    rnd = get_round(session, code)
    if status not in ("open", "closed"):
        raise RoundInvalid(f"unknown status {status!r}")
    rnd.status = status
    if status == "open":
        rnd.opened_at, rnd.closed_at = utcnow(), None
        if rnd.closes_on is not None and rnd.closes_on < date.today():
            rnd.closes_on = None
    else:
        rnd.closed_at = utcnow()
    return rnd


def list_rounds(session: Session) -> list[Round]:
    """Return every round, newest first."""
    return list(session.scalars(select(Round).order_by(Round.created_at.desc(), Round.id.desc())))


def is_open(rnd: Round, today: date | None = None) -> bool:
    """Return True when a round takes answers today."""
    today = today or date.today()
    return rnd.status == "open" and (rnd.closes_on is None or rnd.closes_on >= today)


def require_open(rnd: Round) -> None:
    """Raise RoundClosed unless the round takes answers today."""
    if not is_open(rnd):
        raise RoundClosed(rnd.code)


@lru_cache(maxsize=256)
def _survey(
    title: str, audiences: tuple[str, ...], priorities: tuple[str, ...], catalogue: Catalogue
) -> engine.Survey:
    return engine.Survey(title, audiences, priorities, catalogue)


def survey_for(rnd: Round, catalogue: Catalogue) -> engine.Survey:
    """Return the engine's view of a round."""
    return _survey(rnd.title, tuple(rnd.audiences), tuple(rnd.priorities), catalogue)


def keyed_hash(secret: str, purpose: str, value: str) -> str:
    """Return HMAC-SHA256(secret, purpose:value) as hex: a stable pseudonym, not reversible."""
    return hmac.new(secret.encode(), f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def token_hash(token: str) -> str:
    """Return the SHA-256 of an opaque random token (a web resume cookie)."""
    return hashlib.sha256(token.encode()).hexdigest()


def withdrawal_code(secret: str, respondent_id: str) -> str:
    """Return the respondent's withdrawal code, derived with a keyed hash (not guessable).

    Eight characters from an alphabet with no 0/O or 1/I/L, so it survives being read
    aloud or copied by hand: 31**8, about 8.5e11 codes.
    """
    digest = hmac.new(
        secret.encode(), f"withdraw:{respondent_id}".encode(), hashlib.sha256
    ).digest()
    number = int.from_bytes(digest[:8], "big")
    chars = []
    for _ in range(8):
        number, rest = divmod(number, len(CODE_ALPHABET))
        chars.append(CODE_ALPHABET[rest])
    return "".join(chars[:4]) + "-" + "".join(chars[4:])


def withdrawal_hash(code: str) -> str:
    """Return the lookup hash of a withdrawal code as a respondent might type it."""
    norm = "".join(ch for ch in code.upper() if ch.isalnum())
    return hashlib.sha256(f"withdraw:{norm}".encode()).hexdigest()


def start_respondent(
    session: Session,
    rnd: Round,
    catalogue: Catalogue,
    *,
    channel: str,
    secret: str,
    resume_key: str | None = None,
    audience: str | None = None,
) -> tuple[Respondent, engine.StepResult]:
    """Create a respondent in an open round and return it with the opening replies."""
    require_open(rnd)
    survey = survey_for(rnd, catalogue)
    if audience is not None and audience not in rnd.audiences:
        audience = None
    result = engine.begin(survey, audience=audience)
    rid = secrets.token_hex(16)
    resp = Respondent(
        id=rid,
        round_id=rnd.id,
        channel=channel,
        resume_key=resume_key,
        audience=result.state.audience,
        withdraw_hash=withdrawal_hash(withdrawal_code(secret, rid)),
        state=result.state.to_dict(),
        state_version=result.state.version,
    )
    session.add(resp)
    session.flush()
    return resp, result


def find_respondent(
    session: Session, rnd: Round, channel: str, resume_key: str
) -> Respondent | None:
    """Return the respondent this channel key already has in a round, if any."""
    return session.scalar(
        select(Respondent).where(
            Respondent.round_id == rnd.id,
            Respondent.channel == channel,
            Respondent.resume_key == resume_key,
        )
    )


def link_chat(session: Session, channel: str, chat_key: str, respondent_id: str) -> None:
    """Point a chat at the respondent it is now talking as."""
    link = session.get(ChatLink, (channel, chat_key))
    if link is None:
        session.add(ChatLink(channel=channel, chat_key=chat_key, respondent_id=respondent_id))
    else:
        link.respondent_id, link.updated_at = respondent_id, utcnow()


def linked_respondent(session: Session, channel: str, chat_key: str) -> Respondent | None:
    """Return the respondent a chat is talking as, if any."""
    link = session.get(ChatLink, (channel, chat_key))
    return session.get(Respondent, link.respondent_id) if link else None


def seen(session: Session, key: str) -> bool:
    """Return True when a delivery with this key was already applied."""
    return session.get(Inbound, key) is not None


def current_replies(
    rnd: Round, resp: Respondent, catalogue: Catalogue, secret: str
) -> tuple[engine.Reply, ...]:
    """Return what the respondent should see now (after a duplicate, a resume, a page load)."""
    state = engine.State.from_dict(resp.state)
    code = withdrawal_code(secret, resp.id) if state.stage == "done" else ""
    return engine.render(survey_for(rnd, catalogue), state, withdrawal_code=code)


def apply_inbound(
    session: Session,
    respondent_id: str,
    inbound: engine.Inbound,
    *,
    key: str,
    catalogue: Catalogue,
    secret: str,
    service_phone: str | None = None,
) -> Outcome:
    """Apply one delivery to a conversation exactly once and return what to reply.

    Each new answer is analysed (redacted, scored, safeguarding-checked) in the same
    transaction; a flagged one opens a safeguarding case and the respondent is shown where
    to get help in the same turn. Raises RoundClosed when the round no longer takes
    answers, LookupError when the respondent is gone (withdrawn). The caller commits; only
    then may it acknowledge.
    """
    resp = session.get(Respondent, respondent_id, with_for_update=True, populate_existing=True)
    if resp is None:
        raise LookupError(respondent_id)
    rnd = resp.round
    if seen(session, key):
        return Outcome(current_replies(rnd, resp, catalogue, secret), duplicate=True)
    require_open(rnd)
    state = engine.State.from_dict(resp.state)
    survey = survey_for(rnd, catalogue)
    result = engine.step(survey, state, inbound, withdrawal_code=withdrawal_code(secret, resp.id))
    flagged = False
    try:
        with session.begin_nested():
            session.add(Inbound(key=key, respondent_id=resp.id))
            # Only a question answered before (changed after "back") has a row to supersede.
            superseded = [e.question_id for e in result.answers if e.question_id in state.answers]
            superseded += result.retracted
            if superseded:
                session.execute(
                    update(Answer)
                    .where(
                        Answer.respondent_id == resp.id,
                        Answer.question_id.in_(superseded),
                        Answer.superseded.is_(False),
                    )
                    .values(superseded=True)
                )
            for i, ev in enumerate(result.answers):
                answer = Answer(
                    round_id=rnd.id,
                    respondent_id=resp.id,
                    priority=ev.priority,
                    question_id=ev.question_id,
                    audience=result.state.audience or "child",
                    channel=resp.channel,
                    text=ev.text,
                    choice=ev.choice,
                    inbound_key=key if i == 0 else f"{key}#{i}",
                )
                analysis = ingest.analyse(ev.text, choice=ev.choice)
                ingest.enrich(answer, analysis)
                session.add(answer)
                if analysis.flagged:
                    safeguarding.open_cases(session, [(answer, analysis.flag_categories)])
                    flagged = True
            if result.state != state:
                resp.state = result.state.to_dict()
                resp.state_version = result.state.version
                resp.audience = result.state.audience
                resp.updated_at = utcnow()
            if result.completed and resp.completed_at is None:
                resp.completed_at = utcnow()
    except IntegrityError:
        # A concurrent delivery of the same key won the race; it was applied once, there.
        session.expire(resp)
        return Outcome(current_replies(rnd, resp, catalogue, secret), duplicate=True)
    replies = result.replies
    if flagged:
        # Where to get help, in the same turn, before whatever comes next.
        text = survey.texts.get("disclosure", result.state.audience)
        if service_phone:  # the service's own number, from settings (SERVICE_PHONE)
            text += "\n" + survey.texts.get(
                "service_help", result.state.audience, phone=service_phone
            )
        help_now = engine.Reply("info", text, stage="disclosure")
        replies = (help_now, *replies)
    return Outcome(replies, completed=result.completed, stored=len(result.answers), flagged=flagged)


def live_answers(session: Session, rnd: Round) -> Iterator[Answer]:
    """Yield the round's current answers (not superseded), oldest first."""
    stmt = (
        select(Answer)
        .where(Answer.round_id == rnd.id, Answer.superseded.is_(False))
        .order_by(Answer.created_at, Answer.id)
        .execution_options(yield_per=1000)
    )
    yield from session.scalars(stmt)
