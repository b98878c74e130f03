"""Turn the engine's replies into Telegram messages, and send them through a PTB bot.

An ``Outgoing`` is plain data (what to call, on which chat, with which text and buttons),
so the handler stays synchronous and testable and the sending can happen on whichever
event loop owns the bot: the polling Application's, or the web process's sender thread.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import Forbidden, TelegramError

from bot.translate import callback_data
from surveys.core import engine

log = logging.getLogger(__name__)
TEXT_LIMIT = 4096  # Telegram's longest message
CHOSEN_MARK = "\n\n✓ "

Keyboard = tuple[tuple[tuple[str, str], ...], ...]  # rows of (label, callback data)


@dataclass(frozen=True)
class Outgoing:
    """One call to the Bot API: send a message, answer a button press, or edit a message."""

    method: str  # send | answer | edit_text | clear_buttons
    chat_id: int | None = None
    text: str = ""
    keyboard: Keyboard = ()
    message_id: int | None = None
    callback_query_id: str | None = None


def prompt_text(reply: engine.Reply) -> str:
    """Return a reply's text as the bot shows it: progress first, help line last."""
    text = reply.text
    if reply.progress is not None:
        text = f"({reply.progress[0]}/{reply.progress[1]}) {text}"
    if reply.help and reply.kind == "prompt":
        text = f"{text}\n\n{reply.help}"
    return text


def keyboard(reply: engine.Reply) -> Keyboard:
    """Return a prompt's options as inline buttons, one per row (easy to read and tap)."""
    return tuple(
        ((label, callback_data(reply, i, key)),) for i, (key, label) in enumerate(reply.choices)
    )


def messages(chat_id: int, replies: Iterable[engine.Reply]) -> list[Outgoing]:
    """Return the messages for a step's replies; an error is sent together with its prompt."""
    out: list[Outgoing] = []
    pending: list[str] = []  # error texts waiting for the prompt they explain
    for reply in replies:
        text = prompt_text(reply)
        if reply.kind == "error":
            pending.append(text)
            continue
        text = "\n\n".join([*pending, text])
        pending = []
        out.append(Outgoing("send", chat_id, text[:TEXT_LIMIT], keyboard(reply)))
    if pending:
        out.append(Outgoing("send", chat_id, "\n\n".join(pending)[:TEXT_LIMIT]))
    return out


def chosen(chat_id: int, message_id: int, text: str | None, label: str | None) -> Outgoing:
    """Return the edit that shows an answered prompt with its chosen option, buttons gone."""
    if text and label and len(text) + len(CHOSEN_MARK) + len(label) <= TEXT_LIMIT:
        return Outgoing("edit_text", chat_id, text + CHOSEN_MARK + label, message_id=message_id)
    return Outgoing("clear_buttons", chat_id, message_id=message_id)


def webhook_reply(outgoing: Sequence[Outgoing]) -> tuple[dict[str, str] | None, list[Outgoing]]:
    """Split off the call a webhook can answer Telegram with; return it and the rest.

    Telegram executes one Bot API call found in a webhook response's JSON body (``method``
    plus its parameters). A button press's acknowledgement (``answerCallbackQuery``) goes
    that way: its result is never used, and it is not a message, so PTB's rate limiter
    (which only counts calls to a chat) and the chat's reply order do not apply to it.
    Everything else is sent through PTB, in order.
    """
    rest = list(outgoing)
    for i, o in enumerate(rest):
        if o.method == "answer" and o.callback_query_id is not None:
            del rest[i]
            return {"method": "answerCallbackQuery", "callback_query_id": o.callback_query_id}, rest
    return None, rest


def markup(rows: Keyboard) -> InlineKeyboardMarkup | None:
    """Return PTB's inline keyboard for rows of (label, callback data)."""
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


async def deliver(bot: Bot, outgoing: Sequence[Outgoing], *, update_id: int | None = None) -> int:
    """Send messages in order; return how many calls succeeded. Failures are logged by type."""
    done = 0
    blocked: set[int] = set()
    for o in outgoing:
        if o.chat_id is not None and o.chat_id in blocked:
            continue
        try:
            if o.method == "send" and o.chat_id is not None:
                await bot.send_message(o.chat_id, o.text, reply_markup=markup(o.keyboard))
            elif o.method == "answer" and o.callback_query_id is not None:
                await bot.answer_callback_query(o.callback_query_id)
            elif o.method == "edit_text":
                await bot.edit_message_text(o.text, chat_id=o.chat_id, message_id=o.message_id)
            elif o.method == "clear_buttons":
                await bot.edit_message_reply_markup(chat_id=o.chat_id, message_id=o.message_id)
            else:
                # A send without a chat or an answer without a query is a bug upstream.
                raise ValueError(f"unknown or incomplete outgoing call {o.method!r}")
            done += 1
        except Forbidden:
            # The person blocked the bot: nothing more can reach this chat.
            log.info("update %s: chat unreachable (%s)", update_id, o.method)
            if o.chat_id is not None:
                blocked.add(o.chat_id)
        except TelegramError as exc:
            # An old button's query expired, a message was already edited, a network blip:
            # the answer is committed either way; /start shows the current question again.
            log.warning("update %s: %s failed: %s", update_id, o.method, type(exc).__name__)
    return done
