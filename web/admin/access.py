"""Who may do what in the admin pages: roles, the CSRF token, and per-object checks.

Every admin view but the sign-in page is declared with ``roles_required``, which checks, in
this order: signed in (else to the sign-in page), one of the roles (else 403), then on a POST
the CSRF token (else 400). The app-wide CSRF check would run before any of that, so a refused
role would see "400 bad token" instead of "403 not allowed"; these views are exempt from it
because the decorator does the same check itself, third.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import abort, current_app, request
from flask_login import current_user, login_required
from werkzeug.exceptions import RequestEntityTooLarge

from surveys.core.vocabulary import LEAD, REVIEWER, SAFEGUARDING, VIEWER
from surveys.storage import store
from surveys.storage.models import Round
from web import csrf, db

F = TypeVar("F", bound=Callable[..., Any])

#: Roles that may read a round's dashboards and approved quotes.
READERS = (LEAD, REVIEWER, VIEWER)
#: Roles that may review, tag and choose quotes.
REVIEWERS = (LEAD, REVIEWER)
#: Roles that may open the safeguarding queue and raw flagged text.
SAFEGUARDERS = (LEAD, SAFEGUARDING)


def roles_required(
    *roles: str,
    max_body: int | None = None,
    too_big: Callable[..., Any] | None = None,
) -> Callable[[F], F]:
    """Require a signed-in user holding one of ``roles`` (403), then a POST's CSRF token (400).

    An upload names its own size limit in ``max_body`` (the app's is sized for forms): it is
    raised before the token is read. A body over it is a 413, which ``too_big``, when given,
    words instead of the standard page: it gets the view's arguments and ``size`` (the declared
    length, None when the client did not say).
    """

    def decorate(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in roles:
                abort(403)
            config = current_app.config
            if config["WTF_CSRF_ENABLED"] and request.method in config["WTF_CSRF_METHODS"]:
                if max_body is not None:
                    request.max_content_length = max_body
                try:
                    csrf.protect()  # reads the form: only now, after the role and the limit
                except RequestEntityTooLarge:
                    if too_big is None:
                        raise
                    return too_big(*args, size=request.content_length, **kwargs)
            return view(*args, **kwargs)

        wrapper.allowed_roles = roles  # type: ignore[attr-defined]  # read by the route test
        csrf.exempt(f"{view.__module__}.{view.__name__}")  # checked in wrapper instead
        return cast(F, wrapper)  # the same call signature: it passes the view's arguments on

    return decorate


def round_or_404(code: str) -> Round:
    """Return the round with this code, or 404 (every role sees every round of its service)."""
    try:
        return store.get_round(db(), code)
    except store.RoundNotFound:
        abort(404)
