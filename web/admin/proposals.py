"""Staff and partner proposals in the workbench: everyone who reads a round sees them; the
lead merges duplicates, accepts and declines."""

from __future__ import annotations

import logging
from itertools import groupby

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from surveys.services import proposals
from surveys.storage import store
from web import db, runtime
from web.admin import bp
from web.admin.access import LEAD, READERS, roles_required, round_or_404
from web.transactions import transaction

log = logging.getLogger("yjvoice.admin.proposals")

ACTIONS = {"accept": "accepted", "decline": "declined", "reopen": "open"}
DONE = {
    "accepted": "Proposal {id} accepted: it is in the plan's action table as {action_id}.",
    "declined": "Proposal {id} declined.",
    "open": "Proposal {id} is open again.",
}


@bp.route("/proposals")
@roles_required(*READERS)
def proposals_index() -> ResponseReturnValue:
    """List the rounds with how many proposals each has."""
    session = db()
    rounds = [r for r in store.list_rounds(session) if proposals.offers_proposals(r)]
    return render_template(
        "admin/proposals/index.html", rounds=rounds, counts=proposals.counts_by_round(session)
    )


@bp.route("/rounds/<code>/proposals")
@roles_required(*READERS)
def round_proposals(code: str) -> ResponseReturnValue:
    """Show a round's proposals by priority, with support and the plan's action IDs."""
    rnd = round_or_404(code)
    views = proposals.list_for_round(db(), rnd, runtime().catalogue)
    live = [v for v in views if v.status != "merged"]
    merged = {v.id: v for v in views if v.status == "merged"}
    groups = [
        (title, list(items)) for title, items in groupby(live, key=lambda v: v.priority_title)
    ]
    return render_template(
        "admin/proposals/round.html",
        round=rnd,
        groups=groups,
        merged=merged,
        live=live,
        can_decide=current_user.role == LEAD,
    )


def _int(value: str | None) -> int | None:
    try:
        return int(value or "")
    except ValueError:
        return None


@bp.route("/rounds/<code>/proposals/decide", methods=["GET", "POST"])
@roles_required(LEAD)
def decide_proposal(code: str) -> ResponseReturnValue:
    """Accept, decline, reopen or merge a proposal of this round."""
    rnd = round_or_404(code)
    back = url_for("admin.round_proposals", code=rnd.code)
    if request.method == "GET":
        return redirect(back)
    action = request.form.get("action", "")
    pid = _int(request.form.get("proposal"))
    into = _int(request.form.get("into"))
    if pid is None or (action not in ACTIONS and action != "merge"):
        abort(400)
    if action == "merge" and into is None:
        flash("Choose the proposal to merge it into.", "error")
        return redirect(back, 303)
    try:
        with transaction() as session:
            if action == "merge" and into is not None:
                proposals.merge(session, rnd, pid, into)
                message = f"Proposal {pid} merged into proposal {into}; its support moved with it."
            else:
                proposals.set_status(session, rnd, pid, ACTIONS[action])
                session.flush()
                action_id = proposals.action_ids(session, rnd, runtime().catalogue).get(pid, "")
                message = DONE[ACTIONS[action]].format(id=pid, action_id=action_id)
    except proposals.ProposalNotFound:
        abort(404)  # not in this round: the id was edited
    except proposals.CannotMerge as exc:
        flash(str(exc), "error")
        return redirect(back, 303)
    log.info("proposal %s round=%s proposal=%s user=%s", action, rnd.id, pid, current_user.user_id)
    flash(message, "success")
    return redirect(back, 303)
