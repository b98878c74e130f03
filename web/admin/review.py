"""The review queue and one answer's review page (lead and reviewers).

Flagged answers never reach these pages: ``surveys.services.review`` leaves them out of every query,
and an id of one (or of another round's answer) in a URL is a 404. Every change is a POST
(its CSRF token checked by ``roles_required``, after the role), then Post/Redirect/Get with
the reviewer's filters kept in the URL.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import abort, flash, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from surveys.core.vocabulary import AUDIENCES
from surveys.services import audit, review
from surveys.storage.models import Answer, Round
from web import db, runtime
from web.admin import bp
from web.admin.access import REVIEWERS, roles_required, round_or_404
from web.admin.pages import (
    codebook,
    common,
    pick_round,
    priority_titles,
    question_options,
    question_wording,
    see_other,
)
from web.transactions import transaction

log = logging.getLogger("yjvoice.admin.review")

DONE_WORDS = {
    "approve": "approved",
    "reject": "rejected",
    "reset": "put back to review",
    "quote": "chosen as quotes",
    "unquote": "no longer quotes",
}


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and len(value) < 12 else None


def _filters() -> review.QueueFilter:
    return review.QueueFilter.from_args(request.args)


def _queue_url(rnd: Round, f: review.QueueFilter) -> str:
    args: dict[str, Any] = f.to_args()  # url_for's own keywords are not str: say Any
    return url_for("admin.review_queue", code=rnd.code, **args)


def _back(rnd: Round, f: review.QueueFilter) -> str:
    """Return the page to go back to: a local review page of this round, else the queue."""
    target = request.form.get("back", "")
    prefix = url_for("admin.review_queue", code=rnd.code)
    if target.startswith(prefix) and "//" not in target and "\\" not in target:
        return target
    return _queue_url(rnd, f)


def _answer_url(rnd: Round, answer_id: int, f: review.QueueFilter) -> str:
    args: dict[str, Any] = f.to_args()
    return url_for("admin.review_answer", code=rnd.code, answer_id=answer_id, **args)


def _answer_or_404(rnd: Round, answer_id: int) -> Answer:
    try:
        return review.get_answer(db(), rnd, answer_id)
    except review.NotReviewable:
        abort(404)


@bp.route("/review")
@roles_required(*REVIEWERS)
def review_home() -> Response | str:
    """Choose the round to review."""
    return pick_round("admin.review_queue", "Review answers")


# ---- the queue ----------------------------------------------------------------------------
@bp.route("/rounds/<code>/review")
@roles_required(*REVIEWERS)
def review_queue(code: str) -> str:
    """List the round's answers to review, filtered, a page at a time."""
    rnd = round_or_404(code)
    f = _filters()
    page = review.queue(db(), rnd, f, after=_int_arg("after"), before=_int_arg("before"))
    return render_template(
        "admin/review/queue.html",
        page=page,
        f=f,
        questions=question_options(rnd),
        audiences=[a for a in AUDIENCES if a in rnd.audiences],
        question_themes=review.tag_filter_options(db(), rnd),
        status_filters=review.STATUS_FILTERS,
        this_url=request.full_path.rstrip("?"),
        **common(rnd),
    )


@bp.route("/rounds/<code>/review/bulk", methods=["POST"])
@roles_required(*REVIEWERS)
def review_bulk(code: str) -> Response:
    """Apply one decision to the selected answers (or to one, from its own button)."""
    rnd = round_or_404(code)
    f = _filters()
    one = request.form.get("one", "")
    if one:
        action, _, raw_id = one.partition(":")
        ids = [int(raw_id)] if raw_id.isdigit() else []
    else:
        action = request.form.get("action", "")
        ids = request.form.getlist("ids", type=int)
    if action not in review.ACTIONS:
        abort(400)
    try:
        answers = review.get_answers(db(), rnd, ids)
    except review.NotReviewable:
        abort(404)
    except review.ReviewError as exc:
        flash(str(exc), "error")
        return see_other(_back(rnd, f))
    with transaction():
        n = review.decide(answers, action, current_user.user_id)
    flash(f"{_answers(n)} {DONE_WORDS[action]}.", "success")
    return see_other(_back(rnd, f))


def _answers(n: int) -> str:
    return "1 answer" if n == 1 else f"{n:,} answers"


# ---- one answer ---------------------------------------------------------------------------
def _render_answer(
    rnd: Round,
    answer: Answer,
    *,
    quote_draft: str | None = None,
    quote_check: review.QuoteCheck | None = None,
    status: int = 200,
) -> tuple[str, int]:
    f = _filters()
    spans = review.span_dicts(answer)
    prev_id, next_id = review.neighbours(db(), rnd, f, answer.id)
    catalogue = runtime().catalogue
    return (
        render_template(
            "admin/review/answer.html",
            a=answer,
            f=f,
            raw=review.raw_segments(answer.text, spans),
            published=review.published_segments(answer.text, spans),
            spans=list(enumerate(spans)),
            pseudonym=answer.respondent.pseudonym,
            wording=question_wording(answer.question_id, answer.audience),
            prev_id=prev_id,
            next_id=next_id,
            queue_url=_queue_url(rnd, f),
            this_url=_answer_url(rnd, answer.id, f),
            quote_draft=quote_draft
            if quote_draft is not None
            else (answer.quote_text or answer.redacted or ""),
            quote_check=quote_check,
            still_identifies=review.quote_still_identifies(answer),
            priorities=[(b.key, b.title) for b in catalogue.banks],
            redact_categories=review.REDACT_CATEGORIES,
            **common(rnd),
        ),
        status,
    )


