"""Storing an import: every row of a clean preview, all or nothing, through the store.

First the preview's new local questions are created through the question builder
(``surveys.services.questions.add_question``, kept for these answers and never asked), then
the answers: in one savepoint, so a failure anywhere leaves neither.

Each row becomes an answer from a pseudonymous respondent: a labelled row's respondent is a
keyed hash of the round, audience and label (the label itself is never stored), so the same
label in a later file is the same person; an unlabelled row is a person of its own. Every
answer's delivery key is derived from its content, so importing the same file twice stores
it once. Each answer is read like a live one (``pipeline.first_reading``): a hard flag opens
a safeguarding case in the same transaction, and one job queued with the rows reads them all
with the recall net and heads in batches (``surveys.services.assessing``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from surveys.analysis import pipeline
from surveys.core import engine
from surveys.core.catalogue import Catalogue
from surveys.services import assessing, questions, safeguarding
from surveys.services.importer.checking import ImportRow, Preview, Problem
from surveys.services.importer.files import fold_label
from surveys.storage import store
from surveys.storage.models import Respondent, Round, utcnow

CHANNEL = "import"
Analyse = Callable[..., pipeline.Analysis]


class ImportRefused(Exception):
    """The import was not stored: rows do not fit, or someone imported them meanwhile."""

    def __init__(self, message: str, problems: Sequence[Problem] = ()):
        super().__init__(message)
        self.problems = tuple(problems)


@dataclass(frozen=True)
class ImportResult:
    """What a committed import stored."""

    answers: int
    respondents: int
    duplicates: int  # rows already imported earlier (the same file twice): not stored again
    superseded: int  # earlier answers replaced by a changed answer from the same label
    flagged: int
    cases: tuple[int, ...] = field(default_factory=tuple)
    questions: tuple[str, ...] = ()  # ids of the local questions created


def commit(
    session: Session,
    rnd: Round,
    checked: Preview,
    *,
    secret: str,
    analyse: Analyse = pipeline.first_reading,
    base: Catalogue | None = None,
    actor: Any = None,
) -> ImportResult:
    """Store every row of a clean preview in one savepoint, or nothing; the caller commits.

    The preview's new questions are created first, under ``base`` (the packaged banks,
    ``Runtime.banks``: required when there are new questions). Each answer is analysed like
    a live one; a flagged answer opens a safeguarding case. Rows stored by an earlier import
    of the same file are skipped, not doubled. Raises ImportRefused when the preview has
    problems, a new question cannot be created, or a concurrent import got there first.
    """
    if not checked.ok:
        raise ImportRefused(
            "The file has rows that do not fit; nothing was imported.", checked.problems
        )
    if checked.new_questions and base is None:
        raise ValueError("creating questions needs the packaged catalogue (base)")
    try:
        with session.begin_nested():
            created = _create_questions(session, base, checked, actor)
            rows = [
                replace(r, question_id=created[r.new]) if r.new is not None else r
                for r in checked.rows
            ]
            plans = _keys(rnd.id, rows, secret)
            result = _store(session, rnd, plans, secret=secret, analyse=analyse, now=utcnow())
    except questions.QuestionInvalid as exc:
        raise ImportRefused(
            f"A new question could not be created, so nothing was imported: {exc}"
        ) from None
    except IntegrityError:
        raise ImportRefused(
            "Some of these answers or questions were imported by someone else at the same "
            "moment; nothing was imported this time. Try again: rows already stored are "
            "skipped, and questions already created are used."
        ) from None
    return replace(result, questions=tuple(created[n.key] for n in checked.new_questions))


def _create_questions(
    session: Session, base: Catalogue | None, checked: Preview, actor: Any
) -> dict[str, str]:
    """Create the preview's new local questions (kept for answers, never asked): key -> id."""
    created: dict[str, str] = {}
    for new in checked.new_questions:
        assert base is not None
        saved = questions.add_question(
            session, base, priority=new.priority, spec=new.spec(), ask=False, actor=actor
        )
        created[new.key] = saved.qid
    return created


@dataclass(frozen=True)
class _Planned:
    row: ImportRow
    respondent_key: str
    delivery_key: str


