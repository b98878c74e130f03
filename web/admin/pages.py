"""What the workbench's round pages share: their tabs and labels, choosing a round, and the
redirect after a POST (dashboard, review, themes, quotes and export use them)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from surveys.analysis.clustering import load_codebook
from surveys.core.vocabulary import (
    AUDIENCE_LABELS,
    AUDIENCES,
    CHANNEL_LABELS,
    REVIEW_STATUS_LABELS,
    SENTIMENT_LABELS,
)
from surveys.services import review
from surveys.storage import queries, store
from surveys.storage.models import Round
from web import db, runtime
from web.admin import bp
from web.admin.access import READERS, REVIEWERS

#: A round's sub-navigation: (endpoint, label, roles that may follow it).
ROUND_TABS = (
    ("admin.dashboard_page", "Dashboard", READERS),
    ("admin.review_queue", "Review", REVIEWERS),
    ("admin.themes_overview", "Themes", REVIEWERS),
    ("admin.quotes", "Quotes", READERS),
    ("admin.exports_page", "Export", READERS),
    ("admin.round_changes", "You said, we did", READERS),
)


@cache
def codebook() -> tuple[tuple[str, str], ...]:
    """Return the codebook's (key, label) pairs."""
    return tuple((c.key, c.label) for c in load_codebook())


def priority_titles() -> dict[str, str]:
    """Return every priority's title by key, in plan order."""
    return {b.key: b.title for b in runtime().catalogue.banks}


def question_options(rnd: Round) -> list[tuple[str, str]]:
    """Return (id, wording) of the round's written questions, in plan order, then any other
    question it holds written answers to (an import's own questions, a retired version)."""
    catalogue = runtime().catalogue
    seen: dict[str, str] = {}
    for aud in AUDIENCES:
        for q in catalogue.questions_for(rnd.priorities, aud):
            if q.type == "text" and q.id not in seen:
                seen[q.id] = catalogue.heading(q.id, aud) or q.id
    for qid, aud in queries.written_questions(db(), rnd):
        if qid not in seen:
            seen[qid] = question_wording(qid, aud)
    return list(seen.items())


def question_wording(qid: str, audience: str) -> str:
    """Return a question as this audience was asked it (the id when the bank has gone)."""
    try:
        return runtime().catalogue.heading(qid, audience) or qid
    except KeyError:
        return qid


UK = ZoneInfo("Europe/London")


@bp.app_template_filter("uk_time")
def uk_time(moment: datetime | None, fmt: str = "%d %b %Y, %H:%M") -> str:
    """Return a stored time (UTC) as the clock in the UK shows it: staff read local time."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UK).strftime(fmt)


def round_tabs(rnd: Round, current: str) -> list[tuple[str, str, bool]]:
    """Return the round's sub-navigation the signed-in role may follow."""
    endpoints = current_app.view_functions
    return [
        (url_for(endpoint, code=rnd.code), label, endpoint == current)
        for endpoint, label, roles in ROUND_TABS
        if current_user.role in roles and endpoint in endpoints
    ]


def common(rnd: Round) -> dict[str, Any]:
    """Return what every page of a round needs."""
    return {
        "rnd": rnd,
        "priority_titles": priority_titles(),
        "audience_labels": AUDIENCE_LABELS,
        "channel_labels": CHANNEL_LABELS,
        "sentiment_labels": SENTIMENT_LABELS,
        "status_labels": REVIEW_STATUS_LABELS,
        "codebook": dict(codebook()),
        "round_tabs": round_tabs,
        "hidden_phrase": review.hidden_phrase,
        "question_wording": question_wording,
    }


def pick_round(endpoint: str, heading: str) -> Response | str:
    """Open the only round, or list the rounds to choose from."""
    rounds = store.list_rounds(db())
    if len(rounds) == 1:
        return redirect(url_for(endpoint, code=rounds[0].code))
    return render_template(
        "admin/pick_round.html", rounds=rounds, endpoint=endpoint, heading=heading
    )


def see_other(url: str) -> Response:
    """Redirect after a POST (303: the browser follows with a GET)."""
    return redirect(url, code=303)
