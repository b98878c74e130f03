"""Read a received text: a keyword, a round's code, a withdrawal, or an answer.

Nothing here touches the database or the network. A number's only trace that leaves this
module for storage is ``keyed_hash(secret, "sms", E.164 number)``.

Keywords count in any case, alone in the text (punctuation around them ignored): STOP and
the other opt-out words every UK network and Twilio know, START to opt back in, HELP, SKIP
and BACK; NEWS (NEWYDDION) asks to be told what changed. ``WITHDRAW <code>`` asks to take
answers back; ``DELETE <code>`` confirms.
Choices are read from their number ("2"), their words ("good") or a close misspelling
("goood"); ``choice_for`` does that against the options of the question being asked.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import TypedDict

from surveys.core import engine
from surveys.core.vocabulary import SMS
from surveys.storage import store

CHANNEL = SMS
#: Opt-out and opt-in words (Twilio's defaults; the networks use the same).
OPT_OUT = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "optout"})
OPT_IN = frozenset({"start", "unstop"})
KEYWORDS = {"help": "help", "info": "help", "skip": "skip", "back": "back"}
#: "Tell me what changed" at the end of a conversation ("You said, we did").
NEWS = frozenset({"news", "newyddion"})
#: The longest text read; longer ones are cut (a free-text answer is limited far below it).
MAX_TEXT = 5_000
_EDGES = re.compile(r"^[\s\W_]+|[\s\W_]+$")
_CODE = re.compile(r"^([A-Za-z0-9]{4,12})(?:[\s,.:-]+([A-Za-z ']{2,40}))?$")
_WITHDRAW = re.compile(r"^(withdraw|delete)\b[\s:,-]*(.*)$", re.IGNORECASE | re.DOTALL)
_AUDIENCE_WORDS = {
    "child": ("child", "young person", "young", "kid", "teen", "me"),
    "parent": ("parent", "carer", "mum", "dad", "guardian"),
    "staff": ("staff", "worker", "practitioner", "volunteer"),
    "partner": ("partner", "police", "school", "health", "board"),
}
_PROVIDER_ID = {
    "notify": re.compile(r"^[0-9a-fA-F-]{8,64}$"),
    "twilio": re.compile(r"^(?:SM|MM)[0-9a-fA-F]{32}$"),
}


@dataclass(frozen=True)
class Incoming:
    """One received text, read: who sent it (in memory only) and what it asks for."""

    provider: str  # notify | twilio
    message_id: str
    number: str  # E.164; used to reply, never stored
    text: str
    kind: str  # opt_out | opt_in | help | command | news | withdraw | join | input
    command: str | None = None  # help | skip | back, for kind "command" / "help"
    code: str | None = None  # join: the round's code; withdraw: the withdrawal code
    audience: str | None = None  # join: an audience named after the code
    lang: str | None = None  # join: a language named after the code ("ABC234 cymraeg")
    confirm: bool = False  # withdraw: DELETE <code> (do it), not WITHDRAW <code> (ask)

    @property
    def key(self) -> str:
        """Return the delivery key: the provider's own message id, stored once."""
        return delivery_key(self.provider, self.message_id)


def delivery_key(provider: str, message_id: str) -> str:
    """Return the inbound key of a received text (``sms:notify:<id>``, ``sms:twilio:<sid>``)."""
    return f"sms:{provider}:{message_id}"


def valid_message_id(provider: str, message_id: object) -> bool:
    """Return True when a provider's message id has the shape that provider uses."""
    pattern = _PROVIDER_ID.get(provider)
    return isinstance(message_id, str) and pattern is not None and bool(pattern.match(message_id))


def chat_key(secret: str, number: str) -> str:
    """Return the keyed hash a number is known by (the only stored trace of it)."""
    return store.keyed_hash(secret, "sms", number)


def word(text: str) -> str:
    """Return a text folded for matching: lower case, no punctuation at either end."""
    return _EDGES.sub("", text.casefold()).replace("’", "'")


