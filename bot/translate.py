"""Translate a Telegram Update into what the conversation engine understands.

Nothing here touches the database or the network. The only trace of a Telegram user that
leaves this module for storage is ``keyed_hash(secret, "tg", user id)``; chat ids, message
texts and button labels stay in memory to address and word the reply.

Buttons carry compact callback data (Telegram allows 64 bytes) naming the stage they
belong to, so a press on an old message is recognised and refused kindly::

    l:<en|cy>                      the "Cymraeg / English" buttons (a round in two languages)
    a:<audience>                   the "who are you?" buttons
    c:<yes|no>                     the consent buttons
    q:<10 hex of sha256(qid)>:<k>  a question's option: its key, or "#<index>" if too long
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TypedDict

from telegram import CallbackQuery, Message, Update

from bot import withdraw
from surveys.core import engine
from surveys.core.vocabulary import AUDIENCES, LANGUAGES
from surveys.storage import store

CHANNEL = "telegram"
CALLBACK_LIMIT = 64  # bytes, Telegram's limit for callback_data
COMMANDS = ("help", "skip", "back", "stop")
#: "Tell me what changed" ("You said, we did"), after the last question; and its button.
NEWS_COMMANDS = ("news", "newyddion")
NEWS_CALLBACK = "n:yes"
#: Commands that switch the conversation's language (also typed "Cymraeg" / "English").
LANGUAGE_COMMANDS = {"cymraeg": "cy", "welsh": "cy", "english": "en", "saesneg": "en"}
_CALLBACK = re.compile(
    r"^(?:l:(?P<lang>[a-z]{2})|a:(?P<aud>[a-z]+)|c:(?P<consent>yes|no)"
    r"|q:(?P<q>[0-9a-f]{10}):(?P<opt>#\d{1,3}|[a-z0-9_]+))$"
)
_PAYLOAD_SPLIT = re.compile(r"[-_]")


@dataclass(frozen=True)
class Button:
    """A pressed button: the stage it was shown at and the option it names."""

    stage: str  # language | audience | consent | question | news | unknown
    option: str | None = None  # an option key, or "#<index>" for a long key
    question: str | None = None  # question token, for the question stage

    def matches(self, stage: str, question_id: str | None) -> bool:
        """Return True when the button belongs to the prompt the respondent is at."""
        if self.stage != stage:
            return False
        return stage != "question" or self.question == question_token(question_id or "")


@dataclass(frozen=True)
class Incoming:
    """One update, translated: who it is from (pseudonymously) and what it says."""

    update_id: int
    kind: str  # join | resume | input | news | withdraw | delete | ignore
    chat_id: int | None = None
    chat_key: str | None = None
    code: str | None = None  # join: the round's invite code
    audience: str | None = None  # join: the audience the link fixes, if any
    inbound: engine.Inbound | None = None  # input: what to give the engine
    button: Button | None = None  # input: a pressed button, resolved under the row lock
    callback_query_id: str | None = None
    message_id: int | None = None  # the message whose button was pressed (if editable)
    message_text: str | None = None  # its text, to show the chosen answer under it
    button_label: str | None = None
    #: The person's Telegram app language, when it is one we have: only a hint (it orders
    #: the language buttons and words a problem); their choice is what counts.
    hint: str | None = None
    origin: str = ""  # "m<message id>" or "c<callback query id>": what this update carries

    @property
    def key(self) -> str:
        """Return the delivery key this update is stored under (exactly once)."""
        return delivery_key(self.update_id, self.origin, self.chat_key or "")


def delivery_key(update_id: int, origin: str, chat_key: str) -> str:
    """Return the inbound key of a Telegram update.

    Telegram reuses update ids after a week without updates, so the id alone would drop a
    new message as a "duplicate" of an old one. The message (or button press) it carries and
    a short piece of the chat's keyed hash make the key unique to this delivery; a retried
    delivery of the same update has all three the same.
    """
    return f"tg:{update_id}:{origin}:{chat_key[:12]}"


def chat_key(secret: str, user_id: int) -> str:
    """Return the pseudonymous key of a Telegram user (the only stored trace of them)."""
    return store.keyed_hash(secret, "tg", str(user_id))


def question_token(question_id: str) -> str:
    """Return the short, stable token naming a question in callback data."""
    return hashlib.sha256(question_id.encode()).hexdigest()[:10]


def callback_data(reply: engine.Reply, index: int, key: str) -> str:
    """Return the callback data of one option of a prompt (at most 64 bytes)."""
    if reply.stage == withdraw.STAGE:  # /withdraw and /delete: the key is the data
        return key
    if reply.stage == "language":
        return f"l:{key}"
    if reply.stage == "audience":
        return f"a:{key}"
    if reply.stage == "consent":
        return f"c:{key}"
    prefix = f"q:{question_token(reply.question_id or '')}:"
    data = prefix + key
    if len(data.encode()) > CALLBACK_LIMIT or not re.fullmatch(r"[a-z0-9_]+", key):
        data = f"{prefix}#{index}"
    return data


def parse_callback(data: str | None) -> Button:
    """Return the button that callback data names (stage "unknown" when it is not ours)."""
    if withdraw.is_callback(data):
        return Button(withdraw.STAGE, data)
    if data == NEWS_CALLBACK:
        return Button("news", "yes")
    m = _CALLBACK.match(data or "")
    if m is None:
        return Button("unknown")
    if m["lang"] is not None:
        return Button("language", m["lang"]) if m["lang"] in LANGUAGES else Button("unknown")
    if m["aud"] is not None:
        return Button("audience", m["aud"]) if m["aud"] in AUDIENCES else Button("unknown")
    if m["consent"] is not None:
        return Button("consent", m["consent"])
    return Button("question", m["opt"], m["q"])


def parse_start(payload: str) -> tuple[str, str | None]:
    """Split a deep-link payload ``CODE`` or ``CODE-audience`` into code and audience."""
    payload = payload.strip()
    parts = _PAYLOAD_SPLIT.split(payload)
    if len(parts) == 2 and parts[1].lower() in AUDIENCES:
        return parts[0], parts[1].lower()
    return payload, None


def _command(text: str) -> tuple[str, str] | None:
    """Return (command, argument) for "/cmd[@bot] arg", or None for ordinary text."""
    if not text.startswith("/"):
        return None
    head, _, rest = text.partition(" ")
    name = head[1:].split("@", 1)[0].casefold()
    if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
        return None  # "/ " or "/:-)" is typed text, not a command
    return name, rest.strip()


def language_hint(code: str | None) -> str | None:
    """Return the language a Telegram ``language_code`` ("cy", "en-GB") suggests, if ours."""
    primary = (code or "").split("-")[0].lower()
    return primary if primary in LANGUAGES else None


class _Sender(TypedDict):
    """What every ``Incoming`` read from a message carries besides its kind."""

    chat_id: int
    chat_key: str
    origin: str
    hint: str | None


def _from_message(update_id: int, msg: Message, secret: str, *, edited: bool) -> Incoming:
    user = msg.from_user
    if msg.chat.type != "private" or user is None or user.is_bot:
        return Incoming(update_id, "ignore")
    base: _Sender = {
        "chat_id": msg.chat.id,
        "chat_key": chat_key(secret, user.id),
        "origin": f"m{msg.message_id}",
        "hint": language_hint(user.language_code),
    }
    if edited or msg.text is None:
        # Stickers, photos, voice notes, documents, locations... and edits of earlier
        # messages: nothing we can read as an answer. Ask for typed words instead.
        return Incoming(update_id, "input", inbound=engine.Inbound(media=True), **base)
    cmd = _command(msg.text)
    if cmd is None:
        return Incoming(update_id, "input", inbound=engine.Inbound(text=msg.text), **base)
    name, arg = cmd
    if name == "start":
        if not arg:
            return Incoming(update_id, "resume", **base)
        code, audience = parse_start(arg)
        return Incoming(update_id, "join", code=code, audience=audience, **base)
    if name in ("withdraw", "delete"):  # code: the withdrawal code typed after /withdraw
        return Incoming(update_id, name, code=arg if name == "withdraw" else None, **base)
    if name in NEWS_COMMANDS:
        return Incoming(update_id, "news", **base)
    if name in LANGUAGE_COMMANDS:
        inbound = engine.Inbound(language=LANGUAGE_COMMANDS[name])
        return Incoming(update_id, "input", inbound=inbound, **base)
    # Unknown commands get help rather than being stored as an answer.
    command = name if name in COMMANDS else "help"
    return Incoming(update_id, "input", inbound=engine.Inbound(command=command), **base)


def _from_callback(update_id: int, cq: CallbackQuery, secret: str) -> Incoming:
    msg = cq.message
    if msg is not None and msg.chat.type != "private":
        return Incoming(update_id, "ignore", callback_query_id=cq.id)
    message_id = text = label = None
    if isinstance(msg, Message) and msg.is_accessible:
        message_id, text = msg.message_id, msg.text
        markup = msg.reply_markup
        for row in markup.inline_keyboard if markup else ():
            for button in row:
                if button.callback_data == cq.data:
                    label = button.text
    return Incoming(
        update_id,
        "input",
        chat_id=msg.chat.id if msg is not None else cq.from_user.id,
        chat_key=chat_key(secret, cq.from_user.id),
        button=parse_callback(cq.data if isinstance(cq.data, str) else None),
        callback_query_id=cq.id,
        message_id=message_id,
        message_text=text,
        button_label=label,
        hint=language_hint(cq.from_user.language_code),
        origin=f"c{cq.id}"[:24],
    )


def translate(update: Update, secret: str) -> Incoming:
    """Translate one update; anything not from a person in a private chat is ignored."""
    if update.callback_query is not None:
        return _from_callback(update.update_id, update.callback_query, secret)
    if update.message is not None:
        return _from_message(update.update_id, update.message, secret, edited=False)
    if update.edited_message is not None:
        return _from_message(update.update_id, update.edited_message, secret, edited=True)
    return Incoming(update.update_id, "ignore")
