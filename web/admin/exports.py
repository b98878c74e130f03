"""Download the plan's tables for a round: Word, Excel, CSV and Markdown.

Only approved, redacted, unflagged quotes are ever exported (surveys.export.plan reads
nothing else); the page shows the lead what small-number suppression hid and why. The lead
may also download every answer as given (raw text, not for publication).
"""

from __future__ import annotations

import io
import logging
from datetime import date

from flask import flash, render_template, request, send_file, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from surveys.export.plan import NoApprovedQuotes
from surveys.export.suppression import MIN_GROUP as DEFAULT_MIN_GROUP
from surveys.services import assessing, exporting
from surveys.services.exporting import FORMATS
from web import db, runtime
from web.admin import bp
from web.admin.access import LEAD, READERS, SAFEGUARDING, roles_required, round_or_404
from web.admin.pages import common, pick_round, see_other
from web.errors import error_page
from web.transactions import transaction

log = logging.getLogger("yjvoice.admin")


def _min_group() -> int:
    value = request.args.get("min_group", "")
    if value.isdigit() and 2 <= int(value) <= 100:
        return int(value)
    return DEFAULT_MIN_GROUP


@bp.route("/exports")
@roles_required(*READERS)
def exports_home() -> Response | str:
    """Choose the round to export."""
    return pick_round("admin.exports_page", "Export the plan's tables")


@bp.route("/rounds/<code>/export")
@roles_required(*READERS)
def exports_page(code: str) -> str:
    """Show what an export will hold, what was hidden and why, and the download links."""
    rnd = round_or_404(code)
    min_group = _min_group()
    plan = exporting.build_plan(db(), rnd, runtime().catalogue, min_group=min_group)
    return render_template(
        "admin/exports/page.html",
        plan=plan,
        formats=FORMATS,
        min_group=min_group,
        default_min_group=DEFAULT_MIN_GROUP,
        can_download_all=current_user.role == LEAD,
        can_edit=current_user.role == LEAD,
        being_read=assessing.being_read(db(), rnd),
        **common(rnd),
    )


@bp.route("/rounds/<code>/export/narrative/<priority>", methods=["POST"])
@roles_required(LEAD)
def export_narrative(code: str, priority: str) -> Response | tuple[str, int]:
    """Keep the lead's narrative for one priority (empty, or "Use the draft", resets it)."""
    rnd = round_or_404(code)
    text = "" if request.form.get("action") == "reset" else request.form.get("narrative", "")
    try:
        with transaction() as session:
            kept = exporting.save_narrative(session, rnd, priority, text, actor=current_user)
    except exporting.NarrativeError as exc:
        return error_page(400, "That narrative was not saved", str(exc))
    flash("Narrative saved." if kept else "Back to the draft.", "success")
    return see_other(url_for("admin.exports_page", code=rnd.code) + f"#narrative-{priority}")


@bp.route("/rounds/<code>/export/plan.<fmt>")
@roles_required(*READERS)
def export_download(code: str, fmt: str) -> Response | tuple[str, int]:
    """Send the plan's tables in one format."""
    if fmt not in FORMATS:
        return error_page(404, "No such format", "Choose Word, Excel, CSV or Markdown.")
    rnd = round_or_404(code)
    binary = FORMATS[fmt].binary
    out: io.BytesIO | io.StringIO = io.BytesIO() if binary else io.StringIO(newline="")
    try:
        with transaction() as session:  # the export's audit record
            exporting.export_plan(
                session,
                rnd,
                runtime().catalogue,
                fmt,
                out,
                actor=current_user,
                min_group=_min_group(),
            )
    except NoApprovedQuotes:
        return error_page(
            409,
            "Nothing to export yet",
            "No quotes have been approved for this round yet. Approve some answers as "
            "quotes in Review, then export.",
        )
    log.info("export round=%s format=%s user=%s", rnd.id, fmt, current_user.user_id)
    data = out.getvalue()
    buf = io.BytesIO(data if isinstance(data, bytes) else data.encode("utf-8"))
    name = f"youth-justice-plan-{rnd.code}-{date.today():%Y-%m-%d}.{fmt}"
    return send_file(buf, mimetype=FORMATS[fmt].mimetype, as_attachment=True, download_name=name)


@bp.route("/rounds/<code>/export/answers.csv")
@roles_required(LEAD, SAFEGUARDING)
def export_all_answers(code: str) -> Response:
    """Send every live answer as given, with its analysis (the lead's working file).

    Flagged answers' words are withheld, except for the safeguarding role.
    """
    rnd = round_or_404(code)
    text = io.StringIO(newline="")
    flagged = current_user.role == SAFEGUARDING
    with transaction() as session:  # the export's audit record
        n = exporting.export_answers(
            session, rnd, runtime().catalogue, text, actor=current_user, include_flagged=flagged
        )
    log.info("export round=%s format=all-answers rows=%d user=%s", rnd.id, n, current_user.user_id)
    buf = io.BytesIO(text.getvalue().encode("utf-8"))
    name = f"all-answers-{rnd.code}-{date.today():%Y-%m-%d}.csv"
    return send_file(buf, mimetype=FORMATS["csv"].mimetype, as_attachment=True, download_name=name)
