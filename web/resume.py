"""How a browser finds its place again: an opaque resume token in a cookie per link.

The token is random; only its SHA-256 is stored (``store.token_hash``), so the database
cannot lead back to a browser. One cookie per link (``/r/CODE``, ``/r/CODE/child``, ...):
a parent and a young person sharing a phone each get their own place. The respondent form
and the staff proposals pages both use these.
"""

from __future__ import annotations

import secrets

from flask import request
from werkzeug.wrappers import Response

from surveys.storage import store
from surveys.storage.models import Respondent, Round
from web import db, runtime

CHANNEL = "web"
MAX_AGE = 180 * 24 * 3600  # a round runs for weeks; a young person may come back late


def new_token() -> str:
    """Return a fresh random resume token."""
    return secrets.token_urlsafe(32)


def cookie_name(audience: str | None) -> str:
    """Return the name of the cookie that holds this link's token."""
    return f"yjv_{audience or 'any'}"


def cookie_path(rnd: Round) -> str:
    """Return the path a round's cookies are sent to."""
    return f"/r/{rnd.code}"


def token(audience: str | None) -> str | None:
    """Return this link's resume token from its cookie, if it looks like one of ours."""
    value = request.cookies.get(cookie_name(audience), "")
    return value if 32 <= len(value) <= 100 else None


def find(rnd: Round, audience: str | None) -> Respondent | None:
    """Return the respondent this browser is in a round, if any."""
    value = token(audience)
    if value is None:
        return None
    return store.find_respondent(db(), rnd, CHANNEL, store.token_hash(value))


def find_by_code(code: str, audience: str | None, *, lock: bool) -> Respondent | None:
    """Return the respondent and its round in one query (locked for a POST), if any."""
    value = token(audience)
    if value is None:
        return None
    return store.respondent_by_key(db(), code, CHANNEL, store.token_hash(value), lock=lock)


def remember(response: Response, rnd: Round, audience: str | None, value: str) -> None:
    """Set the cookie that brings this browser back to its place."""
    response.set_cookie(
        cookie_name(audience),
        value,
        max_age=MAX_AGE,
        path=cookie_path(rnd),
        httponly=True,
        samesite="Lax",
        secure=bool(runtime().settings.production),
    )


def forget(response: Response, rnd: Round, audience: str | None) -> None:
    """Delete the cookie: this browser no longer has a place in the round."""
    response.delete_cookie(cookie_name(audience), path=cookie_path(rnd))
