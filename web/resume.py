"""How a browser finds its place again: an opaque resume token in a cookie per link.

The token is random; only its SHA-256 is stored (``store.token_hash``), so the database
cannot lead back to a browser. One cookie per link (``/r/CODE``, ``/r/CODE/child``, ...):
a parent and a young person sharing a phone each get their own place. The respondent form
and the staff proposals pages both use these.

Devices are shared: the YOT office tablet, a family's one phone. So the place is not kept
for ever: the thank-you page forgets it (the withdrawal code is shown once), a survey left
for ``RESUME_IDLE_MINUTES`` asks "is this still you?" before showing any answer, and a link
opened with ``?device=shared`` (an office tablet) keeps its place only for the browser's
session and starts afresh for the next person after ``SHARED_DEVICE_IDLE_MINUTES``.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response

from surveys.storage import store
from surveys.storage.models import Respondent, Round, utcnow
from web import db, runtime

CHANNEL = "web"
MAX_AGE = 180 * 24 * 3600  # a round runs for weeks; a young person may come back late
DEVICE_COOKIE = "yjv_device"
SHARED = "shared"
#: How long the thank-you page's "leave a way to reach you" form works without the cookie.
CONTACT_TOKEN_AGE = 2 * 3600


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
    """Set the cookie that brings this browser back to its place (a shared device: for the
    browser's session only)."""
    response.set_cookie(
        cookie_name(audience),
        value,
        max_age=None if shared() else MAX_AGE,
        path=cookie_path(rnd),
        httponly=True,
        samesite="Lax",
        secure=bool(runtime().settings.production),
    )


def shared() -> bool:
    """Return True when this browser is a shared device (its link said ``?device=shared``)."""
    return request.args.get("device") == SHARED or request.cookies.get(DEVICE_COOKIE) == SHARED


def mark_shared(response: Response, rnd: Round) -> None:
    """Remember for the browser's session that this is a shared device."""
    response.set_cookie(
        DEVICE_COOKIE,
        SHARED,
        path=cookie_path(rnd),
        httponly=True,
        samesite="Lax",
        secure=bool(runtime().settings.production),
    )


def idle_limit() -> timedelta:
    """Return how long a survey may be left before the next visitor is asked who they are."""
    settings = runtime().settings
    minutes = settings.shared_idle_minutes if shared() else settings.resume_idle_minutes
    return timedelta(minutes=minutes)


def left_idle(resp: Respondent) -> bool:
    """Return True when a survey part-way through was left longer than the idle limit."""
    return resp.completed_at is None and utcnow() - resp.updated_at > idle_limit()


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(runtime().settings.secret_key, salt="yjv-contact")


def contact_token(resp: Respondent) -> str:
    """Return a short-lived token that lets this respondent leave a way to reach them."""
    return _serializer().dumps(resp.id)


def from_contact_token(value: str) -> str | None:
    """Return the respondent id a contact token names, if it is ours and recent."""
    try:
        rid = _serializer().loads(value, max_age=CONTACT_TOKEN_AGE)
    except BadSignature:
        return None
    return rid if isinstance(rid, str) else None


def forget(response: Response, rnd: Round, audience: str | None) -> None:
    """Delete the cookie: this browser no longer has a place in the round."""
    response.delete_cookie(cookie_name(audience), path=cookie_path(rnd))
