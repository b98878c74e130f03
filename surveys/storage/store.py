"""Repository functions over a caller-owned SQLAlchemy session: rounds, respondents, the
delivery log and answer rows.

The conversation service (``surveys.services.conversation``) builds "exactly once" from
these: a delivery's natural key is claimed (``claim``) in the same transaction as the state
change and the answer, under a unique constraint. Steps of one conversation are serialised
by a row lock on the respondent (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN
IMMEDIATE`` write lock). Pseudonyms are keyed hashes (``keyed_hash``, ``token_hash``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Insert, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, contains_eager
from sqlalchemy.orm.attributes import set_committed_value

from surveys.core.catalogue import Catalogue
from surveys.core.vocabulary import AUDIENCES, ENGLISH, LANGUAGE_NAMES, LANGUAGES
from surveys.storage.models import Answer, ChatLink, Inbound, Priority, Respondent, Round, utcnow

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud and typed by kids


class RoundNotFound(LookupError):
    """No round has this invite code."""


class RoundClosed(Exception):
    """The round is not taking answers (draft, closed, or past its closing date)."""


class RoundInvalid(ValueError):
    """A round's settings are not valid (unknown priority or audience, empty title...)."""


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
    languages: Iterable[str] = (ENGLISH,),
    rolling: bool = False,
) -> Round:
    """Create a round taking answers now (or a draft) and return it.

    ``languages`` are the languages it is offered in, in the order the service shows them
    (``("cy", "en")``: Welsh first); every question asked must have wording in each.
    ``rolling``: open all year with no closing date (end-of-intervention feedback); its
    results are read by month.
    """
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
    langs = check_languages(catalogue, languages, prios, auds)
    if rolling and closes_on is not None:
        raise RoundInvalid("a rolling round has no closing date: leave the date out")
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
        languages=langs,
        opened_at=utcnow() if status == "open" else None,
        rolling=bool(rolling),
    )
    session.add(rnd)
    session.flush()
    return rnd


def check_languages(
    catalogue: Catalogue, languages: Iterable[str], priorities: list[str], audiences: list[str]
) -> list[str]:
    """Return a round's languages in order, or raise RoundInvalid naming what is missing."""
    langs = list(dict.fromkeys(lang.strip().lower() for lang in languages if lang.strip()))
    bad = [lang for lang in langs if lang not in LANGUAGES]
    if bad or not langs:
        raise RoundInvalid(
            f"unknown languages: {', '.join(bad) or '(none given)'}; "
            f"choose from {', '.join(LANGUAGES)}"
        )
    for lang in langs:
        missing = catalogue.missing(lang, priorities, audiences)
        if missing:
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            raise RoundInvalid(
                f"the questions have no {LANGUAGE_NAMES[lang]} ({lang}) wording for: "
                + "; ".join(missing[:5])
                + more
            )
    return langs


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


def unfinished_count(session: Session, rnd: Round) -> int:
    """Return how many people started a round and have not finished it."""
    stmt = select(func.count()).where(
        Respondent.round_id == rnd.id, Respondent.completed_at.is_(None)
    )
    return int(session.scalar(stmt) or 0)


def is_open(rnd: Round, today: date | None = None) -> bool:
    """Return True when a round takes answers today."""
    today = today or date.today()
    return rnd.status == "open" and (rnd.closes_on is None or rnd.closes_on >= today)


def require_open(rnd: Round) -> None:
    """Raise RoundClosed unless the round takes answers today."""
    if not is_open(rnd):
        raise RoundClosed(rnd.code)


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


