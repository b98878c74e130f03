"""Apply one Telegram update to its conversation, exactly once, and say what to send back.

``handle_update`` is synchronous and owns one database session per update: it translates
the update, applies it through ``store.apply_inbound`` (keyed on ``tg:<update_id>``, under
the respondent's row lock), commits, and only then returns the messages to send. The
caller sends them; nothing is sent for work that did not commit.

A re-delivered update is stored once; its reply is the *current* prompt again, sent again.
Telegram only re-delivers when the earlier attempt was not acknowledged, i.e. when that
attempt may have died before its reply went out, so re-sending is what keeps the person
from being left without a question.

Logs carry the update id and the respondent id, never text, names or Telegram ids.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from telegram import Update

from bot import render, withdraw
from bot.render import Outgoing
from bot.translate import CHANNEL, Button, Incoming, translate
from surveys.core import engine
from surveys.runtime import Runtime
from surveys.storage import store
from surveys.storage.models import Inbound, Respondent

log = logging.getLogger(__name__)
ATTEMPTS = 3  # transient database errors (deadlock, lost connection, lock timeout) retried
_STALE = "#stale"  # a question id no question has: the engine refuses the answer kindly


@dataclass(frozen=True)
class Applied:
    """What applying one update did: the replies and whether a pressed button counted."""

    replies: tuple[engine.Reply, ...]
    respondent_id: str | None = None
    duplicate: bool = False
    accepted: bool = False  # a button press that answered the prompt it belonged to


def _text(name: str, audience: str | None = None, fallback: str | None = None) -> str:
    texts = engine.default_texts()
    try:
        return texts.get(name, audience)
    except KeyError:
        # A wording that messages.yaml does not have yet: use the nearest one it has.
        if fallback is None:
            raise
        return texts.get(fallback, audience)


def _note(name: str, fallback: str | None = None) -> Applied:
    return Applied((engine.Reply("info", _text(name, fallback=fallback), stage=name),))


def _join(session: Session, rt: Runtime, inc: Incoming) -> Applied:
    secret = rt.settings.secret_key
    rnd = store.get_round(session, inc.code or "")
    resp = store.find_respondent(session, rnd, CHANNEL, inc.chat_key or "")
    if resp is not None:  # the same person with the same link again: carry on
        store.link_chat(session, CHANNEL, inc.chat_key or "", resp.id)
        outcome = store.apply_inbound(
            session,
            resp.id,
            engine.Inbound(command="start"),
            key=inc.key,
            catalogue=rt.catalogue,
            secret=secret,
            service_phone=rt.settings.service_phone,
        )
        return Applied(outcome.replies, resp.id, outcome.duplicate)
    resp, result = store.start_respondent(
        session,
        rnd,
        rt.catalogue,
        channel=CHANNEL,
        secret=secret,
        resume_key=inc.chat_key,
        audience=inc.audience,
    )
    store.link_chat(session, CHANNEL, inc.chat_key or "", resp.id)
    session.add(Inbound(key=inc.key, respondent_id=resp.id))
    return Applied(result.replies, resp.id)


def _resolve(rt: Runtime, resp: Respondent, button: Button) -> tuple[engine.Inbound | None, bool]:
    """Return the engine input for a pressed button, and whether it fits the current prompt.

    ``resp`` is locked, so the prompt cannot move on between this check and the step.
    None means the button belongs to an earlier prompt that the engine would not recognise
    as stale (audience or consent); the caller refuses it.
    """
    state = engine.State.from_dict(resp.state)
    if state.paused:  # any input resumes a stopped conversation; it answers nothing yet
        return engine.Inbound(choice=button.option or "", question_id=_STALE), False
    if button.matches(state.stage, state.current):
        option = button.option
        if option is not None and option.startswith("#") and state.stage == "question":
            survey = store.survey_for(resp.round, rt.catalogue)
            question = next(
                (q for q in survey.questions(state.audience or "") if q.id == state.current), None
            )
            choices = question.choices() if question else ()
            index = int(option[1:])
            option = choices[index].key if index < len(choices) else option
        qid = state.current if state.stage == "question" else None
        return engine.Inbound(choice=option, question_id=qid), True
    if state.stage in ("question", "done"):
        # The engine refuses an answer to another question with its "stale" text, and
        # re-shows the finished screen.
        return engine.Inbound(choice=button.option or "", question_id=_STALE), False
    return None, False


def _stale(rt: Runtime, resp: Respondent) -> Applied:
    store.require_open(resp.round)
    current = store.current_replies(resp.round, resp, rt.catalogue, rt.settings.secret_key)
    stale = engine.Reply("error", _text("stale", resp.audience), stage="stale")
    return Applied((stale, *current), resp.id)


def _converse(session: Session, rt: Runtime, inc: Incoming) -> Applied:
    # The chat's respondent and round in one query, the respondent's row locked until commit.
    resp = store.linked_respondent(session, CHANNEL, inc.chat_key or "")
    if resp is None:
        return _note("join", fallback="unknown_round")
    accepted = False
    if inc.kind == "resume":
        inbound = engine.Inbound(command="start")
    elif inc.button is not None:
        resolved, accepted = _resolve(rt, resp, inc.button)
        if resolved is None and not store.seen(session, inc.key):
            return _stale(rt, resp)
        # A re-delivered press no longer fits the prompt; apply_inbound answers it as one.
        inbound = resolved or engine.Inbound(media=True)
    else:
        inbound = inc.inbound or engine.Inbound(media=True)
    outcome = store.apply_inbound(
        session,
        resp.id,
        inbound,
        key=inc.key,
        catalogue=rt.catalogue,
        secret=rt.settings.secret_key,
        service_phone=rt.settings.service_phone,
        locked=True,
    )
    ok = accepted and not outcome.duplicate and all(r.kind != "error" for r in outcome.replies)
    return Applied(outcome.replies, resp.id, outcome.duplicate, ok)


def _withdrawal(session: Session, rt: Runtime, inc: Incoming) -> Applied:
    """``/withdraw CODE`` and ``/delete`` ask to confirm; their "yes" button deletes."""
    if inc.button is not None:
        return Applied(
            withdraw.confirm(session, inc.button.option or "", inc.chat_key or ""), accepted=True
        )  # the pressed prompt shows the choice, buttons gone
    return Applied(withdraw.command(session, inc.kind, inc.code or "", inc.chat_key or ""))


def _apply(rt: Runtime, inc: Incoming, on_locked: Callable[[], None] | None) -> Applied:
    try:
        with rt.transaction() as session:
            step = _join if inc.kind == "join" else _converse
            if inc.kind in ("withdraw", "delete") or (
                inc.button is not None and inc.button.stage == withdraw.STAGE
            ):
                step = _withdrawal
            applied = step(session, rt, inc)
            if on_locked is not None:
                on_locked()
        return applied  # committed
    except store.RoundNotFound:
        return _note("unknown_round")
    except store.RoundClosed:
        return _note("closed")
    except LookupError as exc:
        if type(exc) is not LookupError:  # a KeyError or IndexError is a bug: let it show
            raise
        return _note("join", fallback="unknown_round")  # the respondent withdrew meanwhile


def handle_update(
    rt: Runtime, update: Update, *, on_locked: Callable[[], None] | None = None
) -> list[Outgoing]:
    """Apply one update exactly once, commit, and return the messages to send.

    ``on_locked`` is called inside the transaction, after the step and before the commit,
    while the conversation is locked: the webhook uses it to queue this chat's replies in
    commit order.
    """
    inc = translate(update, rt.settings.secret_key)
    out: list[Outgoing] = []
    if inc.callback_query_id is not None:
        out.append(Outgoing("answer", callback_query_id=inc.callback_query_id))
    if inc.kind == "ignore" or inc.chat_id is None:
        log.info("update %s ignored (not a private chat with a person)", inc.update_id)
        return out
    for attempt in range(1, ATTEMPTS + 1):
        try:
            applied = _apply(rt, inc, on_locked)
            break
        except (OperationalError, IntegrityError) as exc:
            # Two first messages of one person racing to create the same respondent, a
            # deadlock, a dropped connection: nothing was committed, so trying again is safe.
            if attempt == ATTEMPTS:
                raise
            log.warning("update %s: retrying after %s", inc.update_id, type(exc).__name__)
            time.sleep(0.05 * attempt)
    log.info(
        "update %s -> respondent %s%s",
        inc.update_id,
        applied.respondent_id or "-",
        " (duplicate)" if applied.duplicate else "",
    )
    if inc.message_id is not None:
        if applied.accepted:  # show the answer under the question; its buttons go
            edit = render.chosen(inc.chat_id, inc.message_id, inc.message_text, inc.button_label)
        else:  # an old or repeated press: take its buttons away
            edit = Outgoing("clear_buttons", inc.chat_id, message_id=inc.message_id)
        out.append(edit)
    out.extend(render.messages(inc.chat_id, applied.replies))
    return out
