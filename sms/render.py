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


def _t(name: str, audience: str | None, **fmt: object) -> str:
    return engine.default_texts().get(name, audience, **fmt)


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


def _piece(reply: engine.Reply, audience: str | None, code: str) -> str | None:
    stage = reply.stage
    if stage == "welcome":
        return None  # the consent text says hello
    if stage == "audience":
        return _t("sms_audience", audience) + "\n" + numbered(reply.choices)
    if stage == "consent":
        return _t("sms_consent", audience)
    if stage == "question":
        full = question(reply)
        return full if sms_text.parts(full) <= 2 else question(reply, with_help=False)
    if stage == "help":
        return _t("sms_help", audience)
    if stage == "declined":
        return _t("sms_declined", audience)
    if stage == "done":
        if code:
            return _t("sms_thanks", audience, code=code) + "\n" + _t("danger", audience)
        return _t("finished", audience)
    if stage in ("unknown_round", "gone"):
        return _t(f"sms_{stage}", audience)
    if reply.kind == "error" and reply.text == _t("pick_one", audience):
        return _t("sms_pick_one", audience)
    return reply.text


def texts(
    replies: Iterable[engine.Reply], audience: str | None = None, *, code: str = ""
) -> list[str]:
    """Return the texts for one delivery's replies (``code``: the withdrawal code to show)."""
    replies = list(replies)
    if any(r.stage == "help" for r in replies):
        # HELP answers with the help text alone: the question is the text before it.
        replies = [r for r in replies if r.stage != "question"]
    pieces = [p for r in replies if (p := _piece(r, audience, code))]
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
