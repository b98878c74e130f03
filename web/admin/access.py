"""Who may do what in the admin pages: roles, and per-object checks."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort
from flask_login import current_user, login_required

from surveys.core.vocabulary import LEAD, REVIEWER, SAFEGUARDING, VIEWER
from surveys.storage import store
from surveys.storage.models import Round

F = TypeVar("F", bound=Callable[..., Any])

#: Roles that may read a round's dashboards and approved quotes.
READERS = (LEAD, REVIEWER, VIEWER)
#: Roles that may review, tag and choose quotes.
REVIEWERS = (LEAD, REVIEWER)
#: Roles that may open the safeguarding queue and raw flagged text.
SAFEGUARDERS = (LEAD, SAFEGUARDING)


def roles_required(*roles: str) -> Callable[[F], F]:
    """Require a signed-in user holding one of ``roles`` (403 otherwise)."""

    def decorate(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapper.allowed_roles = roles  # type: ignore[attr-defined]  # read by the route test
        return wrapper  # type: ignore[return-value]

    return decorate


def round_or_404(code: str) -> Round:
    """Return the round with this code, or 404 (every role sees every round of its service)."""
    from web import db

    try:
        return store.get_round(db(), code)
    except store.RoundNotFound:
        abort(404)