def _after_code(raw: str | None) -> tuple[str | None, str | None] | None:
    """Return (audience, language) named after a code, or None when it names something else."""
    if not raw:
        return None, None
    audience = lang = None
    rest = word(raw)
    texts = engine.default_texts()
    for _ in range(3):
        if not rest:
            break
        for size in (2, 1):  # "young person", then single words
            head = " ".join(rest.split()[:size])
            if audience is None and _audience(head) is not None:
                audience, rest = _audience(head), " ".join(rest.split()[size:])
                break
            if lang is None and texts.language_word(head) is not None:
                lang, rest = texts.language_word(head), " ".join(rest.split()[size:])
                break
        else:
            return None
    return None if rest else (audience, lang)


def _audience(raw: str | None) -> str | None:
    if not raw:
        return None
    folded = word(raw)
    for aud, words in _AUDIENCE_WORDS.items():
        if folded in words or folded == aud:
            return aud
    return None


class _Received(TypedDict):
    """What every reading of a text carries (``Incoming``'s first fields)."""

    provider: str
    message_id: str
    number: str
    text: str


def read(provider: str, message_id: str, number: str, body: str) -> Incoming:
    """Read one received text (the number already in E.164)."""
    text = engine.clean_text(body[:MAX_TEXT])
    base: _Received = {
        "provider": provider,
        "message_id": message_id,
        "number": number,
        "text": text,
    }
    folded = word(text)
    if folded in OPT_OUT:
        return Incoming(kind="opt_out", **base)
    if folded in OPT_IN:
        return Incoming(kind="opt_in", **base)
    if folded in NEWS:
        return Incoming(kind="news", **base)
    if folded in KEYWORDS:
        cmd = KEYWORDS[folded]
        return Incoming(kind="help" if cmd == "help" else "command", command=cmd, **base)
    m = _WITHDRAW.match(text)
    if m is not None and len(text) <= 64:
        code = "".join(ch for ch in m[2].upper() if ch.isalnum())[:16]
        return Incoming(kind="withdraw", code=code, confirm=m[1].lower() == "delete", **base)
    m = _CODE.match(text)
    after = _after_code(m[2]) if m is not None else None
    if m is not None and after is not None:
        # It may be an answer ("thanks" is shaped like a code): the handler joins only
        # when a round has this code.
        audience, lang = after
        return Incoming(kind="join", code=m[1].upper(), audience=audience, lang=lang, **base)
    return Incoming(kind="input", **base)


def choice_for(
    text: str, choices: tuple[tuple[str, str], ...], lang: str = engine.ENGLISH
) -> str | None:
    """Return the option a reply names: its number, its words, or a close misspelling."""
    folded = word(text)
    if not folded:
        return None
    # "1", "1.", "option 1", "1 very good"
    m = re.match(r"^(?:option\s*)?(\d{1,2})\b", folded)
    if m is not None:
        index = int(m[1])
        return choices[index - 1][0] if 1 <= index <= len(choices) else None
    names: dict[str, str] = {}
    for key, label in choices:
        names[word(label)] = key
        names[key.replace("_", " ")] = key
    if folded in names:
        return names[folded]
    meaning = engine.default_texts().typed(folded, lang)
    if meaning in ("yes", "no") and meaning in names.values():
        return meaning
    close = difflib.get_close_matches(folded, list(names), n=2, cutoff=0.75)
    if len(close) == 1 or (close and names[close[0]] == names[close[-1]]):
        return names[close[0]]
    return None


def audience_choice(
    text: str, audiences: tuple[str, ...], lang: str = engine.ENGLISH
) -> str | None:
    """Return the audience a reply to "who are you?" names (a number or a word)."""
    labels = tuple((a, engine.default_texts().label(a, lang)) for a in audiences)
    found = choice_for(text, labels, lang)
    if found is not None:
        return found
    named = _audience(text)
    return named if named in audiences else None