@bp.route("/rounds/<code>/review/<int:answer_id>")
@roles_required(*REVIEWERS)
def review_answer(code: str, answer_id: int) -> tuple[str, int]:
    """Show one answer: as given with redactions marked, as it would be published, tags."""
    rnd = round_or_404(code)
    answer = _answer_or_404(rnd, answer_id)
    # The answer page shows the words as given (redactions marked): a view of raw text.
    with transaction() as session:
        audit.record(
            session,
            "raw_text_viewed",
            actor=current_user,
            round_id=rnd.id,
            target=f"answer:{answer.id}",
        )
    return _render_answer(rnd, answer)


@bp.route("/rounds/<code>/review/<int:answer_id>/decide", methods=["POST"])
@roles_required(*REVIEWERS)
def review_decide(code: str, answer_id: int) -> Response:
    """Approve, reject, reset or stop quoting one answer; approve and reject move on."""
    rnd = round_or_404(code)
    f = _filters()
    answer = _answer_or_404(rnd, answer_id)
    action = request.form.get("action", "")
    if action not in review.ACTIONS:
        abort(400)
    _, next_id = review.neighbours(db(), rnd, f, answer.id)
    with transaction():
        review.decide([answer], action, current_user.user_id)
    flash(f"Answer {DONE_WORDS[action]}.".replace("quotes", "a quote"), "success")
    if action in ("approve", "reject") and next_id is not None:
        return see_other(_answer_url(rnd, next_id, f))
    return see_other(_answer_url(rnd, answer.id, f))


@bp.route("/rounds/<code>/review/<int:answer_id>/quote", methods=["POST"])
@roles_required(*REVIEWERS)
def review_quote(code: str, answer_id: int) -> Response | tuple[str, int]:
    """Use an answer as a quote, optionally lightly edited; warn before saving a risky edit."""
    rnd = round_or_404(code)
    f = _filters()
    answer = _answer_or_404(rnd, answer_id)
    draft = request.form.get("quote", "")
    try:
        with transaction() as session:
            result = review.use_as_quote(
                answer,
                current_user.user_id,
                draft,
                confirmed=request.form.get("confirm") == "yes",
                translation=request.form.get("translation"),
            )
            if result.saved:
                audit.record(
                    session,
                    "quote_edited",
                    actor=current_user,
                    round_id=rnd.id,
                    target=f"answer:{answer.id}",
                    details={"edited": answer.quote_text is not None},
                )
    except review.ReviewError as exc:
        flash(str(exc), "error")
        return _render_answer(rnd, answer, quote_draft=draft, status=422)
    if not result.saved:
        return _render_answer(rnd, answer, quote_draft=draft, quote_check=result.check, status=422)
    flash(
        "Chosen as a quote."
        + (" Your edit was saved; the original is kept." if answer.quote_text else ""),
        "success",
    )
    return see_other(_answer_url(rnd, answer.id, f))


@bp.route("/rounds/<code>/review/<int:answer_id>/tags", methods=["POST"])
@roles_required(*REVIEWERS)
def review_tags(code: str, answer_id: int) -> Response:
    """Override the answer's sentiment, priority and codebook themes."""
    rnd = round_or_404(code)
    f = _filters()
    answer = _answer_or_404(rnd, answer_id)
    try:
        with transaction():
            review.set_tags(
                answer,
                sentiment=request.form.get("sentiment", ""),
                priority=request.form.get("priority", ""),
                themes=request.form.getlist("tag"),
                priorities=priority_titles(),
                codebook=[k for k, _ in codebook()],
            )
    except review.ReviewError as exc:
        flash(str(exc), "error")
        return see_other(_answer_url(rnd, answer.id, f))
    flash("Tags saved.", "success")
    return see_other(_answer_url(rnd, answer.id, f))


@bp.route("/rounds/<code>/review/<int:answer_id>/redactions", methods=["POST"])
@roles_required(*REVIEWERS)
def review_redactions(code: str, answer_id: int) -> Response:
    """Accept, undo or redo a redaction (or accept them all)."""
    rnd = round_or_404(code)
    f = _filters()
    answer = _answer_or_404(rnd, answer_id)
    op, _, raw = request.form.get("op", "").partition(":")
    index = int(raw) if raw.isdigit() else None
    try:
        with transaction():
            if op == "accept":
                review.accept_redactions(answer, index)
                message = "Redaction checked." if index is not None else "All redactions checked."
            elif op == "undo" and index is not None:
                review.undo_redaction(answer, index)
                message = "Redaction undone: those words will be published as written."
            elif op == "redo" and index is not None:
                review.redo_redaction(answer, index)
                message = "Those words are hidden again."
            else:
                abort(400)
    except review.ReviewError as exc:
        flash(str(exc), "error")
        return see_other(_answer_url(rnd, answer.id, f))
    flash(message, "success")
    return see_other(_answer_url(rnd, answer.id, f))


@bp.route("/rounds/<code>/review/<int:answer_id>/redact-too", methods=["POST"])
@roles_required(*REVIEWERS)
def review_redact_too(code: str, answer_id: int) -> Response:
    """Hide more words the anonymiser missed."""
    rnd = round_or_404(code)
    f = _filters()
    answer = _answer_or_404(rnd, answer_id)
    try:
        with transaction():
            n = review.redact_too(
                answer,
                request.form.get("words", ""),
                request.form.get("category", ""),
                current_user.user_id,
            )
    except review.ReviewError as exc:
        flash(str(exc), "error")
        return see_other(_answer_url(rnd, answer.id, f))
    flash("Hidden." if n == 1 else f"Hidden in {n} places.", "success")
    return see_other(_answer_url(rnd, answer.id, f))
