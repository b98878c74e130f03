"""Themes per question: see the engine's groups, rename, merge, split and move answers.

Lead and reviewers only (the pages show answers not yet approved, in redacted form).
Answers with the safeguarding lead never take part; a theme or answer id from another round
or question in a URL is a 404.
"""

from __future__ import annotations

import logging
import re

from flask import abort, flash, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from surveys import jobs
from surveys.jobs import table as job_table
from surveys.services import themes
from surveys.storage.models import Round, Theme
from web import db
from web.admin import bp
from web.admin.access import REVIEWERS, roles_required, round_or_404
from web.admin.pages import common, pick_round, question_options, see_other
from web.transactions import transaction

log = logging.getLogger("yjvoice.admin.themes")
_QID_RE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z0-9_.]{1,120}$")


def _question_or_404(rnd: Round, question_id: str) -> str:
    """Return the question id when the round asks it or has answers or themes for it."""
    if not _QID_RE.match(question_id):
        abort(404)
    if question_id in dict(question_options(rnd)):
        return question_id
    if any(q.question_id == question_id for q in themes.questions(db(), rnd)):
        return question_id
    abort(404)


def _theme_or_404(rnd: Round, question_id: str, theme_id: int) -> Theme:
    try:
        return themes.get_theme(db(), rnd, question_id, theme_id)
    except themes.ThemeNotFound:
        abort(404)


def _question_url(rnd: Round, question_id: str) -> str:
    return url_for("admin.themes_question", code=rnd.code, question_id=question_id)


@bp.route("/themes")
@roles_required(*REVIEWERS)
def themes_home() -> Response | str:
    """Choose the round whose themes to open."""
    return pick_round("admin.themes_overview", "Themes")


@bp.route("/rounds/<code>/themes")
@roles_required(*REVIEWERS)
def themes_overview(code: str) -> str:
    """List the round's written questions with their answers and themes."""
    rnd = round_or_404(code)
    summaries = {q.question_id: q for q in themes.questions(db(), rnd)}
    listed = question_options(rnd)
    rows = [(qid, wording, summaries.get(qid)) for qid, wording in listed]
    rows += [(qid, qid, s) for qid, s in summaries.items() if qid not in dict(listed)]
    job = jobs.latest_job(db(), themes.round_job_key(rnd.id))
    return render_template(
        "admin/themes/overview.html",
        rows=rows,
        job=job_table.view(job) if job else None,
        **common(rnd),
    )


@bp.route("/rounds/<code>/themes/<question_id>")
@roles_required(*REVIEWERS)
def themes_question(code: str, question_id: str) -> str:
    """Show a question's themes: counts, key phrases and typical answers."""
    rnd = round_or_404(code)
    qid = _question_or_404(rnd, question_id)
    data = themes.load(db(), rnd, qid)
    return render_template(
        "admin/themes/question.html",
        qid=qid,
        wording=dict(question_options(rnd)).get(qid, qid),
        data=data,
        unplaced=themes.unplaced(db(), rnd, qid) if data.unplaced and data.themes else [],
        **common(rnd),
    )


@bp.route("/rounds/<code>/themes/<question_id>/recompute", methods=["POST"])
@roles_required(*REVIEWERS)
def themes_recompute(code: str, question_id: str) -> Response:
    """Group the question's answers again; the lead's edits are kept."""
    rnd = round_or_404(code)
    qid = _question_or_404(rnd, question_id)
    with transaction() as session:
        result = themes.recompute(session, rnd, qid)
    kept = (
        f" Your names and placements were kept ({result.pinned} answers placed by hand)."
        if result.pinned or result.kept_labels
        else ""
    )
    flash(f"Found {result.themes} themes in {result.answers} answers.{kept}", "success")
    return see_other(_question_url(rnd, qid))


@bp.route("/rounds/<code>/themes/<question_id>/merge", methods=["POST"])
@roles_required(*REVIEWERS)
def themes_merge(code: str, question_id: str) -> Response:
    """Merge the selected themes into one."""
    rnd = round_or_404(code)
    qid = _question_or_404(rnd, question_id)
    ids = request.form.getlist("theme_ids", type=int)
    for tid in ids:
        _theme_or_404(rnd, qid, tid)
    try:
        with transaction() as session:
            keep = themes.merge(session, rnd, qid, ids, request.form.get("label"))
    except themes.ThemeError as exc:
        flash(str(exc), "error")
        return see_other(_question_url(rnd, qid))
    flash(f"Merged {len(set(ids))} themes into “{keep.label}”.", "success")
    return see_other(_question_url(rnd, qid))


