"""Sign-in protection beyond the password: per account and address, and known browsers.

An attacker guessing one account's password from one address is refused on that account
after ``ACCOUNT_ADDRESS_LIMIT`` failures, right password or not, while the owner elsewhere
is not. Across addresses the account slows down (``accounts.authenticate``), except in a
browser that has signed in to it before: that browser carries a signed device cookie, so
an attacker cannot keep the owner out of their own account. Every count lives in the
rate-limit store (Redis in production) under the client's real address.
"""

from __future__ import annotations

import hashlib

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.wrappers import Response

from web import limits

#: Failed sign-ins one address may make on one account before it is refused there.
ACCOUNT_ADDRESS_LIMIT = "5 per 15 minutes"
DEVICE_COOKIE = "yjv_device"
DEVICE_MAX_AGE = 180 * 24 * 3600


def _key(email: str, version: int) -> str:
    # The account's session version is part of the key: a successful sign-in, an unlock or
    # a new password starts every address's count again.
    account = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    return f"{account}:{version}:{limits.client_address()}"


def address_refused(email: str, version: int) -> bool:
    """Return True when this address has failed too often on this account just now."""
    return not limits.within("signin-account", ACCOUNT_ADDRESS_LIMIT, _key(email, version))


def count_failure(email: str, version: int) -> None:
    """Count one failed sign-in on this account from this address."""
    limits.allow("signin-account", ACCOUNT_ADDRESS_LIMIT, _key(email, version))


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="yjv-known-device")


def trusted_device() -> int | None:
    """Return the user id this browser has signed in as before, if its cookie is genuine."""
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw:
        return None
    try:
        value = _serializer().loads(raw)
    except BadSignature:
        return None
    return value.get("u") if isinstance(value, dict) and isinstance(value.get("u"), int) else None


def remember_device(response: Response, user_id: int) -> None:
    """Mark this browser as one the user signs in from (it is then never slowed down)."""
    response.set_cookie(
        DEVICE_COOKIE,
        _serializer().dumps({"u": user_id}),
        max_age=DEVICE_MAX_AGE,
        path="/admin",
        httponly=True,
        samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )
