"""Sign-in, sign-out and the rounds overview."""

from __future__ import annotations

import logging

from flask import redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import func, select

from surveys.core.vocabulary import ROLES
from surveys.services import accounts, audit
from surveys.storage import store
from surveys.storage.models import Answer, Respondent, User
from web import db
from web.admin import bp, signin
from web.admin.access import LEAD, READERS, SAFEGUARDING, roles_required
from web.admin.forms import SignInForm
from web.auth import sign_in, sign_out

log = logging.getLogger("yjvoice.admin")


#: Where each role lands after signing in (the endpoint of its main page).
HOME_ENDPOINTS = {SAFEGUARDING: "admin.safeguarding_queue"}


def home_for(role: str) -> str:
    """Return the URL a role starts from."""
    return url_for(HOME_ENDPOINTS.get(role, "admin.index"))


def _safe_next(target: str | None) -> str | None:
    # Only local admin paths: never an open redirect.
    if target and target.startswith("/admin/") and not target.startswith("//"):
        return target
    return None


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """Show the sign-in form and sign a member of staff in."""
    if current_user.is_authenticated:
        return redirect(home_for(current_user.role))
    form = SignInForm()
    error = None
    status = 200
    if form.validate_on_submit():
        email = form.email.data or ""
        known = accounts.find_user(db(), email) if email.strip() else None
        version = known.session_version if known is not None else 0
        user = None
        if not signin.address_refused(email, version):
            user = accounts.authenticate(
                db(), email, form.password.data or "", trusted_device=signin.trusted_device()
            )
        if user is not None:
            sign_in(user)
            audit.record(db(), "sign_in", actor=user, target=f"user:{user.id}")
            db().commit()
            log.info("sign-in ok user=%s", user.id)
            response = redirect(_safe_next(request.args.get("next")) or home_for(user.role))
            signin.remember_device(response, user.id)
            return response
        signin.count_failure(email, version)
        _record_failed_sign_in(email)
        db().commit()  # failed-attempt counters and the audit event
        error = (
            "That email and password do not match, or there have been too many tries: "
            "wait a minute and try again."
        )
        status = 401
    elif request.method == "POST":
        status = 400
        error = "Please give your email and password."
    expired = session.pop("expired", False)
    return render_template("admin/login.html", form=form, error=error, expired=expired), status


def _record_failed_sign_in(email: str) -> None:
    # The account's id when the email is known, else the email's hash; never the password.
    known = accounts.find_user(db(), email) if email.strip() else None
    if known is not None:
        audit.record(db(), "sign_in_failed", target=f"user:{known.id}")
    else:
        audit.record(db(), "sign_in_failed", details={"email_hash": audit.email_hash(email)})


@bp.route("/logout", methods=["POST"])
@roles_required(*ROLES)
def logout() -> ResponseReturnValue:
    """Sign out here and in every other browser."""
    user = db().get(User, current_user.user_id)
    if user is not None:
        audit.record(db(), "sign_out", actor=user, target=f"user:{user.id}")
    sign_out(user)
    db().commit()
    return redirect(url_for("admin.login"))


@bp.route("/")
@roles_required(*READERS)
def index() -> ResponseReturnValue:
    """List the rounds with their response counts."""
    rounds = store.list_rounds(db())
    counts = dict(
        db().execute(select(Respondent.round_id, func.count()).group_by(Respondent.round_id)).all()
    )
    answers = dict(
        db()
        .execute(
            select(Answer.round_id, func.count())
            .where(Answer.superseded.is_(False))
            .group_by(Answer.round_id)
        )
        .all()
    )
    return render_template(
        "admin/index.html",
        rounds=rounds,
        respondents=counts,
        answers=answers,
        can_manage=current_user.role == LEAD,
        readers=READERS,
    )
