"""Apply one Telegram update to its conversation, exactly once, and say what to send back.

``handle_update`` is synchronous: it translates the update and hands it to the conversation
service (``surveys.services.conversation``), which applies it exactly once in one transaction
(keyed on the update, see ``bot.translate.delivery_key``) under the respondent's row lock,
retrying transient database errors. Only after the commit does it return the messages to
send; nothing is sent for work that did not commit.

A re-delivered update is stored once and sends nothing new: no message, no edit (a press's
acknowledgement still goes back, so the button stops spinning). Telegram re-delivers only an
update whose earlier attempt was not acknowledged; that attempt's replies were queued at its
commit and go out from the process that committed it.

Telegram-only here: which prompt a pressed button belonged to, refusing a press on an old
prompt kindly, showing the chosen answer under the question, and the withdrawal buttons.

Logs carry the update id and the respondent id, never text, names or Telegram ids.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session
from telegram import Update

from bot import render, withdraw
from bot.render import Outgoing
from bot.translate import CHANNEL, NEWS_CALLBACK, Button, Incoming, translate
from surveys.core import engine
from surveys.runtime import Runtime
from surveys.services import conversation, followups
from surveys.storage import store
from surveys.storage.models import Respondent

log = logging.getLogger(__name__)
_STALE = "#stale"  # a question id no question has: the engine refuses the answer kindly


@dataclass(frozen=True)
class Applied:
    """What applying one update did: the conversation's turn, and whether a press counted."""

    turn: conversation.Turn
    accepted: bool = False  # a button press that answered the prompt it belonged to


def _join(session: Session, rt: Runtime, inc: Incoming) -> Applied:
    turn = conversation.join(
        session,
        rt.context,
        code=inc.code or "",
        channel=CHANNEL,
        chat_key=inc.chat_key or "",
        key=inc.key,
        audience=inc.audience,
        hint=inc.hint,
    )
    return Applied(turn)


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
            survey = conversation.survey_for(resp.round, rt.catalogue)
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
    current = conversation.current_replies(resp.round, resp, rt.context)
    lang = engine.State.from_dict(resp.state).lang
    stale = engine.Reply("error", rt.texts.get("stale", resp.audience, lang), stage="stale")
    return Applied(conversation.Turn((stale, *current), resp.id))


def _converse(session: Session, rt: Runtime, inc: Incoming) -> Applied:
    if inc.button is None:
        inbound = engine.Inbound(command="start") if inc.kind == "resume" else inc.inbound
        turn = conversation.converse(
            session,
            rt.context,
            channel=CHANNEL,
            chat_key=inc.chat_key or "",
            inbound=inbound or engine.Inbound(media=True),
            key=inc.key,
            lang=inc.hint or "en",
        )
        return Applied(turn)
    # A press: which prompt it belongs to is decided under the conversation's row lock.
    resp = store.linked_respondent(session, CHANNEL, inc.chat_key or "")
    if resp is None:
        gone = conversation.problem_replies(conversation.GONE, lang=inc.hint or "en")
        return Applied(conversation.Turn(gone))
    resolved, accepted = _resolve(rt, resp, inc.button)
    if resolved is None and not store.seen(session, inc.key):
        return _stale(rt, resp)
    # A re-delivered press no longer fits the prompt; the service answers it as a duplicate.
    inbound = resolved or engine.Inbound(media=True)
    turn = conversation.apply(session, rt.context, resp.id, inbound, key=inc.key, locked=True)
    ok = accepted and not turn.duplicate and all(r.kind != "error" for r in turn.replies)
    return Applied(turn, ok)