def add_respondent(
    session: Session,
    rnd: Round,
    *,
    channel: str,
    secret: str,
    audience: str | None,
    state: dict[str, Any],
    state_version: int = 0,
    resume_key: str | None = None,
    completed_at: datetime | None = None,
    language: str = ENGLISH,
) -> Respondent:
    """Add a new respondent to a round and return it (pending: the caller flushes).

    Its id is random; of its withdrawal code only a hash is kept (``withdrawal_code`` derives
    the code again when the person is to be told it). ``completed_at``: a respondent added
    already complete (an import), created, updated and completed at that moment.
    """
    rid = secrets.token_hex(16)
    resp = Respondent(
        id=rid,
        round_id=rnd.id,
        channel=channel,
        resume_key=resume_key,
        audience=audience,
        language=language,
        withdraw_hash=withdrawal_hash(withdrawal_code(secret, rid)),
        state=state,
        state_version=state_version,
    )
    if completed_at is not None:
        resp.created_at = resp.updated_at = resp.completed_at = completed_at
    session.add(resp)
    return resp


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


def find_respondents(
    session: Session, rnd: Round, channel: str, resume_keys: Iterable[str]
) -> dict[str, Respondent]:
    """Return the respondents these channel keys already have in a round, by key."""
    found: dict[str, Respondent] = {}
    for chunk in _chunks(list(dict.fromkeys(resume_keys))):
        for resp in session.scalars(
            select(Respondent).where(
                Respondent.round_id == rnd.id,
                Respondent.channel == channel,
                Respondent.resume_key.in_(chunk),
            )
        ):
            found[resp.resume_key or ""] = resp
    return found


def _chunks(items: Sequence[Any], size: int = 900) -> Iterator[Sequence[Any]]:
    # Under SQLite's limit of bound parameters in one statement.
    for start in range(0, len(items), size):
        yield items[start : start + size]


def respondent_by_key(
    session: Session, code: str, channel: str, resume_key: str, *, lock: bool = False
) -> Respondent | None:
    """Return the respondent a channel key has in the round with this invite code, if any.

    One query for both rows (the round comes loaded with it). With ``lock``, the
    respondent's row is locked for the rest of the transaction (``FOR UPDATE OF``: the
    round's row is not locked, so other conversations of the round go on).
    """
    code = (code or "").strip().upper()
    if not code or len(code) > 32:
        return None
    params = {"code": code, "channel": channel, "resume_key": resume_key}
    return session.scalar(_BY_KEY_LOCKED if lock else _BY_KEY, params)


_BY_KEY = (
    select(Respondent)
    .join(Respondent.round)
    .options(contains_eager(Respondent.round))
    .where(
        Round.code == bindparam("code"),
        Respondent.channel == bindparam("channel"),
        Respondent.resume_key == bindparam("resume_key"),
    )
)
_BY_KEY_LOCKED = _BY_KEY.with_for_update(of=Respondent).execution_options(populate_existing=True)


def touch_respondent(session: Session, resp: Respondent) -> None:
    """Record that the person is still there (they said "carry on" after a while away)."""
    update_respondent(session, resp, {"updated_at": utcnow()})


def link_chat(session: Session, channel: str, chat_key: str, respondent_id: str) -> None:
    """Point a chat at the respondent it is now talking as."""
    link = session.get(ChatLink, (channel, chat_key))
    if link is None:
        session.add(ChatLink(channel=channel, chat_key=chat_key, respondent_id=respondent_id))
    else:
        link.respondent_id, link.updated_at = respondent_id, utcnow()


def linked_respondent(session: Session, channel: str, chat_key: str) -> Respondent | None:
    """Return the respondent a chat is talking as, with its round, if any (one query).

    The respondent's row is locked for the rest of the transaction: the caller is about to
    apply a delivery to the conversation.
    """
    return session.scalar(_LINKED, {"channel": channel, "chat_key": chat_key})


_LINKED = (
    select(Respondent)
    .join(ChatLink, ChatLink.respondent_id == Respondent.id)
    .join(Respondent.round)
    .options(contains_eager(Respondent.round))
    .where(ChatLink.channel == bindparam("channel"), ChatLink.chat_key == bindparam("chat_key"))
    .with_for_update(of=Respondent)
    .execution_options(populate_existing=True)
)


def seen(session: Session, key: str) -> bool:
    """Return True when a delivery with this key was already applied."""
    return session.get(Inbound, key) is not None


def _claim_statement(insert: Callable[..., Any]) -> Insert:
    table = Inbound.__table__
    return insert(table).on_conflict_do_nothing(index_elements=["key"]).returning(table.c.key)


