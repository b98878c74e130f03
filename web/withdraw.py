"""``/r/withdraw``: a young person takes their answers back with the code they were given.

GET asks for the code in plain words. POST ``step=check`` looks it up and asks "are you
sure?"; POST ``step=confirm`` deletes (``surveys.services.withdrawal``) and redirects to a page
saying it is done (Post/Redirect/Get, so a reload deletes nothing twice). A wrong, reused,
expired or malformed code always gets the same page with the same words.

Attempts are limited per client address (every POST counts: 5 a minute, 30 an hour by
default, ``WITHDRAW_RATE_LIMIT``) with the limiter the admin sign-in already uses; a
throttled attempt gets a friendly 429 page. Forms carry the app-wide CSRF token.
"""

from __future__ import annotations

import logging
from typing import cast

from flask import Blueprint, Flask, current_app, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext

from surveys.services import withdrawal
from web import db, throttle
from web.errors import error_page
from web.transactions import transaction

bp = Blueprint("withdraw", __name__)
log = logging.getLogger("yjvoice.web.withdraw")

#: Attempts allowed per client address (``limits`` syntax; ";" separates limits).
WITHDRAW_RATE_LIMIT = "5 per minute;30 per hour"
MAX_CODE_FIELD = withdrawal.MAX_CODE_INPUT
NOT_FOUND = lazy_gettext(
    "Sorry, we could not find any answers for that code. Please check the code and try "
    "again. If you have used this code before, your answers have already been deleted."
)
NO_CODE = lazy_gettext("Please type the code from the thank-you page.")
THROTTLED_HEADING = lazy_gettext("Please wait a little")
THROTTLED = lazy_gettext(
    "You have tried a lot of times. Please wait a few minutes, then try again. "
    "If you need help, ask the worker who gave you the link."
)
TRY_LATER = lazy_gettext("Try again later")


def _limit() -> str:
    return current_app.config.get("WITHDRAW_RATE_LIMIT", WITHDRAW_RATE_LIMIT)


def _form(error: str | None = None, code: str = "", status: int = 200) -> ResponseReturnValue:
    message = str(error) if error is not None else None
    return render_template("withdraw/form.html", error=message, code=code), status


@bp.route("/r/withdraw", methods=["GET", "POST"])
def withdraw() -> ResponseReturnValue:
    """Ask for the code (GET); check it, then confirm and delete (POST)."""
    if request.method != "POST":
        return _form()
    code = (request.form.get("code") or "")[:MAX_CODE_FIELD].strip()
    step = request.form.get("step", "check")
    if not code:
        return _form(NO_CODE)
    if step == "confirm":
        with transaction() as session:
            result = withdrawal.withdraw(session, code, channel="web")  # no match changes nothing
        if not result.found:
            log.info("withdrawal refused: no match")
            return _form(NOT_FOUND, code)
        log.info("withdrawal done answers=%d kept=%d", result.answers, result.cases_kept)
        return redirect(url_for(".done"), 303)
    if withdrawal.find(db(), code) is None:
        log.info("withdrawal check: no match")
        return _form(NOT_FOUND, code)
    return render_template("withdraw/confirm.html", code=code)


@bp.get("/r/withdraw/done")
def done() -> str:
    """Say the answers are deleted."""
    return render_template("withdraw/done.html")


@bp.errorhandler(429)
def _throttled(exc: Exception) -> ResponseReturnValue:
    log.info("withdrawal throttled")
    return error_page(
        429,
        str(THROTTLED_HEADING),
        str(THROTTLED),
        link=url_for(".withdraw"),
        link_text=str(TRY_LATER),
    )


def _init_throttle(state: BlueprintSetupState) -> None:
    # A Flask blueprint is registered on a Flask app (the state's type says any App).
    throttle(cast(Flask, state.app), "withdraw.withdraw", _limit, methods=["POST"])


bp.record_once(_init_throttle)
