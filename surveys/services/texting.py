"""Text messages: the suppression list, the per-number cap, quiet hours and invitations.

A phone number is known by its keyed hash (``SmsNumber``); the number itself lives only in
memory while a text is decided and sent (``surveys.notify.sms.deliver`` sends, or keeps a
text that must wait with its number encrypted). Log lines carry ids and counts, never a
number or a text.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from surveys.config import SmsSettings
from surveys.core import phones
from surveys.core.vocabulary import SMS
from surveys.services import audit, conversation
from surveys.storage import store
from surveys.storage.models import SmsNumber, utcnow

log = logging.getLogger("yjvoice.sms")
LONDON = ZoneInfo("Europe/London")
REPLY, INVITE, REMINDER = "reply", "invite", "reminder"
#: At most this many numbers in one invitation batch.
MAX_INVITES = 500


@dataclass(frozen=True)
class Outgoing:
    """One text to send: the number (memory only), its keyed hash, the words."""

    number: str
    number_hash: str
    body: str
    kind: str = REPLY
    round_id: int | None = None


def number_hash(secret: str, number: str) -> str:
    """Return the keyed hash a number is stored as (the same as its chat key)."""
    return store.keyed_hash(secret, "sms", number)


# ------------------------------------------------------------------------- numbers


@dataclass
class Number:
    """A number's row as plain data: change the fields, then ``save_number`` writes them."""

    number_hash: str
    opted_out_at: datetime | None
    seen_at: datetime | None
    misses: int
    miss_question: str | None
    window_start: datetime | None
    window_count: int
    _saved: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def changes(self) -> dict[str, Any]:
        """Return the fields changed since the row was read."""
        return {k: getattr(self, k) for k, v in self._saved.items() if getattr(self, k) != v}


_FIELDS = ("opted_out_at", "seen_at", "misses", "miss_question", "window_start", "window_count")
_TABLE = SmsNumber.__table__


def _upsert(dialect: str) -> Any:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(_TABLE).values(number_hash=bindparam("key"), misses=0, window_count=0)
    # The no-op update takes the row's lock when it exists; RETURNING gives it either way.
    return stmt.on_conflict_do_update(
        index_elements=["number_hash"], set_={"number_hash": stmt.excluded.number_hash}
    ).returning(*(_TABLE.c[f] for f in _FIELDS))


_UPSERT = {"postgresql": _upsert("postgresql"), "sqlite": _upsert("sqlite")}
_UTC_FIELDS = ("opted_out_at", "seen_at", "window_start")


def number_row(session: Session, key: str) -> Number:
    """Return a number's row, created if new and locked for the rest of the transaction.

    One statement (``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``). Every delivery from
    one number takes this lock first, so texts from one phone are applied one at a time, in
    a fixed lock order (number, then respondent).
    """
    conn = session.connection()  # Core, not the ORM: the hot path of every received text
    row = conn.execute(_UPSERT[conn.dialect.name], {"key": key}).one()
    values = dict(zip(_FIELDS, row, strict=True))
    for name in _UTC_FIELDS:  # SQLite keeps no zone
        if values[name] is not None and values[name].tzinfo is None:
            values[name] = values[name].replace(tzinfo=UTC)
    return Number(key, **values, _saved=dict(values))


def save_number(session: Session, number: Number) -> None:
    """Write what changed in a number's row (one UPDATE, none when nothing changed)."""
    changes = number.changes()
    if changes:
        values = {name: getattr(number, name) for name in _FIELDS}
        session.connection().execute(_SAVE, {"_key": number.number_hash, **values})
        number._saved.update(changes)


# One prebuilt statement writing every field (compiled once, cached by the engine).
_SAVE = (
    update(_TABLE)
    .where(_TABLE.c.number_hash == bindparam("_key"))
    .values({name: bindparam(name) for name in _FIELDS})
)


def is_suppressed(session: Session, key: str) -> bool:
    """Return True when a number opted out (texted STOP) and has not texted START since."""
    found = session.scalar(select(SmsNumber.opted_out_at).where(SmsNumber.number_hash == key))
    return found is not None


