"""Background jobs in the workbench: what is queued, running, failed or done, and a retry.

The lead sees every job and may queue a failed one again. A reviewer may read the progress
of a round's theme job (the themes page polls ``/admin/jobs/<id>.json``). Jobs hold ids and
counts only, never answer text.
"""

from __future__ import annotations

import logging

from flask import abort, flash, jsonify, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from surveys.jobs import table
from surveys.services import audit
from surveys.services import themes as theme_service
from surveys.storage.models import Job, Round
from web import db
from web.admin import bp
from web.admin.access import LEAD, REVIEWERS, roles_required
from web.admin.pages import see_other
from web.transactions import transaction

log = logging.getLogger("yjvoice.admin.jobs")

FILTERS = {
    "": ("Unfinished and recent", None),  # periodic checks that did their work are left out
    "queued": ("Queued", ["queued"]),
    "running": ("Running", ["running"]),
    "failed": ("Failed", ["failed"]),
    "done": ("Done", ["done"]),
}


@bp.route("/jobs")
@roles_required(LEAD)
def jobs_index() -> str:
    """List background jobs: queued, running and failed first, then the newest done."""
    status = request.args.get("status", "")
    if status not in FILTERS:
        status = ""
    session = db()
    rows = table.list_jobs(session, FILTERS[status][1], hide_done_periodic=not status)
    round_ids = {v.round_id for v in rows if v.round_id}
    rounds = {r.id: r for r in session.scalars(select(Round).where(Round.id.in_(round_ids)))}
    return render_template(
        "admin/jobs/index.html",
        rows=rows,
        counts=table.counts(session),
        status=status,
        filters=FILTERS,
        rounds=rounds,
    )


@bp.route("/jobs/<int:job_id>/retry", methods=["POST"])
@roles_required(LEAD)
def jobs_retry(job_id: int) -> Response:
    """Queue a failed job again with fresh attempts."""
    try:
        with transaction() as session:  # handed to the queue when it commits
            job = table.retry(session, job_id)
            audit.record(session, "job.retried", actor=current_user, round_id=job.round_id,
                         target=f"job:{job.id}", details={"kind": job.kind})  # fmt: skip
    except table.JobNotFound:
        abort(404)
    except table.NotRetryable as exc:
        flash(str(exc), "error")
        return see_other(url_for("admin.jobs_index", status="failed"))
    flash(f"Job #{job_id} is queued again.", "success")
    return see_other(url_for("admin.jobs_index"))


@bp.route("/jobs/<int:job_id>.json")
@roles_required(*REVIEWERS)
def jobs_status(job_id: int) -> Response:
    """Return a job's status and progress (reviewers: a round's theme job only)."""
    job = db().get(Job, job_id)
    if job is None:
        abort(404)
    if current_user.role != LEAD and job.kind != theme_service.ROUND_JOB:
        abort(404)
    return jsonify(table.view(job).as_dict())