def _withdrawal(session: Session, rt: Runtime, inc: Incoming) -> Applied:
    """``/withdraw CODE`` and ``/delete`` ask to confirm; their "yes" button deletes.

    Worded in the language of the chat's conversation, else the app's language.
    """
    resp = store.linked_respondent(session, CHANNEL, inc.chat_key or "")
    lang = resp.language if resp is not None else inc.hint or "en"
    if inc.button is not None:
        replies = withdraw.confirm(session, inc.button.option or "", inc.chat_key or "", lang=lang)
        return Applied(conversation.Turn(replies), accepted=True)  # the prompt shows the choice
    replies = withdraw.command(session, inc.kind, inc.code or "", inc.chat_key or "", lang=lang)
    return Applied(conversation.Turn(replies))


def _news(session: Session, rt: Runtime, inc: Incoming) -> Applied:
    """``/news`` or its button after the last question: keep the chat to send the round's
    "You said, we did" page when it goes up (``surveys.services.followups``)."""
    resp = store.linked_respondent(session, CHANNEL, inc.chat_key or "")
    lang = resp.language if resp is not None else inc.hint or "en"
    if resp is None:
        gone = conversation.problem_replies(conversation.GONE, lang=lang)
        return Applied(conversation.Turn(gone))
    if engine.State.from_dict(resp.state).stage != "done":
        words = rt.texts.get("news_not_finished", resp.audience, lang)
        current = conversation.current_replies(resp.round, resp, rt.context)
        return Applied(conversation.Turn((engine.Reply("info", words), *current), resp.id))
    if not store.claim(session, inc.key, resp.id):
        return Applied(conversation.Turn((), resp.id, duplicate=True))
    followups.ask(
        session,
        rt.settings.secret_key,
        resp.round,
        channel=CHANNEL,
        address=str(inc.chat_id),
        audience=resp.audience,
        language=lang,
    )
    words = rt.texts.get("news_yes", resp.audience, lang)
    return Applied(conversation.Turn((engine.Reply("info", words),), resp.id), accepted=True)


def _offer_news(
    rt: Runtime, session: Session, inc: Incoming, turn: conversation.Turn
) -> list[Outgoing]:
    """After the thank-you, offer to tell them what changed (a button and /news)."""
    if not turn.completed or turn.respondent_id is None:
        return []
    resp = session.get(Respondent, turn.respondent_id)
    if resp is None:
        return []
    lang, aud = resp.language or "en", resp.audience
    button = ((rt.texts.get("tg_news_button", aud, lang), NEWS_CALLBACK),)
    text = rt.texts.get("tg_news_offer", aud, lang)
    return [Outgoing("send", inc.chat_id, text, (button,))]


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
    step = _join if inc.kind == "join" else _converse
    if inc.kind in ("withdraw", "delete") or (
        inc.button is not None and inc.button.stage == withdraw.STAGE
    ):
        step = _withdrawal
    if inc.kind == "news" or (inc.button is not None and inc.button.stage == "news"):
        step = _news
    accepted = False
    offer: list[Outgoing] = []

    def work(session: Session) -> conversation.Turn:
        nonlocal accepted, offer
        applied = step(session, rt, inc)
        accepted = applied.accepted
        if not applied.turn.duplicate:
            offer = _offer_news(rt, session, inc, applied.turn)
        if on_locked is not None:
            on_locked()
        return applied.turn

    turn = conversation.run(rt.transaction, work, label=str(inc.update_id), lang=inc.hint or "en")
    log.info(
        "update %s -> respondent %s%s",
        inc.update_id,
        turn.respondent_id or "-",
        " (duplicate)" if turn.duplicate else "",
    )
    if turn.duplicate:  # stored once already: nothing new to say
        return out
    if inc.message_id is not None:
        if accepted and turn.problem is None:  # show the answer under the question
            edit = render.chosen(inc.chat_id, inc.message_id, inc.message_text, inc.button_label)
        else:  # an old or repeated press: take its buttons away
            edit = Outgoing("clear_buttons", inc.chat_id, message_id=inc.message_id)
        out.append(edit)
    out.extend(render.messages(inc.chat_id, turn.replies))
    out.extend(offer)
    return out
