"""The one way the web app shows an error: a plain message page with a status code.

A view that cannot go on either calls ``abort(status)`` (the standard words for that status,
from ``ERROR_PAGES``) or returns ``error_page(status, heading, message)`` (words of its own,
and perhaps a link onwards). A bad or missing CSRF token, every HTTP error and any unexpected
exception reach ``error_page`` through the handlers ``init_app`` installs, which roll back the
request's session first. A form filled in wrongly is not an error page: its view shows the
form again with the problem and a 4xx status.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from flask import Flask, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

log = logging.getLogger("yjvoice.web")

#: The heading and message shown for each status a view may ``abort`` with.
ERROR_PAGES: dict[int, tuple[str, str]] = {
    400: (
        lazy_gettext("Something went wrong"),
        lazy_gettext("Sorry, we could not understand what was sent."),
    ),
    403: (
        lazy_gettext("You can't open this page"),
        lazy_gettext("Sorry, this page is not available."),
    ),
    404: (
        lazy_gettext("Page not found"),
        lazy_gettext("Sorry, we can't find that page. Please check the link you were given."),
    ),
    405: (
        lazy_gettext("Something went wrong"),
        lazy_gettext("Sorry, that did not work. Please go back to your link."),
    ),
    413: (
        lazy_gettext("That was too long"),
        lazy_gettext(
            "Sorry, that was too much to send in one go. Please make your answer shorter."
        ),
    ),
    500: (
        lazy_gettext("Sorry, something went wrong"),
        lazy_gettext(
            "Sorry, something went wrong on our side. Your answers so far are safe. "
            "Please try again in a minute."
        ),
    ),
}


def error_page(status: int, heading: str, message: str, **extra: Any) -> tuple[str, int]:
    """Render a plain, friendly message page with a status code."""
    return render_template("message.html", heading=heading, message=message, **extra), status


def init_app(app: Flask) -> None:
    """Show every CSRF failure, HTTP error and unexpected exception as an error page."""
    app.register_error_handler(CSRFError, _csrf_refused)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)


def _rollback() -> None:
    from web import rollback  # the package imports this module first

    rollback()


def _csrf_refused(exc: CSRFError) -> tuple[str, int]:
    log.info("csrf refused path=%s reason=%s", request.path, exc.description)
    link = None
    if request.endpoint == "public.respond":
        link = url_for(request.endpoint, **(request.view_args or {}))
    return error_page(
        400,
        _("Please try that again"),
        _(
            "Sorry, this page was open too long, or your browser blocked our cookie, so we "
            "could not save that. Nothing was saved. Please open your link again."
        ),
        link=link,
        link_text=_("Open the survey again"),
    )


def _http_error(exc: HTTPException) -> Response | tuple[str, int]:
    status = exc.code or 500
    if status not in ERROR_PAGES:
        return exc.get_response()
    if status >= 500:
        _rollback()
    heading, message = ERROR_PAGES[status]
    return error_page(status, str(heading), str(message))


def _unexpected(exc: Exception) -> tuple[str, int]:
    _rollback()
    if isinstance(exc, OperationalError | PoolTimeout):
        # The database is down, frozen or overloaded: say "try again", not "our fault".
        log.error("database unavailable %s path=%s", type(exc).__name__, request.path)
        heading, message = ERROR_PAGES[500]
        return error_page(503, heading, message)
    # Frames only: an exception's message can quote SQL parameters, i.e. answer text.
    frames = "".join(traceback.format_tb(exc.__traceback__))
    log.error("unhandled %s path=%s\n%s", type(exc).__name__, request.path, frames)
    heading, message = ERROR_PAGES[500]
    return error_page(500, str(heading), str(message))
