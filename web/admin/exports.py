"""Download the plan's tables for a round: Word, Excel, CSV and Markdown.

Only approved, redacted, unflagged quotes are ever exported (surveys.export.plan reads
nothing else); the page shows the lead what small-number suppression hid and why. The lead
may also download every answer as given (raw text, not for publication).
"""

from __future__ import annotations

import io
import logging
from datetime import date

from flask import render_template, request, send_file
from flask_login import current_user
from werkzeug.wrappers import Response

from surveys.export.answers import answer_rows, write_csv
from surveys.export.plan import build_plan
from surveys.export.suppression import MIN_GROUP as DEFAULT_MIN_GROUP
from surveys.services import audit
from web import db, runtime
from web.admin import bp
from web.admin.access import LEAD, READERS, roles_required, round_or_404
from web.admin.review import common, pick_round
from web.errors import error_page

log = logging.getLogger("yjvoice.admin")
FORMATS = {
    "docx": ("Word", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "xlsx": ("Excel", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "csv": ("CSV", "text/csv; charset=utf-8"),
    "md": ("Markdown", "text/markdown; charset=utf-8"),
}


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
    plan = build_plan(db(), rnd, runtime().catalogue, min_group=min_group)
    return render_template(
        "admin/exports/page.html",
        plan=plan,
        formats=FORMATS,
        min_group=min_group,
        default_min_group=DEFAULT_MIN_GROUP,
        can_download_all=current_user.role == LEAD,
        **common(rnd),
    )


@bp.route("/rounds/<code>/export/plan.<fmt>")
@roles_required(*READERS)
def export_download(code: str, fmt: str) -> Response | tuple[str, int]:
    """Send the plan's tables in one format."""
    if fmt not in FORMATS:
        return error_page(404, "No such format", "Choose Word, Excel, CSV or Markdown.")
    rnd = round_or_404(code)
    plan = build_plan(db(), rnd, runtime().catalogue, min_group=_min_group())
    if plan.quote_count == 0:
        return error_page(
            409,
            "Nothing to export yet",
            "No quotes have been approved for this round yet. Approve some answers as "
            "quotes in Review, then export.",
        )
    buf = io.BytesIO()
    if fmt == "docx":
        from surveys.export.docx import write_docx

        write_docx(plan, buf)
    elif fmt == "xlsx":
        from surveys.export.xlsx import write_xlsx

        write_xlsx(plan, buf)
    else:
        text = io.StringIO(newline="")
        if fmt == "csv":
            from surveys.export.quotes_csv import write_quotes_csv

            write_quotes_csv(plan, text)
        else:
            from surveys.export.markdown import write_markdown

            write_markdown(plan, text)
        buf.write(text.getvalue().encode("utf-8"))
    buf.seek(0)
    audit.record(
        db(),
        "export",
        actor=current_user,
        round_id=rnd.id,
        details={"format": fmt, "scope": "quotes", "quotes": plan.quote_count},
    )
    db().commit()
    log.info("export round=%s format=%s user=%s", rnd.id, fmt, current_user.user_id)
    name = f"youth-justice-plan-{rnd.code}-{date.today():%Y-%m-%d}.{fmt}"
    return send_file(buf, mimetype=FORMATS[fmt][1], as_attachment=True, download_name=name)


@bp.route("/rounds/<code>/export/answers.csv")
@roles_required(LEAD)
def export_all_answers(code: str) -> Response:
    """Send every live answer as given, with its analysis (the lead's working file)."""
    rnd = round_or_404(code)
    text = io.StringIO(newline="")
    n = write_csv(answer_rows(db(), rnd, runtime().catalogue), text)
    audit.record(
        db(),
        "export",
        actor=current_user,
        round_id=rnd.id,
        details={"format": "csv", "scope": "all", "rows": n},
    )
    db().commit()
    log.info("export round=%s format=all-answers rows=%d user=%s", rnd.id, n, current_user.user_id)
    buf = io.BytesIO(text.getvalue().encode("utf-8"))
    name = f"all-answers-{rnd.code}-{date.today():%Y-%m-%d}.csv"
    return send_file(buf, mimetype=FORMATS["csv"][1], as_attachment=True, download_name=name)
