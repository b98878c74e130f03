"""User management for the lead, everyone's own password, and sign-in throttling per IP.

The lead lists, adds and manages accounts (role, disable/enable, password reset, unlock);
every member of staff can change their own password, which ends their other sessions.
The domain rules (password strength, "always one active lead") live in
``surveys.services.accounts``; this module only translates them to pages.

Sign-in is throttled per client address on top of the per-account lock: an attacker
trying many accounts from one address is slowed down even though no single account
reaches its limit. The counts live in memory (per process): enough for one small service.
"""

from __future__ import annotations

import logging
from typing import cast

from flask import Flask, abort, current_app, flash, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from surveys.core.vocabulary import ROLE_LABELS, ROLES
from surveys.services import accounts, audit
from surveys.storage.models import User
from web import db, throttle
from web.admin import bp, views  # noqa: F401 (the sign-in view must be registered first)
from web.admin.access import LEAD, roles_required
from web.admin.forms import SignInForm
from web.auth import StaffUser
from web.transactions import transaction

log = logging.getLogger("yjvoice.admin")

#: Failed sign-ins allowed per client address (``limits`` syntax; ";" separates limits).
LOGIN_RATE_LIMIT = "10 per minute;30 per hour"
THROTTLED = "Too many sign-in attempts from this network. Please wait a few minutes and try again."


def _login_limit() -> str:
    return current_app.config.get("ADMIN_LOGIN_RATE_LIMIT", LOGIN_RATE_LIMIT)


def _init_throttle(state: BlueprintSetupState) -> None:
    # Runs after views.py registered the sign-in view: wrap it here as the limiter's
    # decorator would, without editing the view. Only failed attempts count (a 302 is a
    # success), and only POSTs.
    throttle(
        cast(Flask, state.app),  # a Flask blueprint is registered on a Flask app
        "admin.login",
        _login_limit,
        methods=["POST"],
        deduct_when=lambda response: response.status_code != 302,
    )


bp.record_once(_init_throttle)


@bp.errorhandler(429)
def _throttled(exc: Exception) -> ResponseReturnValue:
    log.info("sign-in throttled path=%s", request.path)
    return render_template("admin/login.html", form=SignInForm(), error=THROTTLED), 429


class NewUserForm(FlaskForm):
    """A new account: email, role, first password."""

    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    role = StringField("Role", validators=[DataRequired()])  # checked by surveys.services.accounts
    password = PasswordField(
        "First password", validators=[DataRequired(), Length(max=accounts.MAX_PASSWORD_LENGTH)]
    )


class OwnPasswordForm(FlaskForm):
    """The current password, then the new one twice."""

    current = PasswordField("Current password", validators=[DataRequired()])
    new = PasswordField(
        "New password", validators=[DataRequired(), Length(max=accounts.MAX_PASSWORD_LENGTH)]
    )
    confirm = PasswordField("New password again", validators=[DataRequired()])


def _sentence(message: str) -> str:
    message = message.strip()
    return (message[:1].upper() + message[1:]).rstrip(".") + "."


def _user_or_404(user_id: int) -> User:
    try:
        return accounts.get_user(db(), user_id)
    except accounts.AccountError:
        abort(404)


def _password_rules_text() -> str:
    return (
        f"At least {accounts.MIN_PASSWORD_LENGTH} characters, and not a common or easily "
        "guessed password. Three or four unrelated words with spaces work well."
    )


@bp.route("/users")
@roles_required(LEAD)
def users() -> ResponseReturnValue:
    """List every account with its role and state."""
    return render_template(
        "admin/users/list.html",
        users=accounts.list_users(db()),
        labels=ROLE_LABELS,
        is_locked=accounts.is_locked,
        me=current_user.user_id,
    )