def take_quota(row: Number, wanted: int, cap: int, now: datetime | None = None) -> int:
    """Count ``wanted`` texts to a number against its hourly cap; return how many may go."""
    now = now or utcnow()
    if row.window_start is None or now - row.window_start >= timedelta(hours=1):
        row.window_start, row.window_count = now, 0
    allowed = max(0, min(wanted, cap - row.window_count))
    row.window_count += allowed
    if allowed < wanted:
        log.warning("sms: hourly cap reached, %d text(s) not sent", wanted - allowed)
    return allowed


# ------------------------------------------------------------------------- quiet hours


def quiet_until(settings: SmsSettings, now: datetime | None = None) -> datetime | None:
    """Return when quiet hours end, if ``now`` is inside them (Europe/London), else None."""
    local = (now or utcnow()).astimezone(LONDON)
    minute = local.hour * 60 + local.minute
    start, end = settings.quiet_start, settings.quiet_end
    inside = (start <= minute or minute < end) if start > end else (start <= minute < end)
    if start == end or not inside:
        return None
    day = local.date() if minute < end else local.date() + timedelta(days=1)
    wake = datetime(day.year, day.month, day.day, end // 60, end % 60, tzinfo=LONDON)
    return wake.astimezone(UTC)


# ------------------------------------------------------------------------- invitations


class InviteError(ValueError):
    """Invitations cannot be sent as asked (no such round, closed, wrong audience...)."""


@dataclass
class Invitations:
    """The texts to send after the commit, and what was left out (counts and positions)."""

    texts: list[Outgoing] = field(default_factory=list)
    invalid: list[int] = field(default_factory=list)  # 1-based positions of unreadable numbers
    duplicates: int = 0
    suppressed: int = 0
    capped: int = 0


def invite(
    session: Session,
    ctx: conversation.Context,
    settings: SmsSettings,
    *,
    code: str,
    audience: str,
    numbers: Iterable[str],
    actor: object = None,
    lang: str | None = None,
) -> Invitations:
    """Start an SMS conversation for each number and return the invitations to send.

    Each number is normalised to E.164 and then kept only as its keyed hash: the
    conversation (at the consent question, audience fixed) is found by it when the person
    replies YES. A number on the suppression list is skipped. The invitation never names
    the topic or the service (phones are shared). The caller commits, then ``deliver``s.
    """
    try:
        rnd = store.get_round(session, code)
        store.require_open(rnd)
    except store.RoundNotFound:
        raise InviteError(f"no round has the code {code!r}") from None
    except store.RoundClosed:
        raise InviteError(f"round {rnd.code} is not taking answers") from None
    if audience not in rnd.audiences:
        raise InviteError(f"round {rnd.code} does not ask {audience!r}")
    raw = list(numbers)
    if len(raw) > MAX_INVITES:
        raise InviteError(f"at most {MAX_INVITES} numbers at once")
    result = Invitations()
    seen: set[str] = set()
    minutes = max(2, round(len(ctx.catalogue.questions_for(rnd.priorities, audience)) / 3))
    offered = tuple(rnd.languages or ("en",))
    lang = lang if lang in offered else offered[0]
    body = ctx.texts.get("sms_invite", audience, lang, minutes=minutes)
    for position, item in enumerate(raw, start=1):
        e164 = phones.to_e164(item)
        if e164 is None:
            result.invalid.append(position)
            continue
        if e164 in seen:
            result.duplicates += 1
            continue
        seen.add(e164)
        key = number_hash(ctx.secret, e164)
        row = number_row(session, key)
        if row.opted_out_at is not None:
            result.suppressed += 1
            continue
        allowed = take_quota(row, 1, settings.hourly_cap)
        save_number(session, row)
        if allowed < 1:
            result.capped += 1
            continue
        resp = store.find_respondent(session, rnd, SMS, key)
        if resp is None:
            resp, _ = conversation.start(
                session, rnd, ctx, channel=SMS, resume_key=key, audience=audience, lang=lang
            )
        store.link_chat(session, SMS, key, resp.id)
        result.texts.append(Outgoing(e164, key, body, INVITE, rnd.id))
    audit.record(
        session,
        "sms_invite",
        actor=actor,
        round_id=rnd.id,
        details={
            "audience": audience,
            "invited": len(result.texts),
            "invalid": len(result.invalid),
            "suppressed": result.suppressed,
        },
    )
    log.info("sms: %d invitation(s) for round %s", len(result.texts), rnd.id)
    return result
