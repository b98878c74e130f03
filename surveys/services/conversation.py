"""One conversation service for every channel: start or join a round, apply what a person
sent exactly once, and say what to send back.

Channels (the web form, Telegram, text messages, the console) are thin adapters: they turn
what arrived into an ``engine.Inbound`` and a delivery key, call this module inside one
transaction, commit, and only then acknowledge and render the ``Turn``'s replies in their own
way. Everything a channel would otherwise repeat lives here:

- **exactly once**: a delivery's natural key (``tg:...``, ``web:<uuid>``, ``sms:<provider
  id>``) is claimed in the same transaction as the state change and the answers, under a
  unique constraint; a duplicate stores nothing and says nothing new (``Turn.duplicate``);
- **serialised**: the respondent's row is locked for the step;
- **analysed in the same transaction**: every new answer is redacted, tagged and checked
  against the safeguarding lexicon before it is stored (``pipeline.first_reading``); a hard
  flag opens a case, and the person is shown where to get help in the same turn. The
  learned reading (recall net and heads, ~20 ms of CPU) is queued in the same transaction
  and runs in a worker just after the commit (``surveys.services.assessing``): a possible
  concern opens its case there (the footer's help is enough for it);
- **retries**: ``run`` repeats a unit of work after a transient database error (deadlock,
  lost connection, two first messages racing), which is safe because nothing committed;
- **domain errors become words**: an unknown code, a closed round or a withdrawn respondent
  end as a ``Turn`` whose ``problem`` names the text to show, in the person's wording;
- **one language per person**: chosen at first contact (``lang``: a link, a button, a
  keyword; a round in several languages asks when the channel cannot tell) and recorded on
  the respondent; every reply after uses it, and ``Inbound(language=...)`` switches it.

Logs carry ids only (respondent, round, delivery key), never text or identifiers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from surveys.analysis import pipeline
from surveys.core import engine
from surveys.core.catalogue import Catalogue
from surveys.services import assessing, safeguarding
from surveys.storage import store
from surveys.storage.models import Answer, Respondent, Round, utcnow

log = logging.getLogger(__name__)

#: Transient database errors are retried this many times in all.
ATTEMPTS = 3
#: Problems a channel shows in words: the key of the text in ``messages.yaml``.
UNKNOWN_ROUND, CLOSED, GONE = "unknown_round", "closed", "gone"


@dataclass(frozen=True)
class Context:
    """What every delivery needs from the process: the banks and the secrets."""

    catalogue: Catalogue
    secret: str
    service_phone: str | None = None
    texts: engine.Texts = field(default_factory=engine.default_texts)


@dataclass(frozen=True)
class Turn:
    """What one delivery did, and what to say back (nothing new for a duplicate)."""

    replies: tuple[engine.Reply, ...]
    respondent_id: str | None = None
    duplicate: bool = False
    completed: bool = False
    stored: int = 0
    flagged: bool = False  # a hard flag in this delivery: help was shown in this turn
    problem: str | None = None  # UNKNOWN_ROUND, CLOSED or GONE: nothing was applied


@lru_cache(maxsize=256)
def _survey(
    title: str,
    audiences: tuple[str, ...],
    priorities: tuple[str, ...],
    catalogue: Catalogue,
    languages: tuple[str, ...],
    texts: engine.Texts,
) -> engine.Survey:
    return engine.Survey(title, audiences, priorities, catalogue, texts, languages)


def survey_for(
    rnd: Round, catalogue: Catalogue, texts: engine.Texts | None = None
) -> engine.Survey:
    """Return the engine's view of a round."""
    return _survey(
        rnd.title,
        tuple(rnd.audiences),
        tuple(rnd.priorities),
        catalogue,
        tuple(rnd.languages or ("en",)),
        texts or engine.default_texts(),
    )


def current_replies(rnd: Round, resp: Respondent, ctx: Context) -> tuple[engine.Reply, ...]:
    """Return what the respondent should see now (a resume, a page load, a stale press)."""
    state = engine.current_versions(engine.State.from_dict(resp.state), ctx.catalogue)
    code = store.withdrawal_code(ctx.secret, resp.id) if state.stage == "done" else ""
    return engine.render(survey_for(rnd, ctx.catalogue, ctx.texts), state, withdrawal_code=code)


def problem_replies(
    problem: str, audience: str | None = None, lang: str = "en"
) -> tuple[engine.Reply, ...]:
    """Return the words for a problem (an unknown code, a closed round, a withdrawal)."""
    text = engine.default_texts().get(problem, audience, lang)
    return (engine.Reply("info", text, stage=problem),)


