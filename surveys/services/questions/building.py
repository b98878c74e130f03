"""Build the catalogue a service asks from: the packaged banks plus its own questions.

``catalogue(session, base)`` returns ``base`` (the packaged banks, or ``YJVOICE_BANKS_DIR``)
with the service's questions joined in, as that session sees the database: questions under
a national priority follow its own; a local priority or consultation is a bank of its own,
placed after the national priorities and before ``general``. Earlier versions of edited
questions are kept as the catalogue's ``retired`` questions, so every answer still finds the
wording it answered.

Building is cheap but not free (every question is validated again), so each process keeps
the last catalogue it built with the ``catalogue_stamp`` it was built at, and compares one
short string per use: ``Catalogues`` does that for a process (one read per web request, by
``pin``), on a connection that never takes SQLite's write lock.

A stored question that no longer fits (``YJVOICE_BANKS_DIR`` now lacks the priority it was
written under, say) is left out with a problem the builder shows, never a broken catalogue.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from contextvars import ContextVar, Token
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from surveys.core.catalogue import (
    Bank,
    BankError,
    Catalogue,
    Question,
    bank_from_mapping,
    merge,
    question_from_mapping,
)
from surveys.storage.models import CatalogueStamp, LocalBank, LocalQuestion

log = logging.getLogger(__name__)

LIVE, RETIRED = "live", "retired"
#: Set on a session that changed local questions: its catalogue is built afresh, never
#: cached (the change may yet be rolled back).
CHANGED = "yjv_questions_changed"
#: How many broken stored questions are left out before giving up on local questions.
MAX_DROPPED = 50


@dataclass(frozen=True)
class Built:
    """A catalogue and what of the stored questions could not join it, and why."""

    catalogue: Catalogue
    problems: tuple[str, ...] = ()


def source_name(key: str, base: Catalogue) -> str:
    """Return how messages name the questions a service keeps under a priority."""
    if key in base.keys:
        return f"this service's questions under {key!r}"
    return f"local priority {key!r}"


def spec_with_id(row: LocalQuestion, live_ids: Mapping[str, str]) -> dict[str, Any]:
    """Return a stored question as a bank file holds it, its follow-up pointing at the id
    asked now of the question it follows."""
    raw: dict[str, Any] = {"id": row.qid, **row.spec}
    cond = raw.get("show_if")
    if isinstance(cond, dict) and isinstance(cond.get("question"), str):
        raw["show_if"] = {**cond, "question": live_ids.get(cond["question"], cond["question"])}
    return raw


def local_orders(base: Catalogue, banks: Sequence[LocalBank]) -> dict[str, int]:
    """Return each local bank's plan order: after the national priorities, before general."""
    taken = {b.order for b in base.banks}
    order = max((b.order for b in base.banks if b.key != "general"), default=0) + 1
    out = {}
    for bank in sorted(banks, key=lambda b: b.id):
        while order in taken:
            order += 1
        out[bank.key] = order
        taken.add(order)
    return out


def position_key(row: LocalQuestion) -> tuple[int, int]:
    """Sort questions as they are asked (a version not saved yet after the saved ones)."""
    return (row.position, row.id if row.id is not None else 1 << 62)


def build(
    base: Catalogue,
    banks: Sequence[LocalBank],
    rows: Sequence[LocalQuestion],
    *,
    strict: bool = False,
) -> Built:
    """Return ``base`` with the stored questions joined in.

    ``strict`` raises the first BankError instead of leaving the question out (a change
    being checked before it is saved must fit whole).
    """
    live = sorted((r for r in rows if r.status == LIVE), key=position_key)
    live_ids = {r.name: r.qid for r in live}
    problems: list[str] = []

    def fail(exc: BankError) -> None:
        if strict:
            raise exc
        problems.append(str(exc))

    parsed: dict[str, Question] = {}
    for r in rows:
        try:
            parsed[r.qid] = question_from_mapping(
                spec_with_id(r, live_ids), source_name(r.priority, base), r.priority
            )
        except BankError as exc:
            fail(exc)
    local: dict[str, Bank] = {}
    orders = local_orders(base, banks)
    for bank in banks:
        if bank.key in base.keys:  # the banks folder has since gained a bank of that key
            fail(BankError(source_name(bank.key, base), None, "the key is a packaged bank's"))
            continue
        mine = [r for r in live if r.priority == bank.key and r.qid in parsed]
        if mine:  # a priority joins the catalogue with its first question
            try:
                local[bank.key] = _local_bank(base, bank, orders[bank.key], mine, live_ids)
            except BankError as exc:
                fail(exc)
    known = set(base.keys) | {b.key for b in banks}
    for key in sorted({r.priority for r in live} - known):
        fail(BankError(source_name(key, base), None, "there is no such priority"))
    retired = [parsed[r.qid] for r in rows if r.status == RETIRED and r.qid in parsed]
    current_ids = {
        r.qid: live_ids[r.name] for r in rows if r.status == RETIRED and r.name in live_ids
    }
    dropped: set[str] = set()
    stored = set(parsed)
    for _ in range(MAX_DROPPED):
        additions = {
            key: [parsed[r.qid] for r in live if r.priority == key and r.qid in stored - dropped]
            for key in base.keys
        }
        new_banks = [
            replace(b, questions=kept)
            for b in local.values()
            if (kept := tuple(q for q in b.questions if q.id not in dropped))
        ]
        try:
            kept_retired = [q for q in retired if q.id not in dropped]
            catalogue = merge(base, new_banks, additions, kept_retired, current_ids)
            return Built(catalogue, tuple(problems))
        except BankError as exc:
            fail(exc)
            if exc.question not in stored or exc.question in dropped:
                break
            dropped.add(exc.question)
    log.error("local questions left out of the catalogue: %d problems", len(problems))
    return Built(base, tuple(problems))


