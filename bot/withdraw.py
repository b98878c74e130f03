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
#: The same words in Welsh (drafted by the team: see docs/cy-glossary.md).
WELSH = {
    ASK_CODE: (
        "I ddileu dy atebion, anfona /withdraw a'r cod o ddiwedd yr arolwg, fel hyn: "
        "/withdraw ABCD-EFGH"
    ),
    NOT_FOUND: (
        "Sori, allen ni ddim dod o hyd i unrhyw atebion ar gyfer y cod yna. Gwiria'r cod a "
        "rho gynnig arall arni. Os wyt ti wedi defnyddio'r cod hwn o'r blaen, mae dy atebion "
        "wedi'u dileu yn barod."
    ),
    SURE: (
        "Bydd hyn yn dileu dy atebion. Wyt ti'n siŵr?\n\n"
        "Os dywedaist ti rywbeth sy'n golygu efallai nad wyt ti neu rywun arall yn ddiogel, "
        "efallai y byddwn ni'n cadw'r rhan honno nes bod gweithiwr wedi gwirio dy fod yn "
        "ddiogel. Mae popeth arall yn cael ei ddileu nawr."
    ),
    SURE_ALL: (
        "Bydd hyn yn dileu popeth sydd gennym o'r sgwrs hon: dy holl atebion, ym mhob arolwg. "
        "Wyt ti'n siŵr?\n\n"
        "Os dywedaist ti rywbeth sy'n golygu efallai nad wyt ti neu rywun arall yn ddiogel, "
        "efallai y byddwn ni'n cadw'r rhan honno nes bod gweithiwr wedi gwirio dy fod yn ddiogel."
    ),
    YES: "Ie, dileu fy atebion",
    YES_ALL: "Ie, dileu popeth",
    NO: "Na, cadw nhw",
    DONE: "Wedi'i wneud. Mae dy atebion wedi'u dileu. Diolch am gymryd rhan.",
    DONE_ALL: (
        "Wedi'i wneud. Mae popeth oedd gennym o'r sgwrs hon wedi'i ddileu. Diolch am gymryd rhan."
    ),
    KEPT: "Iawn, chafodd dim byd ei ddileu.",
    THROTTLED: "Rwyt ti wedi trio lawer gwaith. Aros ychydig funudau, yna rho gynnig arall arni.",
}

_storage = MemoryStorage()
_limiter = MovingWindowRateLimiter(_storage)


def normalise(code: str) -> str:
    """Return a typed code as the button carries it: letters and digits, upper case."""
    return "".join(ch for ch in code[:CODE_FIELD].upper() if ch.isalnum())[:16]


def is_callback(data: str | None) -> bool:
    """Return True for the callback data of our confirm buttons."""
    return bool(CALLBACK.match(data or ""))


def _say(text: str, lang: str) -> str:
    return WELSH.get(text, text) if lang == "cy" else text


def _info(text: str, lang: str = "en") -> tuple[engine.Reply, ...]:
    return (engine.Reply("info", _say(text, lang), stage="withdrawal"),)


def _ask(text: str, yes: tuple[str, str], lang: str = "en") -> tuple[engine.Reply, ...]:
    choices = ((yes[0], _say(yes[1], lang)), ("x:keep", _say(NO, lang)))
    return (engine.Reply("prompt", _say(text, lang), choices=choices, stage=STAGE),)


def _allowed(chat_key: str, limit: str = WITHDRAW_RATE_LIMIT) -> bool:
    return all(_limiter.hit(item, "withdraw", chat_key) for item in parse_many(limit))


def reset_limits() -> None:
    """Forget every count (tests)."""
    _storage.reset()


def command(
    session: Session,
    name: str,
    arg: str,
    chat_key: str,
    *,
    limit: str = WITHDRAW_RATE_LIMIT,
    lang: str = "en",
) -> tuple[engine.Reply, ...]:
    """Answer ``/withdraw CODE`` or ``/delete`` with a question and two buttons."""
    if name == "delete":
        return _ask(SURE_ALL, ("d:all", YES_ALL), lang)
    code = normalise(arg)
    if not code:
        return _info(ASK_CODE, lang)
    if not _allowed(chat_key, limit):
        log.info("withdrawal throttled")
        return _info(THROTTLED, lang)
    if withdrawal.find(session, code) is None:
        return _info(NOT_FOUND, lang)
    return _ask(SURE, (f"w:{code}", YES), lang)


def confirm(
    session: Session,
    data: str,
    chat_key: str,
    *,
    limit: str = WITHDRAW_RATE_LIMIT,
    lang: str = "en",
) -> tuple[engine.Reply, ...]:
    """Act on a pressed confirm button; the caller commits."""
    m = CALLBACK.match(data or "")
    if m is None or data == "x:keep":
        return _info(KEPT, lang)
    if data == "d:all":
        totals = withdrawal.delete_chat(session, chat_key)
        log.info("chat deleted respondents=%d answers=%d", totals["respondents"], totals["answers"])
        return _info(DONE_ALL, lang)
    if not _allowed(chat_key, limit):
        log.info("withdrawal throttled")
        return _info(THROTTLED, lang)
    result = withdrawal.withdraw(session, m["code"], channel="telegram")
    if not result.found:
        return _info(NOT_FOUND, lang)
    log.info("withdrawal done answers=%d kept=%d", result.answers, result.cases_kept)
    return _info(DONE, lang)
