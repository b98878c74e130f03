"""The lead writes a round's "You said, we did" page and puts it up for everyone.

Thin: ``surveys.services.changes`` checks, stores and audits every line; this module reads
the forms and shows the page. The public page itself is ``web/changes.py``.
"""

from __future__ import annotations

import logging

from flask import flash, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from surveys.services import changes, followups
from surveys.storage import queries
from web import runtime
from web.admin import bp
from web.admin.access import LEAD, READERS, roles_required, round_or_404
from web.admin.pages import common, see_other
from web.errors import error_page
from web.transactions import transaction

log = logging.getLogger("yjvoice.admin")


def _wording() -> changes.Wording:
    form = request.form
    return changes.Wording(
        form.get("you_said", ""),
        form.get("we_did", ""),
        form.get("priority") or None,
        form.get("you_said_cy", ""),
        form.get("we_did_cy", ""),
    )


def _page(code: str) -> str:
    return url_for("admin.round_changes", code=code)


@bp.route("/rounds/<code>/changes")
@roles_required(*READERS)
def round_changes(code: str) -> str:
    """Show the round's "You said, we did" lines, and (to the lead) the forms to write them."""
    rnd = round_or_404(code)
    with transaction() as session:
        lines = changes.lines(session, rnd)
        actions = queries.accepted_actions(session, rnd)
        told = followups.waiting(session, rnd.id)
    titles = {b.key: b.title for b in runtime().catalogue.banks}
    return render_template(
        "admin/changes/page.html",
        lines=lines,
        actions=actions,
        priorities=[(k, titles.get(k, k)) for k in (*rnd.priorities, "general")],
        titles=titles,
        public=changes.is_public(rnd),
        public_url=followups.page_url(runtime().settings.public_base_url, rnd.code),
        told=told,
        can_edit=current_user.role == LEAD,
        welsh="cy" in (rnd.languages or ()),
        **common(rnd),
    )


@bp.route("/rounds/<code>/changes/add", methods=["POST"])
@roles_required(LEAD)
def change_add(code: str) -> Response | tuple[str, int]:
    """Add a line at the end of the page."""
    rnd = round_or_404(code)
    try:
        with transaction() as session:
            changes.add(session, rnd, _wording(), actor=current_user)
    except changes.ChangeError as exc:
        return error_page(400, "That line was not added", str(exc), link=_page(rnd.code))
    flash("Line added.", "success")
    return see_other(_page(rnd.code))


@bp.route("/rounds/<code>/changes/<int:change_id>", methods=["POST"])
@roles_required(LEAD)
def change_update(code: str, change_id: int) -> Response | tuple[str, int]:
    """Save, move or delete one line."""
    rnd = round_or_404(code)
    action = request.form.get("action", "save")
    try:
        with transaction() as session:
            if action == "delete":
                changes.remove(session, rnd, change_id, actor=current_user)
            elif action in ("up", "down"):
                changes.move(session, rnd, change_id, -1 if action == "up" else 1)
            else:
                changes.edit(session, rnd, change_id, _wording(), actor=current_user)
    except changes.ChangeNotFound:
        return error_page(404, "No such line", "That line is not part of this round.")
    except changes.ChangeError as exc:
        return error_page(400, "That line was not saved", str(exc), link=_page(rnd.code))
    flash(
        {"delete": "Line deleted.", "up": "Moved up.", "down": "Moved down."}.get(action, "Saved."),
        "success",
    )
    return see_other(_page(rnd.code) + (f"#change-{change_id}" if action != "delete" else ""))


@bp.route("/rounds/<code>/changes/publish", methods=["POST"])
@roles_required(LEAD)
def changes_publish(code: str) -> Response | tuple[str, int]:
    """Put the page up for everyone, or take it down."""
    rnd = round_or_404(code)
    public = request.form.get("action") != "withdraw"
    try:
        with transaction() as session:
            changes.publish(session, rnd, actor=current_user, public=public)
    except changes.ChangeError as exc:
        return error_page(400, "The page was not published", str(exc), link=_page(rnd.code))
    log.info("changes page round=%s public=%s by=%s", rnd.id, public, current_user.user_id)
    flash("The page is up for everyone." if public else "The page is taken down.", "success")
    return see_other(_page(rnd.code))
