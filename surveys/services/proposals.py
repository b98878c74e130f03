"""Staff and partner proposals: actions for the plan (Achieve, Do, Evidence / Measure).

Staff and partners of an open round propose actions under one of its priorities and
support each other's: one anonymous vote per voter per proposal, the vote holding only a
keyed hash of the voter's cookie token. The lead merges duplicates (votes move to the kept
proposal and a voter who supported both counts once), accepts or declines. Accepted
proposals are numbered like the plan's action table, ``<plan order>:<sequence> <agency>``
(e.g. "4:1 Police"): the sequence counts the accepted proposals of that priority oldest
first, the order ``surveys.export.plan`` prints them in.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from surveys.core.catalogue import Catalogue
from surveys.core.vocabulary import PROPOSAL_AUDIENCES, PROPOSAL_STATUSES
from surveys.storage import store
from surveys.storage.models import Proposal, ProposalVote, Round, utcnow

#: Who may propose and support actions.
#: What staff and partners see and may support.
VISIBLE = ("open", "accepted")
FIELDS: dict[str, str] = {
    "priority": "Priority",
    "agency": "Agency",
    "achieve": "Achieve",
    "do": "Do",
    "evidence": "Evidence / Measure",
}
LIMITS = {"agency": 100, "achieve": 1000, "do": 1000, "evidence": 1000}
_SPACES = re.compile(r"[ \t\u00a0]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class ProposalsNotOffered(Exception):
    """The round asks neither staff nor partners, so it takes no proposals."""


class InvalidProposal(ValueError):
    """A proposal is missing something or too long; ``errors`` maps field to message."""

    def __init__(self, errors: Mapping[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = dict(errors)


class ProposalNotFound(LookupError):
    """No proposal with this id in this round (or it can no longer be supported)."""


class CannotMerge(ValueError):
    """The two proposals cannot be merged (the same one, or one already merged)."""


@dataclass(frozen=True)
class Draft:
    """A proposal as typed into the form."""

    priority: str
    agency: str
    achieve: str
    do: str
    evidence: str

    @classmethod
    def from_form(cls, form: Mapping[str, str | None]) -> Draft:
        """Build a draft from form fields, tidying spaces."""
        return cls(**{name: _clean(form.get(name), name) for name in FIELDS})


@dataclass(frozen=True)
class ProposalView:
    """A proposal with its support and, once accepted, its ID in the plan."""

    id: int
    priority: str
    priority_title: str
    agency: str
    achieve: str
    do: str
    evidence: str
    status: str
    merged_into: int | None
    created_at: datetime
    votes: int
    action_id: str | None = None
    merged_from: tuple[int, ...] = ()
    supported: bool = False  # by the voter asking, when one is given


def _clean(value: str | None, name: str) -> str:
    text = _CONTROL.sub("", (value or "").replace("\r\n", "\n").replace("\r", "\n"))
    if name in ("priority", "agency"):
        return " ".join(text.split())
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def check(draft: Draft, priorities: Sequence[str]) -> dict[str, str]:
    """Return a message per field that is missing, too long or not allowed (empty if fine)."""
    errors: dict[str, str] = {}
    if draft.priority not in priorities:
        errors["priority"] = "Choose the priority this action is for."
    for name, limit in LIMITS.items():
        value = getattr(draft, name) or ""
        if not value.strip():
            errors[name] = f"Please fill in {FIELDS[name]}."
        elif len(value) > limit:
            errors[name] = f"Please keep {FIELDS[name]} under {limit:,} characters."
    return errors


def offers_proposals(rnd: Round) -> bool:
    """Return True when a round asks staff or partners (so it takes proposals)."""
    return any(a in (rnd.audiences or ()) for a in PROPOSAL_AUDIENCES)


def voter_key(secret: str, token: str) -> str:
    """Return the anonymous key a vote is held under: a keyed hash of the cookie token."""
    return store.keyed_hash(secret, "proposal-vote", token)


def create(
    session: Session,
    rnd: Round,
    draft: Draft,
    *,
    respondent_id: str | None = None,
    inbound_key: str | None = None,
) -> Proposal:
    """Store a proposal for an open round; a re-posted form (same key) stores it once."""
    if not offers_proposals(rnd):
        raise ProposalsNotOffered(rnd.code)
    store.require_open(rnd)
    errors = check(draft, list(rnd.priorities))
    if errors:
        raise InvalidProposal(errors)
    if inbound_key is not None:
        earlier = session.scalar(select(Proposal).where(Proposal.inbound_key == inbound_key))
        if earlier is not None:
            return earlier
    proposal = Proposal(
        round_id=rnd.id,
        respondent_id=respondent_id,
        priority=draft.priority,
        agency=draft.agency,
        achieve=draft.achieve,
        do=draft.do,
        evidence=draft.evidence,
        status="open",
        inbound_key=inbound_key,
        created_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(proposal)
    except IntegrityError:  # the same form posted twice at once: the other one won
        earlier = session.scalar(select(Proposal).where(Proposal.inbound_key == inbound_key))
        if earlier is None:
            raise
        return earlier
    return proposal


def _get(session: Session, rnd: Round, proposal_id: int, *, lock: bool = False) -> Proposal:
    proposal = session.get(Proposal, proposal_id, with_for_update=lock)
    if proposal is None or proposal.round_id != rnd.id:
        raise ProposalNotFound(proposal_id)
    return proposal


def _target(session: Session, rnd: Round, proposal: Proposal) -> Proposal:
    """Follow merges to the proposal that now carries the votes."""
    seen = {proposal.id}
    while proposal.status == "merged" and proposal.merged_into is not None:
        proposal = _get(session, rnd, proposal.merged_into)
        if proposal.id in seen:  # pragma: no cover - merge() never makes a loop
            break
        seen.add(proposal.id)
    return proposal


def support(session: Session, rnd: Round, proposal_id: int, voter: str) -> bool:
    """Add one anonymous vote; return False when this voter already supports it."""
    store.require_open(rnd)
    proposal = _target(session, rnd, _get(session, rnd, proposal_id))
    if proposal.status not in VISIBLE:
        raise ProposalNotFound(proposal_id)
    if session.get(ProposalVote, (proposal.id, voter)) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(ProposalVote(proposal_id=proposal.id, voter_key=voter, created_at=utcnow()))
    except IntegrityError:  # a double click racing itself
        return False
    return True


def merge(session: Session, rnd: Round, duplicate_id: int, into_id: int) -> Proposal:
    """Merge a duplicate into another proposal: its votes move, each voter counted once."""
    if duplicate_id == into_id:
        raise CannotMerge("A proposal cannot be merged into itself.")
    dup = _get(session, rnd, duplicate_id, lock=True)
    into = _get(session, rnd, into_id, lock=True)
    if dup.status == "merged" or into.status == "merged":
        raise CannotMerge("That proposal has already been merged into another one.")
    kept = select(ProposalVote.voter_key).where(ProposalVote.proposal_id == into.id)
    session.execute(
        delete(ProposalVote).where(
            ProposalVote.proposal_id == dup.id, ProposalVote.voter_key.in_(kept)
        )
    )
    session.execute(
        update(ProposalVote).where(ProposalVote.proposal_id == dup.id).values(proposal_id=into.id)
    )
    # Proposals merged into the duplicate earlier now point straight at the one kept.
    session.execute(
        update(Proposal)
        .where(Proposal.merged_into == dup.id, Proposal.round_id == rnd.id)
        .values(merged_into=into.id)
    )
    dup.status, dup.merged_into = "merged", into.id
    session.flush()
    session.expire_all()
    return _get(session, rnd, into_id)


def set_status(session: Session, rnd: Round, proposal_id: int, status: str) -> Proposal:
    """Accept, decline or reopen a proposal (a merged one stays merged)."""
    if status not in ("open", "accepted", "declined"):
        raise ValueError(f"unknown status {status!r}")
    proposal = _get(session, rnd, proposal_id, lock=True)
    if proposal.status == "merged":
        raise CannotMerge("That proposal was merged into another; change that one instead.")
    proposal.status = status
    return proposal


def number_actions(
    accepted: Iterable[tuple[int, str, str]], orders: Mapping[str, int]
) -> dict[int, str]:
    """Number accepted proposals (id, priority, agency) given oldest first, per priority."""
    seq: Counter[str] = Counter()
    out = {}
    for pid, priority, agency in accepted:
        seq[priority] += 1
        out[pid] = f"{orders.get(priority, 0)}:{seq[priority]} {agency}".strip()
    return out


def action_ids(session: Session, rnd: Round, catalogue: Catalogue) -> dict[int, str]:
    """Return {proposal id: "4:1 Police"} for the round's accepted proposals."""
    rows = session.execute(
        select(Proposal.id, Proposal.priority, Proposal.agency)
        .where(Proposal.round_id == rnd.id, Proposal.status == "accepted")
        .order_by(Proposal.created_at, Proposal.id)
    ).all()
    return number_actions(
        ((i, p, a) for i, p, a in rows), {b.key: b.order for b in catalogue.banks}
    )


