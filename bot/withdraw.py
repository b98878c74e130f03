"""Telegram's ``/withdraw CODE`` and ``/delete``: take answers back, after a confirm button.

``/withdraw CODE`` looks the code up (``surveys.services.withdrawal``) and, when it belongs to
someone, asks "are you sure?" with two buttons; "yes" deletes that respondent's answers.
``/delete`` asks the same, then deletes everything held for this chat in every round.
A wrong, used or malformed code always gets the same words. Attempts with a code are
limited per chat (``WITHDRAW_RATE_LIMIT``, in memory, per process), as on the web.

Callback data of the buttons (the code is the one the person typed, normalised)::

    w:<CODE>   yes, withdraw the answers of this code
    d:all      yes, delete everything for this chat
    x:keep     no, keep my answers
"""

from __future__ import annotations

import logging
import re

from limits import parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy.orm import Session

from surveys.core import engine
from surveys.services import withdrawal

log = logging.getLogger(__name__)

WITHDRAW_RATE_LIMIT = "5 per minute;30 per hour"
STAGE = "confirm"  # the stage of our prompts: their choices' keys are the callback data
CALLBACK = re.compile(r"^(?:w:(?P<code>[A-Z0-9]{1,16})|d:all|x:keep)$")
CODE_FIELD = 64

ASK_CODE = (
    "To delete your answers, send /withdraw and the code from the end of the survey, "
    "like this: /withdraw ABCD-EFGH"
)
NOT_FOUND = (
    "Sorry, we could not find any answers for that code. Please check the code and try "
    "again. If you have used this code before, your answers have already been deleted."
)
SURE = (
    "This will delete your answers. Are you sure?\n\n"
    "If you told us something that means you or someone else may not be safe, we may keep "
    "that part until a worker has checked you are safe. Everything else is deleted now."
)
SURE_ALL = (
    "This will delete everything we have from this chat: all your answers, in every "
    "survey. Are you sure?\n\n"
    "If you told us something that means you or someone else may not be safe, we may keep "
    "that part until a worker has checked you are safe."
)
YES = "Yes, delete my answers"
YES_ALL = "Yes, delete everything"
NO = "No, keep them"
DONE = "Done. Your answers are deleted. Thank you for taking part."
DONE_ALL = "Done. Everything we had from this chat is deleted. Thank you for taking part."
KEPT = "OK, nothing was deleted."
THROTTLED = "You have tried a lot of times. Please wait a few minutes, then try again."

_storage = MemoryStorage()
_limiter = MovingWindowRateLimiter(_storage)


def normalise(code: str) -> str:
    """Return a typed code as the button carries it: letters and digits, upper case."""
    return "".join(ch for ch in code[:CODE_FIELD].upper() if ch.isalnum())[:16]


def is_callback(data: str | None) -> bool:
    """Return True for the callback data of our confirm buttons."""
    return bool(CALLBACK.match(data or ""))


def _info(text: str) -> tuple[engine.Reply, ...]:
    return (engine.Reply("info", text, stage="withdrawal"),)


def _ask(text: str, yes: tuple[str, str]) -> tuple[engine.Reply, ...]:
    return (engine.Reply("prompt", text, choices=(yes, ("x:keep", NO)), stage=STAGE),)


def _allowed(chat_key: str, limit: str = WITHDRAW_RATE_LIMIT) -> bool:
    return all(_limiter.hit(item, "withdraw", chat_key) for item in parse_many(limit))


def reset_limits() -> None:
    """Forget every count (tests)."""
    _storage.reset()


def command(
    session: Session, name: str, arg: str, chat_key: str, *, limit: str = WITHDRAW_RATE_LIMIT
) -> tuple[engine.Reply, ...]:
    """Answer ``/withdraw CODE`` or ``/delete`` with a question and two buttons."""
    if name == "delete":
        return _ask(SURE_ALL, ("d:all", YES_ALL))
    code = normalise(arg)
    if not code:
        return _info(ASK_CODE)
    if not _allowed(chat_key, limit):
        log.info("withdrawal throttled")
        return _info(THROTTLED)
    if withdrawal.find(session, code) is None:
        return _info(NOT_FOUND)
    return _ask(SURE, (f"w:{code}", YES))


def confirm(
    session: Session, data: str, chat_key: str, *, limit: str = WITHDRAW_RATE_LIMIT
) -> tuple[engine.Reply, ...]:
    """Act on a pressed confirm button; the caller commits."""
    m = CALLBACK.match(data or "")
    if m is None or data == "x:keep":
        return _info(KEPT)
    if data == "d:all":
        totals = withdrawal.delete_chat(session, chat_key)
        log.info("chat deleted respondents=%d answers=%d", totals["respondents"], totals["answers"])
        return _info(DONE_ALL)
    if not _allowed(chat_key, limit):
        log.info("withdrawal throttled")
        return _info(THROTTLED)
    result = withdrawal.withdraw(session, m["code"], channel="telegram")
    if not result.found:
        return _info(NOT_FOUND)
    log.info("withdrawal done answers=%d kept=%d", result.answers, result.cases_kept)
    return _info(DONE)