def start(
    session: Session,
    rnd: Round,
    ctx: Context,
    *,
    channel: str,
    resume_key: str | None = None,
    audience: str | None = None,
    lang: str | None = None,
    hint: str | None = None,
) -> tuple[Respondent, Turn]:
    """Start a respondent in an open round; return it with the opening replies.

    Raises RoundClosed when the round takes no answers. An audience the round does not ask
    is ignored (the person is asked who they are instead). ``lang`` is the language the
    person chose; without it a round in several languages asks first (``hint``, a
    channel's guess, shown first). A language the round is not in gives its first.
    """
    store.require_open(rnd)
    if audience is not None and audience not in rnd.audiences:
        audience = None
    survey = survey_for(rnd, ctx.catalogue, ctx.texts)
    result = engine.begin(survey, audience=audience, lang=lang, hint=hint)
    resp = store.add_respondent(
        session,
        rnd,
        channel=channel,
        secret=ctx.secret,
        audience=result.state.audience,
        language=result.state.lang,
        state=result.state.to_dict(),
        state_version=result.state.version,
        resume_key=resume_key,
    )
    session.flush()
    log.info("respondent started round=%s respondent=%s channel=%s", rnd.id, resp.id, channel)
    return resp, Turn(result.replies, resp.id)


def join(
    session: Session,
    ctx: Context,
    *,
    code: str,
    channel: str,
    chat_key: str,
    key: str,
    audience: str | None = None,
    lang: str | None = None,
    hint: str | None = None,
) -> Turn:
    """Join a round from a chat (Telegram, a text message): resume or start, then link.

    The same person joining the same round again carries on where they were (in the
    language they chose, or ``lang`` when given). The chat is pointed at the respondent, so
    the chat's next messages answer this round. Raises RoundNotFound and RoundClosed.
    """
    rnd = store.get_round(session, code)
    resp = store.find_respondent(session, rnd, channel, chat_key)
    if resp is not None:
        store.link_chat(session, channel, chat_key, resp.id)
        again = engine.Inbound(language=lang) if lang else engine.Inbound(command="start")
        return apply(session, ctx, resp.id, again, key=key)
    if store.seen(session, key):
        return Turn((), duplicate=True)
    resp, turn = start(
        session,
        rnd,
        ctx,
        channel=channel,
        resume_key=chat_key,
        audience=audience,
        lang=lang,
        hint=hint,
    )
    # Under the unique constraints (the key, the chat's respondent in this round), a racing
    # copy of this delivery fails at commit and, retried, finds the respondent made here.
    store.claim(session, key, resp.id)
    store.link_chat(session, channel, chat_key, resp.id)
    return turn


def apply(
    session: Session,
    ctx: Context,
    respondent_id: str,
    inbound: engine.Inbound,
    *,
    key: str,
    locked: bool = False,
) -> Turn:
    """Apply one delivery to a conversation exactly once and return what to reply.

    ``locked`` says the caller already holds the respondent's row lock in this transaction
    (it selected the row ``FOR UPDATE``), so the row is not read again. Raises RoundClosed
    when the round no longer takes answers (the caller must roll back) and LookupError when
    the respondent is gone (withdrawn). The caller commits; only then may it acknowledge.
    """
    if locked:
        resp = session.get(Respondent, respondent_id)
    else:
        resp = session.get(Respondent, respondent_id, with_for_update=True, populate_existing=True)
    if resp is None:
        raise LookupError(respondent_id)
    rnd = resp.round
    if not store.claim(session, key, resp.id):
        return Turn((), resp.id, duplicate=True)
    store.require_open(rnd)
    # A question edited since this person's last step is asked in its new version.
    state = engine.current_versions(engine.State.from_dict(resp.state), ctx.catalogue)
    if inbound.question_id is not None:
        inbound = replace(inbound, question_id=ctx.catalogue.current_id(inbound.question_id))
    survey = survey_for(rnd, ctx.catalogue, ctx.texts)
    code = store.withdrawal_code(ctx.secret, resp.id)
    result = engine.step(survey, state, inbound, withdrawal_code=code)
    # Only a question answered before (changed after "back") has a row to supersede.
    superseded = [e.question_id for e in result.answers if e.question_id in state.answers]
    superseded += result.retracted
    if superseded:  # ... under whichever version of the question it answered
        superseded += [old for old, new in ctx.catalogue.current_ids.items() if new in superseded]
        session.execute(
            update(Answer)
            .where(
                Answer.respondent_id == resp.id,
                Answer.question_id.in_(superseded),
                Answer.superseded.is_(False),
            )
            .values(superseded=True)
        )
    flagged: list[tuple[Answer, dict[str, Any]]] = []
    help_now = to_read = False
    for i, ev in enumerate(result.answers):
        analysis = pipeline.first_reading(
            ev.text,
            choice=ev.choice,
            question_priority=ev.priority,
            question_id=ev.question_id,
        )
        to_read = to_read or analysis.pending
        if ev.choice is None and state.lang != "en":
            analysis = unread(analysis)
        answer_id = store.insert_answer(
            session,
            round_id=rnd.id,
            respondent_id=resp.id,
            priority=ev.priority,
            question_id=ev.question_id,
            audience=result.state.audience or "child",
            channel=resp.channel,
            text=ev.text,
            choice=ev.choice,
            language=state.lang,
            inbound_key=key if i == 0 else f"{key}#{i}",
            **pipeline.columns(analysis),
        )
        if analysis.flagged:
            answer = session.get(Answer, answer_id)
            assert answer is not None
            flagged.append((answer, pipeline.concern(analysis)))
            help_now = help_now or analysis.shows_help_now
    changes: dict[str, Any] = {}
    if result.state != state:
        changes.update(
            state=result.state.to_dict(),
            state_version=result.state.version,
            audience=result.state.audience,
            updated_at=utcnow(),
        )
        if result.state.lang != resp.language:
            changes["language"] = result.state.lang
    if result.completed and resp.completed_at is None:
        changes["completed_at"] = utcnow()
    if flagged and resp.disclosed_at is None:
        changes["disclosed_at"] = utcnow()  # help stays on every page after this one
    if changes:
        store.update_respondent(session, resp, changes)
    if flagged:
        safeguarding.open_cases(session, flagged)
    if to_read:  # the learned reading, by a worker once this commits
        assessing.queue(session)
    replies = result.replies
    if help_now:  # a hard flag; for a possible concern the footer's help is enough
        replies = (_help_now(survey, result.state, ctx.service_phone), *replies)
    return Turn(
        replies,
        resp.id,
        completed=result.completed,
        stored=len(result.answers),
        flagged=help_now,
    )


