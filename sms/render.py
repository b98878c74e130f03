"""Turn the engine's replies into text messages: one question per text, numbered options.

What one delivery says goes out as one text when it fits (a re-ask and its question, "going
back" and the question before), else as one text per reply. Each text is our own wording
made GSM-7 safe (``surveys.core.sms_text.normalise``: no curly quotes or emoji forcing a
Unicode text) and never longer than Notify's 918 characters. SMS wording replaces the
screen wording where a screen says "tap" or shows buttons (``sms_*`` in messages.yaml).
"""

from __future__ import annotations

from collections.abc import Iterable

from surveys.core import engine, sms_text
from surveys.core.vocabulary import ENGLISH

#: Parts a question may take: English stays in GSM-7; Welsh letters make a Unicode text.
MAX_PARTS = {ENGLISH: 2}
MAX_PARTS_OTHER = 3


def numbered(choices: Iterable[tuple[str, str]]) -> str:
    """Return options as a text shows them: "1 Very good", one a line."""
    return "\n".join(f"{i} {label}" for i, (_, label) in enumerate(choices, start=1))


def question(reply: engine.Reply, *, with_help: bool = True) -> str:
    """Return one question as a text: progress, the question, its numbered options."""
    text = reply.text
    if reply.progress is not None:
        text = f"({reply.progress[0]}/{reply.progress[1]}) {text}"
    if with_help and reply.help:
        text += f"\n{reply.help}"
    if reply.choices:
        text += "\n" + numbered(reply.choices)
    return text


def _piece(
    reply: engine.Reply, audience: str | None, lang: str, code: str, texts: engine.Texts
) -> str | None:
    def _t(name: str, **fmt: object) -> str:
        return texts.get(name, audience, lang, **fmt)

    stage = reply.stage
    if stage == "welcome":
        return None  # the consent text says hello
    if stage == "language":
        return reply.text + "\n" + numbered(reply.choices)
    if stage == "audience":
        return _t("sms_audience") + "\n" + numbered(reply.choices)
    if stage == "consent":
        return _t("sms_consent")
    if stage == "question":
        full = question(reply)
        limit = MAX_PARTS.get(lang, MAX_PARTS_OTHER)
        return full if sms_text.parts(full) <= limit else question(reply, with_help=False)
    if stage == "help":
        return _t("sms_help") + "\n" + _t("danger")
    if stage == "declined":
        return _t("sms_declined")
    if stage == "done":
        if code:
            return _t("sms_thanks", code=code) + "\n" + _t("danger")
        return _t("finished")
    if stage in ("unknown_round", "gone", "help_idle"):
        text = _t(f"sms_{stage}")
        return text + "\n" + _t("danger") if stage == "help_idle" else text
    if reply.kind == "error" and reply.text == _t("pick_one"):
        return _t("sms_pick_one")
    return reply.text


def texts(
    replies: Iterable[engine.Reply],
    audience: str | None = None,
    lang: str = ENGLISH,
    *,
    code: str = "",
    wording: engine.Texts | None = None,
) -> list[str]:
    """Return the texts for one delivery's replies, in the person's wording and language.

    ``code`` is the withdrawal code to show at the end; ``wording`` the texts to use (the
    runtime's, which name a second helpline after 999 and Childline where configured).
    """
    wording = wording or engine.default_texts()
    replies = list(replies)
    if any(r.stage == "help" for r in replies):
        # HELP answers with the help text alone: the question is the text before it.
        replies = [r for r in replies if r.stage != "question"]
    pieces = [p for r in replies if (p := _piece(r, audience, lang, code, wording))]
    pieces = [sms_text.normalise(p) for p in pieces]
    pieces = [p for p in pieces if p]
    if not pieces:
        return []
    joined = "\n\n".join(pieces)
    if sms_text.count(joined).characters <= sms_text.MAX_CHARACTERS:
        return [joined]
    return [clip(p) for p in pieces]


def clip(text: str) -> str:
    """Return a text cut to Notify's limit (only ever reached by an absurdly long bank)."""
    while sms_text.count(text).too_long:
        text = text[: len(text) - 20].rstrip() + "..."
    return text
