"""The second reading of written answers, in a worker: the recall net and the learned heads.

Storing an answer reads it at once with what is cheap (``pipeline.first_reading``: redaction,
the lexicon's hard flag with help shown in the same turn and a case opened, codebook themes,
the rule readers' sentiment and priority), leaves ``answers.assessed_at`` empty and queues
``analysis.assess`` (``queue``) in the same transaction, so the work is never lost. The job
reads every answer waiting, a batch at a time through one batched pass of the sentence model
(``assess.assess_many``), outside any transaction (while answers keep coming in, one batch per
``GATHER`` seconds); then, in one short transaction per batch:

- the heads' sentiment and priority replace the rules' (left unknown in a conversation not in
  English, as ``conversation.unread`` stores them);
- a possible concern (or an answer the English models cannot read) opens its safeguarding case
  exactly as it would have inline: tier ``possible``, the score, the sentence that scored
  highest, the category; the alert hooks (and their coalescing) run as for any case;
- a hard flag is never removed or downgraded.

Each answer is written once (``WHERE assessed_at IS NULL``) and a case is opened once per
answer, so a job that runs twice, or two jobs at once, store nothing twice. A job holds the
answers it reads for its lease (``assess_lease_until``); a killed worker's answers are read
again when its job is recovered, and the periodic ``analysis.sweep`` queues a reading for any
answer left unread for ``STRANDED`` (a lost race, a job out of attempts).

Until it is read, an answer is "being read": never quotable, never exported as a quote.
Logs and job results carry ids and counts only.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Update, bindparam, func, or_, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from surveys import jobs
from surveys.analysis import assess, pipeline
from surveys.services import safeguarding
from surveys.storage.models import Answer, Respondent, Round, utcnow

log = logging.getLogger("yjvoice.assessing")

KIND = "analysis.assess"
SWEEP = "analysis.sweep"
#: Answers read in one pass of the model, and written in one transaction.
BATCH = 32
#: A job that has read this many, or read for ``TURN`` seconds, queues a fresh job for the
#: rest, so other kinds of job (safeguarding alerts) get a turn while texts keep coming in.
PER_JOB = 5000
TURN = 5.0
#: An answer still unread this long after it was stored is queued again by the sweep.
STRANDED = timedelta(minutes=3)
#: While answers keep coming in, a job reads at most one batch per this many seconds. A pass
#: of the model costs about the same for 1 answer as for 32 (each pass reads the model's
#: 42 MB of weights; a short answer's arithmetic is small beside that), so reading each
#: answer as it arrives cost about 3x the CPU of waiting a moment and reading them together.
GATHER = 0.5


#: PostgreSQL advisory lock between storing transactions (shared) and a job that is about to
#: finish (exclusive): see ``queue`` and ``writers_done``.
QUEUE_LOCK = 0x796A_7621_5EAD


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def queue(session: Session, now: datetime | None = None) -> None:
    """Queue the second reading in the caller's transaction (one job waits; it reads all).

    A job that is already running may have looked for unread answers before the caller
    commits. On PostgreSQL the caller holds a shared advisory lock until it commits, taken
    before it looks for a waiting job, and a job takes the lock exclusively before it
    finishes (``writers_done``), so it waits for the caller and then sees its answers.
    SQLite's writers take turns anyway (``BEGIN IMMEDIATE``).
    """
    if _postgres(session):
        session.execute(text("SELECT pg_advisory_xact_lock_shared(:k)"), {"k": QUEUE_LOCK})
    now = now or utcnow()
    if not jobs.waiting(session, KIND, now):  # the usual case at a busy time: one waits
        jobs.enqueue(session, KIND, key=KIND, now=now)


def writers_done(sessions: sessionmaker[Session]) -> None:
    """Wait until every transaction that found this job waiting has committed (PostgreSQL)."""
    with sessions.begin() as session:
        if _postgres(session):
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": QUEUE_LOCK})


def being_read(session: Session, rnd: Round) -> int:
    """Return how many of the round's live written answers are still being read."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Answer)
            .where(
                Answer.round_id == rnd.id,
                Answer.superseded.is_(False),
                Answer.assessed_at.is_(None),
            )
        )
        or 0
    )


@dataclass(frozen=True)
class Waiting:
    """A written answer taken for reading: what the model and the write need."""

    id: int
    respondent_id: str
    text: str
    priority: str | None
    question_id: str | None
    language: str | None
    hard_flag: bool


