"""The safeguarding queue: the only pages that show the raw words of a flagged answer.

Only the safeguarding lead and the YJS lead may open them. Every admin page shows a red
banner to those two roles while a case has gone unacknowledged for longer than
``SAFEGUARDING_OVERDUE_MINUTES`` (app config or environment; default 60).
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from wtforms import TextAreaField
from wtforms.validators import Length, Optional

from surveys.notify import alerts
from surveys.services import audit, safeguarding
from surveys.storage.models import utcnow
from web import db
from web.admin import bp
from web.admin.access import SAFEGUARDERS, roles_required
from web.admin.pages import question_wording
from web.transactions import transaction

log = logging.getLogger("yjvoice.admin.safeguarding")
SHOW = ("open", "closed", "all")


class CaseForm(FlaskForm):
    """A note of what was done; the pressed button says which action."""

    note = TextAreaField(
        "What was done", validators=[Optional(), Length(max=safeguarding.MAX_NOTE)]
    )


def overdue_after() -> timedelta:
    """Return how long a case may wait unacknowledged before it is highlighted."""
    value = current_app.config.get("SAFEGUARDING_OVERDUE_AFTER")
    if isinstance(value, timedelta):
        return value
    minutes = current_app.config.get("SAFEGUARDING_OVERDUE_MINUTES") or os.environ.get(
        "SAFEGUARDING_OVERDUE_MINUTES"
    )
    try:
        return timedelta(minutes=float(minutes)) if minutes else safeguarding.DEFAULT_OVERDUE_AFTER
    except ValueError:
        return safeguarding.DEFAULT_OVERDUE_AFTER


def _overdue_banner() -> int:
    """Return how many cases are overdue, for users who can act on them (0 for others)."""
    if not current_user.is_authenticated or current_user.role not in SAFEGUARDERS:
        return 0
    return safeguarding.overdue_count(db(), after=overdue_after())


#: How long an alert may wait for its first try before the workbench says it is stuck.
UNDELIVERED_GRACE = timedelta(minutes=2)


def _undelivered_banner() -> int:
    """Return how many safeguarding alerts have not got through (for the lead and the
    safeguarding lead; 0 for others)."""
    if not current_user.is_authenticated or current_user.role not in SAFEGUARDERS:
        return 0
    return alerts.undelivered_count(db(), utcnow(), grace=UNDELIVERED_GRACE)


@bp.context_processor
def _banner_context() -> dict:
    # Functions, so the counts are only queried by pages that render the banner.
    return {
        "safeguarding_overdue": _overdue_banner,
        "safeguarding_undelivered": _undelivered_banner,
        "question_wording": question_wording,
    }


@bp.route("/safeguarding")
@roles_required(*SAFEGUARDERS)
def safeguarding_queue() -> ResponseReturnValue:
    """List the cases waiting for the safeguarding lead, oldest first."""
    show = request.args.get("show", "open")
    if show not in SHOW:
        show = "open"
    cases = safeguarding.list_cases(db(), status=show)
    log.info("safeguarding queue viewed user=%s cases=%d", current_user.user_id, len(cases))
    return render_template(
        "admin/safeguarding/queue.html",
        cases=cases,
        show=show,
        now=utcnow(),
        after=overdue_after(),
        open_count=safeguarding.open_count(db()),
    )


def _case_round(session: Session, case_id: int) -> int | None:
    from surveys.storage.models import SafeguardingCase

    row = session.get(SafeguardingCase, case_id)
    return row.round_id if row is not None else None


@bp.route("/safeguarding/<int:case_id>", methods=["GET", "POST"])
@roles_required(*SAFEGUARDERS)
def safeguarding_case(case_id: int) -> ResponseReturnValue:
    """Show one case with the raw words; acknowledge, record what was done, close."""
    session = db()
    try:
        case = safeguarding.get_case(session, case_id)
    except safeguarding.CaseNotFound:
        abort(404)
    form = CaseForm()
    error = None
    status = 200
    if request.method == "POST":
        action = request.form.get("action")
        if not form.validate_on_submit() or action not in (
            "acknowledge",
            "record",
            "close",
            "clear",
        ):
            error = "Sorry, that did not work. Please try again."
            status = 400
        else:
            uid, who = current_user.user_id, current_user.email
            note = form.note.data
            try:
                with transaction():
                    if action == "acknowledge":
                        safeguarding.acknowledge(session, case_id, uid)
                        message = "Case acknowledged: it is no longer overdue."
                    elif action == "record":
                        safeguarding.record_action(session, case_id, uid, note, who=who)
                        message = "What was done is recorded."
                    elif action == "clear":
                        safeguarding.clear(session, case_id, uid, note, who=who, actor=current_user)
                        message = "No concern: the answer may now be reviewed like any other."
                    else:
                        safeguarding.close(session, case_id, uid, note, who=who)
                        message = "Case closed."
            except (safeguarding.InvalidNote, safeguarding.HardFlagStays) as exc:
                error, status = str(exc), 422
            except safeguarding.CaseClosed:
                error, status = "This case is closed.", 409
            else:
                flash(message, "success")
                return redirect(url_for("admin.safeguarding_case", case_id=case_id), 303)
        case = safeguarding.get_case(session, case_id)
    log.info("safeguarding case viewed case=%s user=%s", case_id, current_user.user_id)
    if request.method == "GET":  # the raw words are on this page
        with transaction():
            audit.record(
                session,
                "safeguarding_case_viewed",
                actor=current_user,
                round_id=_case_round(session, case_id),
                target=f"case:{case_id}",
            )
    return render_template(
        "admin/safeguarding/case.html",
        case=case,
        form=form,
        error=error,
        now=utcnow(),
        after=overdue_after(),
    ), status
