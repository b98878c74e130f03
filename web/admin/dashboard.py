"""A round's dashboard (charts and tables) and its chosen quotes: read-only, for every reader.

Charts are SVG images drawn by matplotlib from the same suppressed tables the page prints,
served from their own URLs (so the page itself stays fast) and cached on their numbers.
"""

from __future__ import annotations

import logging
import time

from flask import abort, current_app, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from surveys.export.suppression import fewer_than
from surveys.services import dashboard, monthly, review
from surveys.storage.models import Round
from web import db, runtime
from web.admin import bp
from web.admin.access import READERS, REVIEWERS, roles_required, round_or_404
from web.admin.pages import common, pick_round, question_wording

log = logging.getLogger("yjvoice.admin.dashboard")
#: An SVG chart carries its own inline styles; it is shown as an image, never as a page.
CHART_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
#: How long the charts a page asks for may reuse the numbers that page just read.
FACTS_TTL = 30.0
_CACHE_SIZE = 32


def _recent() -> dict[int, tuple[float, dashboard.Facts]]:
    return current_app.extensions.setdefault("yjv_dashboard_facts", {})


def _remember(round_id: int, facts: dashboard.Facts) -> None:
    cache = _recent()
    cache[round_id] = (time.monotonic(), facts)
    while len(cache) > _CACHE_SIZE:
        cache.pop(min(cache, key=lambda k: cache[k][0]))


def _facts_for_chart(rnd: Round, name: str) -> dashboard.Facts:
    """Return the numbers the page just read, else read only what this chart needs."""
    entry = _recent().get(rnd.id)
    if entry is not None and time.monotonic() - entry[0] < FACTS_TTL:
        return entry[1]
    return dashboard.load_facts(db(), rnd, dashboard.CHART_PARTS[name])


def _min_group() -> int:
    return int(current_app.config.get("MIN_GROUP", dashboard.MIN_GROUP))


@bp.route("/dashboard")
@roles_required(*READERS)
def dashboard_home() -> Response | str:
    """Choose the round whose dashboard to open."""
    return pick_round("admin.dashboard_page", "Dashboard")


@bp.route("/rounds/<code>/dashboard")
@roles_required(*READERS)
def dashboard_page(code: str) -> str:
    """Show the round at a glance: charts, and the same numbers as tables."""
    rnd = round_or_404(code)
    facts = dashboard.load_facts(db(), rnd)
    _remember(rnd.id, facts)
    dash = dashboard.build(facts, runtime().catalogue, min_group=_min_group())
    return render_template(
        "admin/dashboard/page.html",
        dash=dash,
        charts=dashboard.CHARTS,
        fewer=fewer_than(dash.min_group),
        show_hidden=current_user.role in REVIEWERS,
        days=dashboard.fill_days(dash.per_day),
        months=monthly.by_month(db(), rnd, min_group=dash.min_group) if rnd.rolling else None,
        **common(rnd),
    )


@bp.route("/rounds/<code>/dashboard/<name>.svg")
@roles_required(*READERS)
def dashboard_chart(code: str, name: str) -> Response:
    """Return one chart of the dashboard as an SVG image."""
    rnd = round_or_404(code)
    if name not in dashboard.CHARTS:
        abort(404)
    dash = dashboard.build(_facts_for_chart(rnd, name), runtime().catalogue, min_group=_min_group())
    svg = dashboard.render_chart(dashboard.chart_spec(dash, name))
    response = Response(svg, mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = CHART_CSP
    return response


@bp.route("/rounds/<code>/quotes")
@roles_required(*READERS)
def quotes(code: str) -> str:
    """List the quotes chosen so far, as they would be published."""
    rnd = round_or_404(code)
    titles = {b.key: b.title for b in runtime().catalogue.banks}
    priority = request.args.get("priority", "")
    if priority not in titles:
        priority = ""
    after = request.args.get("after", "")
    items, next_after, total = review.quotes(
        db(), rnd, priority=priority, after=int(after) if after.isdigit() else None
    )
    return render_template(
        "admin/dashboard/quotes.html",
        items=items,
        next_after=next_after,
        total=total,
        priority=priority,
        question_wording=question_wording,
        page_url=url_for("admin.quotes", code=rnd.code),
        **{k: v for k, v in common(rnd).items() if k != "question_wording"},
    )