def take(
    sessions: sessionmaker[Session], now: datetime, hold: timedelta, limit: int = BATCH
) -> list[Waiting]:
    """Take up to ``limit`` unread answers nobody holds, oldest first, holding them ``hold``."""
    with sessions.begin() as session:
        free = or_(Answer.assess_lease_until.is_(None), Answer.assess_lease_until < now)
        stmt = (
            select(Answer.id)
            .where(Answer.assessed_at.is_(None), free)
            .order_by(Answer.id)
            .limit(limit)
        )
        if _postgres(session):
            stmt = stmt.with_for_update(skip_locked=True)  # two workers take different answers
        ids = list(session.scalars(stmt))
        if not ids:
            return []
        session.execute(
            update(Answer)
            .where(Answer.id.in_(ids))
            .values(assess_lease_until=now + hold)
            .execution_options(synchronize_session=False)
        )
        rows = session.execute(
            select(
                Answer.id,
                Answer.respondent_id,
                Answer.text,
                Answer.priority,
                Answer.question_id,
                Answer.language,
                Answer.flag_tier,
            )
            .where(Answer.id.in_(ids))
            .order_by(Answer.id)
        )
        return [
            Waiting(i, rid, text or "", prio, qid, lang, tier == pipeline.FLAG)
            for i, rid, text, prio, qid, lang, tier in rows
        ]


def read(batch: Sequence[Waiting]) -> list[assess.Assessment | None]:
    """Read a batch with one pass of the model; None for an answer the model failed on.

    A batch that fails is read one answer at a time, so one bad answer cannot hold up the
    rest. If every answer fails, the model itself is broken: raise (the job is retried).
    """
    texts = [w.text for w in batch]
    priorities = [w.priority for w in batch]
    qids = [w.question_id for w in batch]
    try:
        return list(assess.assess_many(texts, question_priorities=priorities, question_ids=qids))
    except Exception as exc:
        log.warning("second reading: batch failed (%s); reading one by one", type(exc).__name__)
    out: list[assess.Assessment | None] = []
    for w in batch:
        try:
            out.append(
                assess.assess(w.text, question_priority=w.priority, question_id=w.question_id)
            )
        except Exception as exc:
            log.warning("second reading failed answer=%s (%s)", w.id, type(exc).__name__)
            out.append(None)
    if batch and all(r is None for r in out):
        raise RuntimeError("the sentence model could not read any answer of the batch")
    return out


def unreadable(hard_flag: bool) -> pipeline.Learned:
    """What to store for an answer the model failed on: a person reads it (never "ok")."""
    return pipeline.Learned(
        None,
        None,
        None,
        None,
        None,
        possible=not hard_flag,
        flag_categories=[] if hard_flag else [assess.NOT_READ],
    )


_ANSWERS = Answer.__table__


@functools.cache
def _written(columns: tuple[str, ...]) -> Update:
    """Return the UPDATE that writes these columns of one unread answer (``_aid``).

    Built once for each set of columns (an English answer or not, a possible concern or
    not): the ORM's UPDATE built afresh with its values, every answer, cost more CPU than
    the sentence model's pass over a batch of short answers.
    """
    return (
        update(_ANSWERS)
        .where(_ANSWERS.c.id == bindparam("_aid"), _ANSWERS.c.assessed_at.is_(None))
        .values({c: bindparam(c) for c in columns})
    )


def store(
    session: Session,
    batch: Sequence[Waiting],
    readings: Sequence[assess.Assessment | None],
    now: datetime,
) -> tuple[int, int]:
    """Write a batch's readings and open the cases; return (answers written, cases opened).

    An answer already read (by another run) or gone (withdrawn) is left as it is.
    """
    written = 0
    concerns: list[tuple[Waiting, dict[str, Any]]] = []
    conn = session.connection()  # plain SQL: one prebuilt UPDATE an answer (see _written)
    for w, reading in zip(batch, readings, strict=True):
        if reading is None:
            got = unreadable(w.hard_flag)
        else:
            got = pipeline.learned(reading, hard_flag=w.hard_flag, language=w.language)
        values: dict[str, Any] = {
            "assessed_at": now,
            "assess_lease_until": None,
            "flag_score": got.flag_score,
        }
        if pipeline.language_is_english(w.language):
            # A conversation in another language keeps "unknown" (conversation.unread).
            values.update(
                sentiment=got.sentiment,
                sentiment_score=got.sentiment_score,
                priority_guess=got.priority_guess,
                priority_confidence=got.priority_confidence,
            )
        if got.possible:
            values.update(
                flagged=True, flag_tier=pipeline.POSSIBLE, flag_categories=got.flag_categories
            )
        done = conn.execute(_written(tuple(values)), {"_aid": w.id, **values}).rowcount
        if done != 1:
            continue
        written += 1
        if got.possible:
            concerns.append((w, got.concern()))
    if not concerns:
        return written, 0
    by_id = {
        a.id: a
        for a in session.scalars(select(Answer).where(Answer.id.in_([w.id for w, _ in concerns])))
    }
    cases = safeguarding.open_cases(session, [(by_id[w.id], c) for w, c in concerns])
    # As for a hard flag, help stays on every page after this one (the footer says it too).
    session.execute(
        update(Respondent)
        .where(
            Respondent.id.in_({w.respondent_id for w, _ in concerns}),
            Respondent.disclosed_at.is_(None),
        )
        .values(disclosed_at=now)
        .execution_options(synchronize_session=False)
    )
    return written, len(cases)