@bp.route("/users/new", methods=["GET", "POST"])
@roles_required(LEAD)
def user_new() -> ResponseReturnValue:
    """Add an account with a first password the lead passes on."""
    form = NewUserForm()
    error, status = None, 200
    if form.validate_on_submit():
        try:
            with transaction() as session:
                user = accounts.create_user(
                    session, form.email.data or "", form.password.data or "", form.role.data or ""
                )
                audit.record(
                    session,
                    "user_created",
                    actor=current_user,
                    target=f"user:{user.id}",
                    details={"role": user.role},
                )
        except accounts.AccountError as exc:
            error, status = _sentence(str(exc)), 400
        else:
            log.info("user created user=%s role=%s by=%s", user.id, user.role, current_user.user_id)
            flash(
                f"Account added for {user.email}. Give them the password in person or by "
                "phone, not in an email, and ask them to change it.",
                "success",
            )
            return redirect(url_for("admin.users"))
    elif request.method == "POST":
        error, status = "Please fill in the email, the role and a first password.", 400
    return render_template(
        "admin/users/new.html",
        form=form,
        error=error,
        rules=_password_rules_text(),
        roles=ROLES,
        labels=ROLE_LABELS,
    ), status


USER_ACTIONS = ("role", "disable", "enable", "password", "unlock")


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles_required(LEAD)
def user_manage(user_id: int) -> ResponseReturnValue:
    """Show one account and change its role, state, password or lock."""
    user = _user_or_404(user_id)
    error, status = None, 200
    if request.method == "POST":
        action = request.form.get("action", "")
        if action not in USER_ACTIONS:
            abort(400)
        try:
            with transaction() as session:
                done = _apply(user, action)
                audit.record(
                    session,
                    f"user_{action}",
                    actor=current_user,
                    target=f"user:{user.id}",
                    details={"role": user.role, "active": user.active},
                )
        except accounts.AccountError as exc:
            user = _user_or_404(user_id)
            error, status = _sentence(str(exc)), 400
        else:
            log.info("user changed user=%s action=%s by=%s", user.id, action, current_user.user_id)
            flash(done, "success")
            if user.id == current_user.user_id and (user.role != LEAD or not user.active):
                return redirect(url_for("admin.index"))
            return redirect(url_for("admin.user_manage", user_id=user.id))
    return render_template(
        "admin/users/manage.html",
        user=user,
        error=error,
        roles=ROLES,
        labels=ROLE_LABELS,
        locked=accounts.is_locked(user),
        is_me=user.id == current_user.user_id,
        rules=_password_rules_text(),
    ), status


def _apply(user: User, action: str) -> str:
    session = db()
    if action == "role":
        role = request.form.get("role", "")
        accounts.set_role(session, user, role)
        return f"{user.email} is now: {ROLE_LABELS.get(role, role)}."
    if action in ("disable", "enable"):
        accounts.set_active(session, user, action == "enable")
        if action == "enable":
            return f"{user.email} can sign in again."
        return f"{user.email} is disabled and signed out everywhere."
    if action == "password":
        if user.id == current_user.user_id:
            raise accounts.AccountError("to change your own password, use “Your password”")
        accounts.set_password(session, user, request.form.get("password", ""))
        return (
            f"New password set for {user.email}; they are signed out everywhere. Give it to "
            "them in person or by phone, not in an email."
        )
    accounts.unlock(user)
    return f"{user.email} is unlocked and can try signing in again."


@bp.route("/account/password", methods=["GET", "POST"])
@roles_required(*ROLES)
def own_password() -> ResponseReturnValue:
    """Let anyone signed in change their own password (ending their other sessions)."""
    form = OwnPasswordForm()
    error, status = None, 200
    if form.validate_on_submit():
        user = db().get_one(User, current_user.user_id)  # signed in: the row exists
        try:
            if form.new.data != form.confirm.data:
                raise accounts.AccountError("the two new passwords are not the same")
            with transaction() as session:
                accounts.change_own_password(
                    session, user, form.current.data or "", form.new.data or ""
                )
        except accounts.AccountError as exc:
            error, status = _sentence(str(exc)), 400
        else:
            # The bumped session version ends every other session; keep this one.
            login_user(StaffUser(user))
            log.info("own password changed user=%s", user.id)
            flash("Your password is changed. You are signed out everywhere else.", "success")
            return redirect(url_for("admin.own_password"))
    elif request.method == "POST":
        error, status = "Please fill in all three boxes.", 400
    return render_template(
        "admin/users/password.html", form=form, error=error, rules=_password_rules_text()
    ), status
