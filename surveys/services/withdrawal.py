"""Withdrawal: a respondent takes their answers back with the code from the thank-you page.

``withdraw(session, code)`` deletes everything held for that respondent: their answers
(current and superseded), the proposals they wrote, their chat links, the inbound log and
the respondent row itself, in the caller's transaction. Exports are built from the
database when they are generated, so an export not yet published no longer contains them.
An audit event ``withdrawal`` records counts only: never the code, its hash or any text.

A wrong code, a malformed one, a code already used (the respondent is gone) and an expired
one (the round's data was deleted) all give the same answer, ``WithdrawalResult(found=
False)``, after the same work: one indexed lookup of the code's hash. A malformed code is
hashed and looked up like any other, so its timing does not stand out either.

Safeguarding. A young person who told us something that means they or someone else may
not be safe cannot withdraw that disclosure before it has been dealt with: under *Working
Together to Safeguard Children* the service must act on it, and UK GDPR Article 17(3)
(b) and (e) take such processing out of the right to erasure. So an answer with an *open*
safeguarding case (new or acknowledged) is kept, with its case, until the safeguarding
lead closes the case; everything else is deleted now. The respondent row then stays only
as the anchor of that answer, stripped of every way back to the person: no resume key, no
chat link, a withdrawal hash no code can match, and an empty conversation state. An
answer whose case is already closed is deleted like any other (the service records what
it did in its own case records, not here). The privacy wording on the withdrawal pages
says this in plain words.

``delete_chat(session, chat_key)`` is Telegram's ``/delete``: the same deletion for every
respondent a chat has been, in every round, plus the chat's links.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session

from surveys.core.vocabulary import OPEN_CASE_STATUSES
from surveys.services import audit
from surveys.storage import store
from surveys.storage.db import rows_changed
from surveys.storage.models import (
    Answer,
    ChatLink,
    Inbound,
    Proposal,
    ProposalVote,
    Respondent,
    SafeguardingCase,
)

#: Longer input than this is not a code; it is cut before hashing (still looked up).
MAX_CODE_INPUT = 64
#: Conversation state of a respondent kept only to anchor an open safeguarding case.
WITHDRAWN_STATE = {"stage": "withdrawn"}


@dataclass(frozen=True)
class WithdrawalResult:
    """What a withdrawal did: counts only (``found`` False: nothing, for any reason)."""

    found: bool
    answers: int = 0
    proposals: int = 0
    votes: int = 0
    chat_links: int = 0
    cases_deleted: int = 0
    cases_kept: int = 0  # open safeguarding cases (and their answers) kept, see above
    respondents: int = 0

    def as_dict(self) -> dict[str, int]:
        """Return the counts (for the audit log and the CLI)."""
        return {
            "answers": self.answers,
            "proposals": self.proposals,
            "votes": self.votes,
            "chat_links": self.chat_links,
            "cases_deleted": self.cases_deleted,
            "cases_kept": self.cases_kept,
            "respondents": self.respondents,
        }


NOT_FOUND = WithdrawalResult(found=False)


def _lookup_hash(code: str | None) -> str:
    # Every input is hashed and looked up, so malformed and wrong codes cost the same.
    return store.withdrawal_hash((code or "")[:MAX_CODE_INPUT])


def find(session: Session, code: str | None, *, lock: bool = False) -> Respondent | None:
    """Return the respondent a withdrawal code belongs to, or None (wrong, used, expired)."""
    stmt = select(Respondent).where(Respondent.withdraw_hash == _lookup_hash(code))
    if lock:
        stmt = stmt.with_for_update()
    return session.scalar(stmt)


def _count(session: Session, stmt: Select[Any]) -> int:
    return int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)


def _erase(session: Session, resp: Respondent, voter_keys: tuple[str, ...]) -> WithdrawalResult:
    """Delete what is held for one respondent (see the module docstring); return counts."""
    rid = resp.id
    kept_ids = set(
        session.scalars(
            select(SafeguardingCase.answer_id)
            .join(Answer, Answer.id == SafeguardingCase.answer_id)
            .where(Answer.respondent_id == rid, SafeguardingCase.status.in_(OPEN_CASE_STATUSES))
        )
    )
    gone = select(Answer.id).where(Answer.respondent_id == rid, Answer.id.not_in(kept_ids))
    n_answers = _count(session, gone)
    n_cases = _count(
        session,
        select(SafeguardingCase.id).where(SafeguardingCase.answer_id.in_(gone.scalar_subquery())),
    )
    n_links = _count(session, select(ChatLink.chat_key).where(ChatLink.respondent_id == rid))
    own = select(Proposal.id).where(Proposal.respondent_id == rid)
    n_props = _count(session, own)
    votes = 0
    if voter_keys:
        votes = (
            rows_changed(
                session, delete(ProposalVote).where(ProposalVote.voter_key.in_(voter_keys))
            )
            or 0
        )
    session.execute(delete(Proposal).where(Proposal.id.in_(own.scalar_subquery())))
    # Children first (the cascade would do it on the database; explicit for clarity and
    # so the counts match what went), then the respondent or its stripped anchor.
    session.execute(delete(ChatLink).where(ChatLink.respondent_id == rid))
    session.execute(delete(Inbound).where(Inbound.respondent_id == rid))
    session.execute(
        delete(SafeguardingCase).where(SafeguardingCase.answer_id.in_(gone.scalar_subquery()))
    )
    session.execute(delete(Answer).where(Answer.id.in_(gone.scalar_subquery())))
    if kept_ids:
        resp.resume_key = None
        resp.withdraw_hash = "withdrawn:" + secrets.token_hex(16)  # no code hashes to this
        resp.state = dict(WITHDRAWN_STATE)
        n_resp = 0
    else:
        session.expire(resp, ["answers"])
        session.delete(resp)
        n_resp = 1
    session.flush()
    return WithdrawalResult(
        found=True,
        answers=n_answers,
        proposals=n_props,
        votes=votes,
        chat_links=n_links,
        cases_deleted=n_cases,
        cases_kept=len(kept_ids),
        respondents=n_resp,
    )


def withdraw(
    session: Session,
    code: str | None,
    *,
    channel: str = "web",
    voter_keys: Iterable[str] = (),
) -> WithdrawalResult:
    """Delete the answers of the respondent this code belongs to; the caller commits.

    ``voter_keys``: anonymous proposal-vote keys the caller knows belong to this person
    (votes are held under a keyed hash of a separate cookie, so they cannot be found from
    the respondent). Returns ``NOT_FOUND`` for a wrong, reused, expired or malformed code.
    """
    resp = find(session, code, lock=True)
    if resp is None:
        return NOT_FOUND
    round_id = resp.round_id
    result = _erase(session, resp, tuple(voter_keys))
    audit.record(
        session,
        "withdrawal",
        round_id=round_id,
        details={"channel": channel, "scope": "respondent", **result.as_dict()},
    )
    return result


def delete_chat(session: Session, chat_key: str, *, channel: str = "telegram") -> dict[str, int]:
    """Delete everything held for one chat (every respondent it has been, in every round).

    ``chat_key`` is the chat's keyed hash, as the bot computes it; the same hash is the
    respondents' resume key. Records one audit event with the totals; returns them.
    """
    totals = dict.fromkeys(WithdrawalResult(found=True).as_dict(), 0)
    rids = set(
        session.scalars(
            select(Respondent.id).where(
                Respondent.channel == channel, Respondent.resume_key == chat_key
            )
        )
    )
    rids |= set(
        session.scalars(
            select(ChatLink.respondent_id).where(
                ChatLink.channel == channel, ChatLink.chat_key == chat_key
            )
        )
    )
    for rid in sorted(rids):
        resp = session.get(Respondent, rid, with_for_update=True)
        if resp is None:
            continue
        for key, value in _erase(session, resp, ()).as_dict().items():
            totals[key] += value
    leftover = (
        rows_changed(
            session,
            delete(ChatLink).where(ChatLink.channel == channel, ChatLink.chat_key == chat_key),
        )
        or 0
    )
    totals["chat_links"] += leftover
    audit.record(session, "withdrawal", details={"channel": channel, "scope": "chat", **totals})
    return totals