def _keys(round_id: int, rows: Iterable[ImportRow], secret: str) -> list[_Planned]:
    """Derive each row's respondent and answer keys (keyed hashes: labels are never stored)."""
    seen: Counter[str] = Counter()
    out = []
    for r in rows:
        content = f"{r.question_id}\x1f{r.choice or ''}\x1f{r.text}"
        if r.label:
            resp = store.keyed_hash(
                secret, "import-respondent", f"{round_id}\x1f{r.audience}\x1f{fold_label(r.label)}"
            )
            ans = store.keyed_hash(secret, "import-answer", f"{round_id}\x1f{resp}\x1f{content}")
        else:
            # Two unlabelled people may write the same words: the nth copy is its own answer,
            # and the same file imported again gives the same n.
            base = f"{round_id}\x1f{r.audience}\x1f{content}"
            seen[base] += 1
            ans = store.keyed_hash(secret, "import-answer", f"{base}\x1f#{seen[base]}")
            resp = store.keyed_hash(secret, "import-respondent", f"{round_id}\x1frow\x1f{ans}")
        out.append(_Planned(r, resp, f"{CHANNEL}:{ans}"))
    return out


def _store(
    session: Session,
    rnd: Round,
    plans: list[_Planned],
    *,
    secret: str,
    analyse: Analyse,
    now: datetime,
) -> ImportResult:
    stored_before = store.delivery_keys(session, rnd, CHANNEL)
    fresh = [p for p in plans if p.delivery_key not in stored_before]
    people = store.find_respondents(session, rnd, CHANNEL, (p.respondent_key for p in fresh))
    # A changed answer from a label imported before replaces the earlier one (both kept).
    superseded = store.supersede_answers(
        session,
        {
            (people[p.respondent_key].id, p.row.question_id)
            for p in fresh
            if p.respondent_key in people
        },
    )
    new_people = 0
    for p in fresh:
        if p.respondent_key not in people:
            people[p.respondent_key] = _new_respondent(session, rnd, p, secret=secret, now=now)
            new_people += 1

    cache: dict[tuple[str, str | None, str, str], pipeline.Analysis] = {}
    rows: list[dict[str, Any]] = []
    flagged: dict[str, dict[str, Any]] = {}  # delivery key -> the concern (pipeline.concern)
    answered: dict[str, dict[str, str]] = {}  # respondent key -> question id -> routing value
    for p in fresh:
        r, resp = p.row, people[p.respondent_key]
        key = (r.text, r.choice, r.priority, r.question_id)
        analysis = cache.get(key)
        if analysis is None:
            analysis = cache[key] = analyse(
                r.text, choice=r.choice, question_priority=r.priority, question_id=r.question_id
            )
        if analysis.flagged:
            flagged[p.delivery_key] = pipeline.concern(analysis)
        rows.append(
            {
                "round_id": rnd.id,
                "respondent_id": resp.id,
                "priority": r.priority,
                "question_id": r.question_id,
                "audience": r.audience,
                "channel": CHANNEL,
                "text": r.text,
                "choice": r.choice,
                "inbound_key": p.delivery_key,
                "superseded": False,
                "created_at": now,
                **pipeline.columns(analysis),
            }
        )
        answered.setdefault(p.respondent_key, {})[r.question_id] = r.choice or "*"
    for person, routing in answered.items():
        # What routing needs of the answers, as a conversation would have left it.
        resp = people[person]
        state = dict(resp.state or {})
        state["answers"] = {**state.get("answers", {}), **routing}
        resp.state = state
    session.flush()  # the respondents first: the answers point at them
    store.insert_answers(session, rows)
    if any(row["assessed_at"] is None for row in rows):
        assessing.queue(session)
    cases = []
    if flagged:
        stored = store.answers_by_delivery(session, flagged)
        cases = safeguarding.open_cases(session, [(a, flagged[a.inbound_key]) for a in stored])
    return ImportResult(
        answers=len(rows),
        respondents=new_people,
        duplicates=len(plans) - len(fresh),
        superseded=superseded,
        flagged=len(flagged),
        cases=tuple(c.id for c in cases),
    )


def _new_respondent(
    session: Session, rnd: Round, p: _Planned, *, secret: str, now: datetime
) -> Respondent:
    """Add the person a row stands for, their conversation already done."""
    state = engine.State(stage="done", audience=p.row.audience, audience_fixed=True)
    return store.add_respondent(
        session,
        rnd,
        channel=CHANNEL,
        secret=secret,
        audience=p.row.audience,
        state=state.to_dict(),
        resume_key=p.respondent_key,
        completed_at=now,
    )