@bp.route("/rounds/<code>/themes/<question_id>/answers", methods=["POST"])
@roles_required(*REVIEWERS)
def themes_answers(code: str, question_id: str) -> Response:
    """Move the selected answers to a theme, or split them off into a new one."""
    rnd = round_or_404(code)
    qid = _question_or_404(rnd, question_id)
    ids = request.form.getlist("ids", type=int)
    op = request.form.get("op", "")
    back = _question_url(rnd, qid)
    if op == "move" and not request.form.get("to", "").isdigit():
        flash("Choose the theme to move them to.", "error")
        return see_other(_theme_url(rnd, qid) or back)
    try:
        with transaction() as session:
            if op == "move":
                target = _theme_or_404(rnd, qid, int(request.form["to"]))
                n = themes.move(session, rnd, qid, ids, target)
                message = f"Moved {n} answer{'s' if n != 1 else ''} to “{target.label}”."
                back = _theme_url(rnd, qid) or back
            elif op == "split":
                source = _theme_or_404(rnd, qid, request.form.get("from", type=int) or 0)
                new = themes.split(session, rnd, qid, source, ids, request.form.get("label", ""))
                message = f"Made the theme “{new.label}” from {len(set(ids))} answers."
                back = url_for(
                    "admin.themes_theme", code=rnd.code, question_id=qid, theme_id=new.id
                )
            else:
                abort(400)
    except themes.ThemeNotFound:
        abort(404)
    except themes.ThemeError as exc:
        flash(str(exc), "error")
        return see_other(_theme_url(rnd, qid) or back)
    flash(message, "success")
    return see_other(back)


def _theme_url(rnd: Round, qid: str) -> str | None:
    """Return the theme page the form came from, if it named one of this question."""
    raw = request.form.get("from", "") or request.form.get("back_theme", "")
    if raw.isdigit():
        return url_for("admin.themes_theme", code=rnd.code, question_id=qid, theme_id=int(raw))
    return None


@bp.route("/rounds/<code>/themes/<question_id>/<int:theme_id>")
@roles_required(*REVIEWERS)
def themes_theme(code: str, question_id: str, theme_id: int) -> str:
    """List a theme's answers, to move some or split them off."""
    rnd = round_or_404(code)
    qid = _question_or_404(rnd, question_id)
    theme = _theme_or_404(rnd, qid, theme_id)
    after = request.args.get("after", "")
    page = themes.members(db(), rnd, theme, after=int(after) if after.isdigit() else None)
    others = [t for t in themes.load(db(), rnd, qid).themes if t.id != theme.id]
    return render_template(
        "admin/themes/theme.html",
        qid=qid,
        wording=dict(question_options(rnd)).get(qid, qid),
        theme=theme,
        page=page,
        others=others,
        **common(rnd),
    )


@bp.route("/rounds/<code>/themes/<question_id>/<int:theme_id>/rename", methods=["POST"])
@roles_required(*REVIEWERS)
def themes_rename(code: str, question_id: str, theme_id: int) -> Response:
    """Give a theme the lead's own name (kept through every recompute)."""
    rnd = round_or_404(code)
    qid = _question_or_404(rnd, question_id)
    theme = _theme_or_404(rnd, qid, theme_id)
    try:
        with transaction():
            themes.rename(theme, request.form.get("label", ""))
    except themes.ThemeError as exc:
        flash(str(exc), "error")
        return see_other(_question_url(rnd, qid))
    flash(f"Renamed to “{theme.label}”.", "success")
    back = request.form.get("back", "")
    if back == "theme":
        return see_other(
            url_for("admin.themes_theme", code=rnd.code, question_id=qid, theme_id=theme.id)
        )
    return see_other(_question_url(rnd, qid))


@bp.route("/rounds/<code>/themes/<question_id>/<int:theme_id>/delete", methods=["POST"])
@roles_required(*REVIEWERS)
def themes_delete(code: str, question_id: str, theme_id: int) -> Response:
    """Delete a theme; its answers wait in no theme until moved or found again."""
    rnd = round_or_404(code)
    qid = _question_or_404(rnd, question_id)
    theme = _theme_or_404(rnd, qid, theme_id)
    label = theme.label
    with transaction() as session:
        themes.remove(session, theme)
    flash(f"Deleted the theme “{label}”.", "success")
    return see_other(_question_url(rnd, qid))


@bp.route("/rounds/<code>/themes/all", methods=["POST"])
@roles_required(*REVIEWERS)
def themes_all(code: str) -> Response:
    """Find themes for every question of the round, in the background, with progress."""
    rnd = round_or_404(code)
    with transaction() as session:  # handed to a worker when it commits
        _job, new = themes.queue_round(session, rnd, requested_by=current_user.user_id)
    if new:
        flash(
            "Finding themes for every question. This page shows how far it has got; "
            "your names and placements are kept.",
            "success",
        )
    else:
        flash("Themes are already being found for this round.", "warning")
    return see_other(url_for("admin.themes_overview", code=rnd.code))
