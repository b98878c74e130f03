"""Rounds in the workbench: create (draft or open), open, close, reopen, and a round's page.

The lead changes rounds; reviewers and viewers can read a round's page. The rules of a
valid round live in ``surveys.storage.store`` (``RoundInvalid``); this module shows its messages.
"""

from __future__ import annotations

import logging
from datetime import date

from flask import current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, StringField
from wtforms.validators import DataRequired, Length, Optional

from surveys.core.vocabulary import AUDIENCES, CHANNEL_LABELS
from surveys.services import dashboard, invites, monthly
from surveys.storage import store
from surveys.storage.models import Round
from web import db, runtime
from web.admin import bp
from web.admin.access import LEAD, READERS, roles_required, round_or_404
from web.admin.nav import NAV
from web.transactions import transaction

log = logging.getLogger("yjvoice.admin")

#: Endpoints of the pages around a round that its page should not link to again.
_NOT_ROUND_AREAS = {"admin.index", "admin.users", "admin.own_password"}


class NewRoundForm(FlaskForm):
    """Title, closing date and draft/open; priorities and audiences are checkbox lists."""

    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    closes_on = DateField("Closing date (optional)", validators=[Optional()])
    status = StringField(
        "Start", default="draft"
    )  # draft or open: checked by surveys.storage.store


#: The languages a round is offered in, in the order people see them (issue: Welsh first
#: where the service chooses).
LANGUAGE_CHOICES = (
    ("en", "English only"),
    ("en,cy", "English and Welsh (English shown first)"),
    ("cy,en", "Welsh and English (Welsh shown first)"),
    ("cy", "Welsh only"),
)

START_CHOICES = (
    ("draft", "Save as a draft (not taking answers yet)"),
    ("open", "Open now (taking answers)"),
)


def _sentence(message: str) -> str:
    message = message.strip()
    return (message[:1].upper() + message[1:]).rstrip(".") + "."


@bp.route("/rounds/new", methods=["GET", "POST"])
@roles_required(LEAD)
def round_new() -> ResponseReturnValue:
    """Create a round: title, priorities in plan order, audiences, closing date, status."""
    form = NewRoundForm()
    banks = [b for b in runtime().catalogue.banks if b.key != "general"]
    chosen_priorities = request.form.getlist("priorities") if request.method == "POST" else []
    chosen_audiences = (
        request.form.getlist("audiences") if request.method == "POST" else list(AUDIENCES)
    )
    chosen_languages = request.form.get("languages", "en") if request.method == "POST" else "en"
    rolling = request.method == "POST" and bool(request.form.get("rolling"))
    error, status = None, 200
    if form.validate_on_submit():
        known = {b.key for b in banks}
        # Plan order, whatever order the browser sent them in; unknown keys are reported.
        ordered = [b.key for b in banks if b.key in set(chosen_priorities)]
        ordered += [p for p in chosen_priorities if p not in known]
        try:
            with transaction() as session:
                rnd = store.open_round(
                    session,
                    runtime().catalogue,
                    title=form.title.data or "",
                    priorities=ordered,
                    audiences=chosen_audiences,
                    closes_on=form.closes_on.data,
                    status=form.status.data or "draft",
                    languages=chosen_languages[:20].split(","),
                    rolling=rolling,
                )
        except store.RoundInvalid as exc:
            error, status = _friendly(str(exc)), 400
        else:
            log.info(
                "round created round=%s status=%s by=%s", rnd.id, rnd.status, current_user.user_id
            )
            flash(
                f"Round {rnd.code} created"
                + (" and open: it takes answers now." if rnd.status == "open" else " as a draft.")
                + " Its invitation kits are below.",
                "success",
            )
            return redirect(url_for("admin.round_page", code=rnd.code))
    elif request.method == "POST":
        error, status = _form_errors(form), 400
    return render_template(
        "admin/rounds/new.html",
        form=form,
        banks=banks,
        audiences=AUDIENCES,
        audience_names=invites.AUDIENCE_NAMES,
        chosen_priorities=set(chosen_priorities),
        chosen_audiences=set(chosen_audiences),
        error=error,
        today=date.today().isoformat(),
        start_choices=START_CHOICES,
        language_choices=LANGUAGE_CHOICES,
        chosen_languages=chosen_languages,
        rolling=rolling,
    ), status


def _friendly(message: str) -> str:
    if message.startswith("unknown priorities: (none given)"):
        return "Please choose at least one priority."
    if message.startswith("unknown audiences: (none given)"):
        return "Please choose at least one audience."
    return _sentence(message)


def _form_errors(form: NewRoundForm) -> str:
    if form.title.errors:
        return "Please give the round a title (up to 200 characters)."
    if form.closes_on.errors:
        return "Please give the closing date as a date, or leave it empty."
    return "Please check the form and try again."