_CLAIM = {
    "postgresql": _claim_statement(postgresql.insert),
    "sqlite": _claim_statement(sqlite.insert),
}


def claim(session: Session, key: str, respondent_id: str | None) -> bool:
    """Record a delivery's key; return False when it was recorded before (a duplicate).

    One statement (``INSERT ... ON CONFLICT DO NOTHING RETURNING``): a key that another
    transaction is inserting right now waits for it, then counts as a duplicate if that
    transaction committed. Rolling back the caller's transaction gives the key up again.
    """
    conn = session.connection()  # plain SQL: the hot path of every delivery on every channel
    row = {"key": key, "respondent_id": respondent_id, "created_at": utcnow()}
    return conn.execute(_CLAIM[conn.dialect.name], row).first() is not None


_INSERT_ANSWER = insert(Answer.__table__).returning(Answer.__table__.c.id)
_UPDATE_RESPONDENT = update(Respondent.__table__).where(
    Respondent.__table__.c.id == bindparam("_rid")
)


def insert_answer(session: Session, **row: Any) -> int:
    """Insert one answer row and return its id.

    The hot path of every channel, so a plain INSERT rather than the ORM's unit of work
    (which costs more than the SQL itself for one row).
    """
    row.setdefault("created_at", utcnow())
    return int(session.connection().execute(_INSERT_ANSWER, row).scalar_one())


def update_respondent(session: Session, resp: Respondent, changes: dict[str, Any]) -> None:
    """Write changed columns of a respondent with one UPDATE; the object says the same after."""
    session.connection().execute(_UPDATE_RESPONDENT, {"_rid": resp.id, **changes})
    for name, value in changes.items():
        set_committed_value(resp, name, value)


def insert_answers(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert many answer rows (all with the same columns) in one executemany.

    For bulk imports: ORM objects with RETURNING cost seconds per 10,000 rows in query
    building alone. The rows' respondents must be flushed first.
    """
    if rows:
        session.execute(insert(Answer.__table__), list(rows))


def delivery_keys(session: Session, rnd: Round, channel: str) -> set[str]:
    """Return the delivery keys of a round's answers that came through one channel."""
    # Keys hold the round id, so only this round's can match: one scan of them beats
    # thousands of key lookups (which PostgreSQL may plan as scans too).
    return set(
        session.scalars(
            select(Answer.inbound_key).where(Answer.round_id == rnd.id, Answer.channel == channel)
        )
    )


def answers_by_delivery(session: Session, keys: Iterable[str]) -> list[Answer]:
    """Return the answers stored under these delivery keys, in the order they were stored."""
    found: list[Answer] = []
    for chunk in _chunks(list(keys)):
        found += session.scalars(select(Answer).where(Answer.inbound_key.in_(chunk)))
    return sorted(found, key=lambda a: a.id)


def supersede_answers(session: Session, replaced: Iterable[tuple[str, str]]) -> int:
    """Mark the live answers of these (respondent id, question id) pairs superseded (both
    answers are kept, the later one counts); return how many were."""
    wanted = set(replaced)
    if not wanted:
        return 0
    live = session.execute(
        select(Answer.id, Answer.respondent_id, Answer.question_id).where(
            Answer.respondent_id.in_(list({rid for rid, _ in wanted})),
            Answer.superseded.is_(False),
        )
    ).all()
    stale = [aid for aid, rid, qid in live if (rid, qid) in wanted]
    for chunk in _chunks(stale):
        session.execute(update(Answer).where(Answer.id.in_(chunk)).values(superseded=True))
    return len(stale)


def live_answers(session: Session, rnd: Round) -> Iterator[Answer]:
    """Yield the round's current answers (not superseded), oldest first."""
    stmt = (
        select(Answer)
        .where(Answer.round_id == rnd.id, Answer.superseded.is_(False))
        .order_by(Answer.created_at, Answer.id)
        .execution_options(yield_per=1000)
    )
    yield from session.scalars(stmt)