def list_for_round(
    session: Session,
    rnd: Round,
    catalogue: Catalogue,
    *,
    statuses: Sequence[str] = PROPOSAL_STATUSES,
    voter: str | None = None,
) -> list[ProposalView]:
    """Return a round's proposals in plan order of priority, most supported first."""
    votes = dict(
        session.execute(
            select(ProposalVote.proposal_id, func.count())
            .join(Proposal, Proposal.id == ProposalVote.proposal_id)
            .where(Proposal.round_id == rnd.id)
            .group_by(ProposalVote.proposal_id)
        ).all()
    )
    mine: set[int] = set()
    if voter is not None:
        mine = set(
            session.scalars(
                select(ProposalVote.proposal_id)
                .join(Proposal, Proposal.id == ProposalVote.proposal_id)
                .where(Proposal.round_id == rnd.id, ProposalVote.voter_key == voter)
            )
        )
    ids = action_ids(session, rnd, catalogue)
    orders = {b.key: b.order for b in catalogue.banks}
    titles = {b.key: b.title for b in catalogue.banks}
    rows = list(
        session.scalars(
            select(Proposal)
            .where(Proposal.round_id == rnd.id, Proposal.status.in_(list(statuses)))
            .order_by(Proposal.created_at, Proposal.id)
        )
    )
    merged_from: dict[int, list[int]] = defaultdict(list)
    for p in session.scalars(
        select(Proposal).where(Proposal.round_id == rnd.id, Proposal.status == "merged")
    ):
        if p.merged_into is not None:
            merged_from[p.merged_into].append(p.id)
    views = [
        ProposalView(
            id=p.id,
            priority=p.priority,
            priority_title=titles.get(p.priority, p.priority),
            agency=p.agency,
            achieve=p.achieve,
            do=p.do,
            evidence=p.evidence,
            status=p.status,
            merged_into=p.merged_into,
            created_at=p.created_at,
            votes=votes.get(p.id, 0),
            action_id=ids.get(p.id),
            merged_from=tuple(merged_from.get(p.id, ())),
            supported=p.id in mine,
        )
        for p in rows
    ]
    views.sort(key=lambda v: (orders.get(v.priority, 10**6), v.priority, -v.votes, v.created_at))
    return views


def counts_by_round(session: Session) -> dict[int, Counter[str]]:
    """Return {round id: Counter of statuses} over every round's proposals."""
    out: dict[int, Counter[str]] = defaultdict(Counter)
    for round_id, status, n in session.execute(
        select(Proposal.round_id, Proposal.status, func.count()).group_by(
            Proposal.round_id, Proposal.status
        )
    ):
        out[round_id][status] = n
    return out
