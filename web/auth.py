"""Staff sign-in with Flask-Login: sessions that rotate at login, expire and can be ended.

A session cookie names the user *and* the user's ``session_version``; signing out (or a
password change) bumps the version, so every older cookie stops working at once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask, current_app, session
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from surveys.storage.models import User

login_manager = LoginManager()
IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=10)


class StaffUser(UserMixin):
    """The signed-in member of staff, as Flask-Login sees them."""

    def __init__(self, user: User):
        self.user_id = user.id
        self.email = user.email
        self.role = user.role
        self.session_version = user.session_version

    def get_id(self) -> str:
        """Return the id stored in the session: user id and session version."""
        return f"{self.user_id}:{self.session_version}"

    def has_role(self, *roles: str) -> bool:
        """Return True when the user holds one of these roles."""
        return self.role in roles


def _now() -> datetime:
    return datetime.now(UTC)


@login_manager.user_loader
def _load(session_id: str) -> StaffUser | None:
    from web import db

    uid, _, version = session_id.partition(":")
    if not uid.isdigit() or not version.isdigit():
        return None
    user = db().get(User, int(uid))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return StaffUser(user)


def sign_in(user: User) -> None:
    """Start a fresh session for a user who has just proved who they are."""
    session.clear()  # nothing from before sign-in survives (session fixation)
    user.session_version += 1
    user.last_login_at = _now()
    login_user(StaffUser(user))
    session["signed_in_at"] = session["seen_at"] = _now().timestamp()
    session.permanent = False


def sign_out(user: User | None) -> None:
    """End the session here and everywhere else the user is signed in."""
    if user is not None:
        user.session_version += 1
    logout_user()
    session.clear()


def _enforce_timeouts() -> None:
    # Most requests (the form, the webhook) carry no sign-in: skip loading a user.
    if "_user_id" not in session or not current_user.is_authenticated:
        return
    now = _now().timestamp()
    idle = current_app.config.get("ADMIN_IDLE_TIMEOUT", IDLE_TIMEOUT).total_seconds()
    absolute = current_app.config.get("ADMIN_ABSOLUTE_TIMEOUT", ABSOLUTE_TIMEOUT).total_seconds()
    if now - session.get("seen_at", 0) > idle or now - session.get("signed_in_at", 0) > absolute:
        logout_user()
        session.clear()
        session["expired"] = True
        return
    session["seen_at"] = now


def init_app(app: Flask) -> None:
    """Attach sign-in to the app."""
    # Flask-Login's own context processor loads the user for every page rendered; on an
    # anonymous session that holds a CSRF token, "strong" session protection then counts
    # as failed and rewrites the session cookie on every response of the form. Templates
    # get the lazy proxy instead: only pages that show the user (admin) load one.
    login_manager.init_app(app, add_context_processor=False)
    app.context_processor(lambda: {"current_user": current_user})
    login_manager.login_view = "admin.login"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.session_protection = "strong"
    app.before_request(_enforce_timeouts)