def _who(rnd: Round) -> dashboard.Dashboard:
    """Return the round's dashboard with only who started: the same suppressed table."""
    facts = dashboard.load_facts(db(), rnd, parts=("respondents",))
    return dashboard.build(facts, runtime().catalogue)


def _round_endpoint(endpoint: str) -> str | None:
    """Return the per-round page of a NAV area: its module's first /rounds/<code>/NAME."""
    view = current_app.view_functions.get(endpoint)
    module = getattr(view, "__module__", None)
    for rule in current_app.url_map.iter_rules():  # in the order the routes were added
        if (
            rule.arguments == {"code"}
            and "GET" in (rule.methods or ())
            and rule.rule.startswith("/admin/rounds/<code>/")
            and rule.rule.count("/") == 4
            and getattr(current_app.view_functions[rule.endpoint], "__module__", "") == module
        ):
            return rule.endpoint
    return None


def _areas(code: str) -> list[tuple[str, str]]:
    """Return (label, url) of the other workbench areas this user may open for a round.

    Each area's NAV entry is a page without a round (a chooser or a queue); when the same
    module also serves ``/admin/rounds/<code>/NAME``, link straight to this round's page.
    """
    links = []
    for endpoint, label, roles in NAV:
        if endpoint in _NOT_ROUND_AREAS or current_user.role not in roles:
            continue
        if not list(current_app.url_map.iter_rules(endpoint)):
            continue
        per_round = _round_endpoint(endpoint)
        if per_round:
            links.append((label, url_for(per_round, code=code)))
        else:
            links.append((label, url_for(endpoint)))
    return links


@bp.route("/rounds/<code>")
@roles_required(*READERS)
def round_page(code: str) -> ResponseReturnValue:
    """Show a round: status, dates, links to hand out, counts, and what to do next."""
    rnd = round_or_404(code)
    rt = runtime()
    kits = [
        invites.build_kit(
            code=rnd.code,
            title=rnd.title,
            audience=aud,
            base_url=rt.settings.public_base_url,
            bot_username=rt.settings.telegram_bot_username,
            question_count=len(rt.catalogue.questions_for(rnd.priorities, aud)),
            closes_on=rnd.closes_on,
        )
        for aud in AUDIENCES
        if aud in rnd.audiences
    ]
    titles = {b.key: b.title for b in rt.catalogue.banks}
    return render_template(
        "admin/rounds/page.html",
        rnd=rnd,
        taking_answers=store.is_open(rnd),
        past_closing=rnd.closes_on is not None and rnd.closes_on < date.today(),
        priorities=[(k, titles.get(k, k)) for k in rnd.priorities],
        kits=kits,
        audience_names=invites.AUDIENCE_NAMES,
        channel_names=CHANNEL_LABELS,
        dash=_who(rnd),
        months=monthly.by_month(db(), rnd) if rnd.rolling else None,
        areas=_areas(rnd.code),
        can_manage=current_user.role == LEAD,
    )


STATUS_ACTIONS = {
    # action: (statuses it applies to, new status, message)
    "open": (("draft",), "open", "Round {code} is open: it takes answers now."),
    "close": (("open",), "closed", "Round {code} is closed: it takes no more answers."),
    "reopen": (("closed", "open"), "open", "Round {code} is open again."),
}


@bp.route("/rounds/<code>/status", methods=["GET", "POST"])
@roles_required(LEAD)
def round_status(code: str) -> ResponseReturnValue:
    """Open a draft, close an open round, or reopen a closed one (POST; GET shows the round)."""
    rnd = round_or_404(code)
    here = url_for("admin.round_page", code=rnd.code)
    if request.method == "GET":
        return redirect(here)
    action = request.form.get("action", "")
    if action not in STATUS_ACTIONS:
        flash("That did not work. Please try again.", "error")
        return redirect(here, 303)
    applies_to, new_status, message = STATUS_ACTIONS[action]
    if rnd.status not in applies_to or (action == "reopen" and store.is_open(rnd)):
        flash(f"Round {rnd.code} is already {rnd.status}; nothing changed.", "info")
        return redirect(here, 303)
    if action == "close" and request.form.get("confirmed") != "yes":
        # Closing stops everyone part-way through: say how many, and ask once more.
        return render_template(
            "admin/rounds/close.html",
            rnd=rnd,
            midway=store.unfinished_count(db(), rnd),
        )
    had_passed = rnd.closes_on is not None and rnd.closes_on < date.today()
    with transaction() as session:
        store.set_status(session, rnd.code, new_status)
    log.info("round status round=%s status=%s by=%s", rnd.id, new_status, current_user.user_id)
    note = ""
    if new_status == "open" and had_passed:
        note = " Its closing date had passed, so it has none now: close it when you are done."
    flash(message.format(code=rnd.code) + note, "success")
    return redirect(here, 303)