def _local_bank(
    base: Catalogue,
    bank: LocalBank,
    order: int,
    rows: Sequence[LocalQuestion],
    live_ids: Mapping[str, str],
) -> Bank:
    """Return a local priority as a bank, checked as a bank file is."""
    title: Any = {"en": bank.title, **({"cy": bank.title_cy} if bank.title_cy else {})}
    raw = {
        "key": bank.key,
        "title": title,
        "order": order,
        "description": bank.purpose,
        "questions": [spec_with_id(r, live_ids) for r in rows],
    }
    return bank_from_mapping(raw, source_name(bank.key, base))


def load_rows(session: Session) -> tuple[list[LocalBank], list[LocalQuestion]]:
    """Return every local bank and every stored question version."""
    banks = list(session.scalars(select(LocalBank).order_by(LocalBank.id)))
    rows = list(session.scalars(select(LocalQuestion).order_by(LocalQuestion.id)))
    return banks, rows


def stamp(session: Session) -> str:
    """Return the stamp of the last committed change to local questions ("" before any)."""
    # Read on every received text and page: a statement built once, run as plain SQL (the
    # ORM's select costs twice as much CPU as the query itself).
    found = session.connection().execute(_STAMP).scalar()
    return found or ""


_STAMP = select(CatalogueStamp.__table__.c.stamp).where(CatalogueStamp.__table__.c.id == 1)


# The last catalogue built per database and base catalogue: (stamp, built), swapped whole.
_cache: dict[tuple[str, int], tuple[str, Built]] = {}
_cache_lock = threading.Lock()


def built(session: Session, base: Catalogue) -> Built:
    """Return the catalogue as this session sees it, with the stored questions left out."""
    changed = bool(session.info.get(CHANGED))
    current = None if changed else stamp(session)
    where = (str(session.get_bind().engine.url), id(base))  # bound to an engine or a connection
    if current is not None:
        hit = _cache.get(where)
        if hit is not None and hit[0] == current:
            return hit[1]
    result = build(base, *load_rows(session))
    if result.problems:
        log.warning("local questions: %d left out of the catalogue", len(result.problems))
    if current is not None:
        with _cache_lock:
            _cache[where] = (current, result)
    return result


def catalogue(session: Session, base: Catalogue) -> Catalogue:
    """Return ``base`` plus the service's own questions, as this session sees them."""
    return built(session, base).catalogue


class Catalogues:
    """A process's catalogue: checked against the database's stamp on every use.

    ``reader`` opens a short session that takes no write lock (SQLite: no ``BEGIN
    IMMEDIATE``), so a check never waits behind the caller's own transaction. A web
    request ``pin``s the catalogue once, at its start, and every use in the request sees
    the same one.
    """

    def __init__(
        self, base: Catalogue, reader: Callable[[], AbstractContextManager[Session]]
    ) -> None:
        self.base = base
        self._reader = reader
        # A pin is a one-slot list: empty until the pinned request first needs the catalogue.
        self._pinned: ContextVar[list[Catalogue] | None] = ContextVar("yjv_catalogue", default=None)

    def current(self, session: Session | None = None) -> Catalogue:
        """Return the pinned catalogue, else check the stamp and return the newest.

        A caller already in a transaction (a received text) passes its ``session``: the
        stamp is then read on that transaction's connection, not on a second one checked
        out of the pool for it.
        """
        pinned = self._pinned.get()
        if pinned:
            return pinned[0]
        found = self.read() if session is None else catalogue(session, self.base)
        if pinned is not None:
            pinned.append(found)
        return found

    def read(self) -> Catalogue:
        """Return the newest catalogue (the banks alone before the schema exists)."""
        with self._reader() as session:
            try:
                return catalogue(session, self.base)
            except DBAPIError:
                session.rollback()
                if inspect(session.get_bind()).has_table(CatalogueStamp.__tablename__):
                    raise
                return self.base  # not migrated yet: `yjvoice init` has not run

    def pin(self) -> Token[list[Catalogue] | None]:
        """Use one catalogue until ``unpin`` (a web request's).

        It is read when first needed, not here: a page that needs no questions (``/``,
        sign-in, ``/healthz``) must not wait on the database (issue 14: a frozen database).
        """
        return self._pinned.set([])

    def unpin(self, token: Token[list[Catalogue] | None]) -> None:
        """Stop using the pinned catalogue."""
        self._pinned.reset(token)

    def problems(self) -> tuple[str, ...]:
        """Return why stored questions were left out of the catalogue, if any were."""
        with self._reader() as session:
            return built(session, self.base).problems