def read_waiting(
    sessions: sessionmaker[Session],
    *,
    clock: Any = utcnow,
    hold: timedelta = timedelta(minutes=1),
    limit: int = PER_JOB,
    progress: Any = None,
    gather: float = 0.0,
    sleep: Any = time.sleep,
    until: float | None = None,
    monotonic: Any = time.monotonic,
) -> dict[str, int]:
    """Read every unread answer nobody holds, a batch at a time; return counts.

    ``progress(done)`` is called after each batch (a job renews its lease there). With
    ``gather`` (seconds), answers that arrived while the previous batch was being read are a
    stream: the run waits until ``gather`` has passed since it last took answers, so that the
    next pass of the model reads up to a whole batch. The first batch, and answers found only
    after the stream stopped (``writers_done``), are read at once, so a run with nothing
    coming in never waits. With ``until`` (a ``time.monotonic()``), no batch is taken after
    that time: the caller queues a fresh run for the rest. ``sleep`` and ``monotonic`` are the
    clock the waits are measured on (tests pass their own, so no test depends on how fast the
    machine reads a batch).
    """
    answers = cases = batches = 0
    took: float | None = None  # when this run last took every answer waiting (monotonic)
    while answers < limit and (until is None or monotonic() < until):
        room = min(BATCH, limit - answers)
        batch = take(sessions, clock(), hold, room)
        if batch and took is not None and len(batch) < room:
            wait = took + gather - monotonic()
            if wait > 0:  # answers are coming in: let more arrive, read them in one pass
                sleep(wait)
                batch += take(sessions, clock(), hold, room - len(batch))
        took = monotonic() if len(batch) < room else None  # None: a backlog, no wait
        if not batch:
            writers_done(sessions)  # an answer committing now is read by this job, not lost
            batch = take(sessions, clock(), hold, min(BATCH, limit - answers))
        if not batch:
            break
        readings = read(batch)  # outside any transaction: ~20 ms of CPU an answer
        with sessions.begin() as session:
            written, opened = store(session, batch, readings, clock())
        answers, cases, batches = answers + written, cases + opened, batches + 1
        if progress is not None:
            progress(answers)
    return {"answers": answers, "cases": cases, "batches": batches}


@jobs.resource("sentence-model", warm=True)
def model() -> assess.Heads:
    """Load the sentence model and the heads when a worker starts (not at the first answer)."""
    assess.assess("warm up the sentence model")
    return assess.heads()


@jobs.job(
    KIND,
    label="Read written answers for possible concerns",
    max_attempts=None,  # a possible concern must never be dropped: retried until it works
    backoff=jobs.Backoff(first=5, cap=300),
)
def assess_job(ctx: jobs.Context) -> dict[str, int]:
    """Read every answer waiting; queue a fresh job after ``PER_JOB`` answers or ``TURN`` s."""
    model()
    turn_ends = time.monotonic() + TURN
    counts = read_waiting(
        ctx.sessions,
        clock=ctx.now,
        hold=ctx.lease,
        progress=lambda done: ctx.progress(done),
        gather=GATHER,
        until=turn_ends,
    )
    if counts["answers"] >= PER_JOB or time.monotonic() >= turn_ends:
        with ctx.sessions.begin() as session:
            queue(session, now=ctx.now())
    if counts["cases"]:
        log.info("second reading opened cases=%s answers=%s", counts["cases"], counts["answers"])
    return counts


@jobs.job(SWEEP, label="Find written answers left unread", every=timedelta(minutes=1))
def sweep_job(ctx: jobs.Context) -> dict[str, int]:
    """Queue a reading when an answer has waited longer than ``STRANDED`` (a killed worker)."""
    now = ctx.now()
    with ctx.sessions.begin() as session:
        stranded = int(
            session.scalar(
                select(func.count())
                .select_from(Answer)
                .where(
                    Answer.assessed_at.is_(None),
                    Answer.created_at < now - STRANDED,
                    or_(Answer.assess_lease_until.is_(None), Answer.assess_lease_until < now),
                )
            )
            or 0
        )
        if stranded:
            log.warning("answers left unread stranded=%s: queueing a reading", stranded)
            queue(session, now=now)
    return {"stranded": stranded}