def unread(analysis: pipeline.Analysis) -> pipeline.Analysis:
    """Say "unknown" rather than guess: the sentiment, priority and theme engines read English.

    Words typed in a Welsh conversation keep their redaction and their safeguarding check
    (the lexicon has Welsh patterns, data/safeguard_cy.yaml); sentiment and the priority
    guess are left empty ("unknown") and a person reads the answer in review.
    """
    return replace(
        analysis,
        sentiment=None,
        sentiment_score=None,
        priority_guess=None,
        priority_confidence=None,
        themes=[],
    )


def _help_now(survey: engine.Survey, state: engine.State, phone: str | None) -> engine.Reply:
    """Where to get help, in the same turn as an answer that may disclose harm."""
    audience, lang = state.audience, state.lang
    text = survey.texts.get("disclosure", audience, lang)
    if survey.texts.helpline and lang in survey.texts.helpline_languages:
        text += " " + survey.texts.get("second_helpline", audience, lang).format(
            helpline=survey.texts.helpline
        )
    if phone:  # the service's own number, from settings (SERVICE_PHONE)
        text += "\n" + survey.texts.get("service_help", audience, lang, phone=phone)
    return engine.Reply("info", text, stage="disclosure")


def converse(
    session: Session,
    ctx: Context,
    *,
    channel: str,
    chat_key: str,
    inbound: engine.Inbound,
    key: str,
    lang: str = "en",
) -> Turn:
    """Apply a chat's message to the conversation the chat is in (the row locked until commit).

    A chat that is in no conversation gets ``problem=GONE`` (in ``lang``, the channel's best
    guess): it never joined, or its respondent withdrew.
    """
    resp = store.linked_respondent(session, channel, chat_key)
    if resp is None:
        return Turn(problem_replies(GONE, lang=lang), problem=GONE)
    return apply(session, ctx, resp.id, inbound, key=key, locked=True)


def run(
    transaction: Callable[[], AbstractContextManager[Session]],
    work: Callable[[Session], Turn],
    *,
    attempts: int = ATTEMPTS,
    label: str = "-",
    lang: str = "en",
) -> Turn:
    """Run one delivery's work in a transaction, retrying transient errors; commit; return.

    Two first messages of one person racing to create the same respondent, a deadlock or a
    dropped connection roll back with nothing committed, so trying again is safe. Domain
    errors end as a Turn with ``problem`` set and nothing applied, worded in ``lang`` (the
    channel's best guess of the person's language). ``label`` names the delivery in logs (a
    key or an update id, never content).
    """
    for attempt in range(1, attempts + 1):
        try:
            with transaction() as session:
                return work(session)
        except store.RoundNotFound:
            return Turn(problem_replies(UNKNOWN_ROUND, lang=lang), problem=UNKNOWN_ROUND)
        except store.RoundClosed:
            return Turn(problem_replies(CLOSED, lang=lang), problem=CLOSED)
        except LookupError as exc:
            if type(exc) is not LookupError:  # a KeyError or IndexError is a bug: let it show
                raise
            return Turn(problem_replies(GONE, lang=lang), problem=GONE)
        except (OperationalError, IntegrityError) as exc:
            if attempt == attempts:
                raise
            log.warning("delivery %s: retrying after %s", label, type(exc).__name__)
            time.sleep(0.05 * attempt)
    raise AssertionError("unreachable")  # pragma: no cover
