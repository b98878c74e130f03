"""The audit log, for the lead only: filter by action and round, page through, download CSV.

Read-only: there is no route that changes or removes an event (and the database refuses).
"""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Response, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select

from surveys.services import audit
from surveys.storage import store
from surveys.storage.models import AuditEvent
from web import db
from web.admin import bp
from web.admin.access import LEAD, roles_required
from web.transactions import transaction

PAGE_SIZE = 50
CSV_COLUMNS = ("id", "at", "actor_id", "actor", "action", "round_id", "target", "details")


def _filters() -> tuple[str | None, int | None]:
    action = (request.args.get("action") or "").strip() or None
    round_arg = (request.args.get("round") or "").strip()
    round_id = int(round_arg) if round_arg.isdigit() else None
    return action, round_id


def _details(event: AuditEvent) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted((event.details or {}).items()))


@bp.route("/audit")
@roles_required(LEAD)
def audit_log() -> ResponseReturnValue:
    """List audit events, newest first, with filters and a next-page link."""
    action, round_id = _filters()
    before_arg = request.args.get("before", "")
    before = int(before_arg) if before_arg.isdigit() else None
    events, total = audit.query(
        db(), action=action, round_id=round_id, before=before, limit=PAGE_SIZE + 1
    )
    more = len(events) > PAGE_SIZE
    events = list(events[:PAGE_SIZE])
    args: dict[str, Any] = {
        k: v for k, v in (("action", action), ("round", round_id)) if v is not None
    }
    next_url = url_for("admin.audit_log", before=events[-1].id, **args) if more else None
    actions = sorted(set(audit.ACTIONS) | set(db().scalars(select(AuditEvent.action).distinct())))
    return render_template(
        "admin/audit/list.html",
        events=events,
        total=total,
        action=action,
        round_id=round_id,
        actions=actions,
        rounds=store.list_rounds(db()),
        next_url=next_url,
        csv_url=url_for("admin.audit_csv", **args),
        details=_details,
    )


def _csv_cell(value: object) -> str:
    text = "" if value is None else str(value)
    # A spreadsheet must not run a cell as a formula.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@bp.route("/audit.csv")
@roles_required(LEAD)
def audit_csv() -> Response:
    """Download the (filtered) audit log as CSV, oldest first."""
    action, round_id = _filters()
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    for e in audit.iter_all(db(), action=action, round_id=round_id):
        writer.writerow(
            [
                _csv_cell(v)
                for v in (
                    e.id,
                    e.at.isoformat(),
                    e.actor_id,
                    e.actor_label,
                    e.action,
                    e.round_id,
                    e.target,
                    _details(e),
                )
            ]
        )
    with transaction() as session:
        audit.record(
            session,
            "export",
            actor=current_user,
            round_id=round_id,
            details={"format": "csv", "scope": "audit_log"},
        )
    return Response(
        buf.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="audit-log.csv"'},
    )
