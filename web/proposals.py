"""Proposals for staff and partners: see what colleagues proposed, support it, propose more.

Served at ``/r/<code>/proposals`` for open rounds that ask staff or partners. A visitor is
known by the same resume cookie as the survey (``web.public``): a staff or partner
respondent of this round. Someone arriving here first says whether they are staff or a
partner, which starts them as a respondent exactly as the survey link would. A vote holds
only a keyed hash of the cookie token, so support is anonymous and counted once each.
"""

from __future__ import annotations

import logging
import uuid

from flask import (
    Blueprint,
    abort,
    flash,
    get_flashed_messages,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.wrappers import Response

from surveys.core import engine
from surveys.core.vocabulary import PROPOSAL_AUDIENCES
from surveys.services import conversation, proposals
from surveys.storage import store
from surveys.storage.models import Respondent, Round
from web import db, error_page, resume, runtime

bp = Blueprint("proposals", __name__)
log = logging.getLogger("yjvoice.web.proposals")

FLASH = "proposals"
PROPOSER_CHOICES = {
    "staff": "I work in the youth justice service",
    "partner": "I work for a partner agency or sit on the board",
}
#: A few agencies to pick from; anyone may type their own.
AGENCY_SUGGESTIONS = (
    "YJS",
    "Police",
    "Health",
    "Education",
    "Children's Social Care",
    "Probation",
    "Courts",
    "Voluntary sector",
)


def _round(code: str) -> Round | tuple[str, int]:
    """Return the round, or the page to show instead (unknown, no proposals, closed)."""
    try:
        rnd = store.get_round(db(), code)
    except store.RoundNotFound:
        return error_page(
            404, "Survey not found", engine.default_texts().get("unknown_round", None)
        )
    if not proposals.offers_proposals(rnd):
        return error_page(
            404, "Page not found", "This survey does not ask staff or partners for proposals."
        )
    if not store.is_open(rnd):
        return _closed(rnd)
    return rnd


def _closed(rnd: Round) -> tuple[str, int]:
    return error_page(
        410,
        rnd.title,
        "This survey is closed, so proposals and support are closed too. Thank you to "
        "everyone who took part.",
    )


def _voter(rnd: Round) -> tuple[Respondent, str] | None:
    """Return the staff or partner respondent this browser is in the round, and its token."""
    for audience in ("staff", "partner", None):
        token = resume.token(audience)
        if token is None:
            continue
        resp = store.find_respondent(db(), rnd, resume.CHANNEL, store.token_hash(token))
        if resp is not None and resp.audience in PROPOSAL_AUDIENCES:
            return resp, token
    return None


def _offered_audiences(rnd: Round) -> list[tuple[str, str]]:
    return [(a, PROPOSER_CHOICES[a]) for a in PROPOSAL_AUDIENCES if a in rnd.audiences]


def _join_page(rnd: Round, status: int = 200) -> tuple[str, int]:
    return render_template(
        "proposals/join.html", round=rnd, audiences=_offered_audiences(rnd)
    ), status


@bp.route("/r/<code>/proposals", methods=["GET", "POST"])
def board(code: str) -> Response | tuple[str, int] | str:
    """List the round's proposals with support buttons (GET) or add one's support (POST)."""
    rnd = _round(code)
    if not isinstance(rnd, Round):
        return rnd
    if request.method == "GET" and code != rnd.code:
        return redirect(url_for(".board", code=rnd.code))
    found = _voter(rnd)
    if found is None:
        return _join_page(rnd, 200 if request.method == "GET" else 403)
    _resp, token = found
    key = proposals.voter_key(runtime().settings.secret_key, token)
    session = db()
    if request.method == "POST":
        pid = request.form.get("proposal", "")
        if not pid.isdigit() or len(pid) > 12:
            abort(400)
        try:
            added = proposals.support(session, rnd, int(pid), key)
        except proposals.ProposalNotFound:
            abort(404)
        session.commit()
        log.info("proposal support round=%s proposal=%s added=%s", rnd.id, pid, added)
        flash(
            "Thank you: your support is counted."
            if added
            else "You already support this one: each person counts once.",
            FLASH,
        )
        return redirect(url_for(".board", code=rnd.code) + f"#proposal-{int(pid)}", 303)
    views = proposals.list_for_round(
        session, rnd, runtime().catalogue, statuses=proposals.VISIBLE, voter=key
    )
    groups: list[tuple[str, list[proposals.ProposalView]]] = []
    for v in views:
        if not groups or groups[-1][0] != v.priority_title:
            groups.append((v.priority_title, []))
        groups[-1][1].append(v)
    return render_template(
        "proposals/board.html",
        round=rnd,
        groups=groups,
        messages=get_flashed_messages(category_filter=[FLASH]),
    )


@bp.route("/r/<code>/proposals/join", methods=["POST"])
def join(code: str) -> Response | tuple[str, int]:
    """Start a staff or partner respondent for this browser, then show the proposals."""
    rnd = _round(code)
    if not isinstance(rnd, Round):
        return rnd
    if _voter(rnd) is not None:
        return redirect(url_for(".board", code=rnd.code), 303)
    audience = request.form.get("audience", "")
    if audience not in dict(_offered_audiences(rnd)):
        return _join_page(rnd, 400)
    rt, session = runtime(), db()
    token = resume.new_token()
    resp, _ = conversation.start(
        session,
        rnd,
        rt.context,
        channel=resume.CHANNEL,
        resume_key=store.token_hash(token),
        audience=audience,
    )
    session.commit()
    log.info("respondent started for proposals round=%s respondent=%s", rnd.id, resp.id)
    response = make_response(redirect(url_for(".board", code=rnd.code), 303))
    resume.remember(response, rnd, audience, token)
    return response


@bp.route("/r/<code>/proposals/new", methods=["GET", "POST"])
def new(code: str) -> Response | tuple[str, int]:
    """Show the proposal form (GET) or store a proposal (POST)."""
    rnd = _round(code)
    if not isinstance(rnd, Round):
        return rnd
    found = _voter(rnd)
    if found is None:
        return _join_page(rnd, 200 if request.method == "GET" else 403)
    resp, _token = found
    draft = proposals.Draft("", "", "", "", "")
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        draft = proposals.Draft.from_form(request.form)
        submission = request.form.get("submission", "")
        try:
            submission = str(uuid.UUID(submission))
        except ValueError:
            abort(400)
        try:
            created = proposals.create(
                db(), rnd, draft, respondent_id=resp.id, inbound_key=f"web:proposal:{submission}"
            )
        except proposals.InvalidProposal as exc:
            db().rollback()
            errors, status = exc.errors, 422
        except store.RoundClosed:
            db().rollback()
            return _closed(rnd)
        else:
            db().commit()
            log.info("proposal stored round=%s proposal=%s", rnd.id, created.id)
            flash("Thank you. Your proposal is on the list for colleagues to support.", FLASH)
            return redirect(url_for(".board", code=rnd.code) + f"#proposal-{created.id}", 303)
    titles = {b.key: b.title for b in runtime().catalogue.banks}
    return render_template(
        "proposals/new.html",
        round=rnd,
        draft=draft,
        errors=errors,
        priorities=[(k, titles.get(k, k)) for k in rnd.priorities],
        agencies=AGENCY_SUGGESTIONS,
        limits=proposals.LIMITS,
        labels=proposals.FIELDS,
        submission=str(uuid.uuid4()),
    ), status


@bp.app_context_processor
def _proposals_link() -> dict:
    def proposals_link_for(rnd: Round | None) -> str | None:
        """Return the proposals page for a staff or partner respondent of an open round."""
        if rnd is None or not proposals.offers_proposals(rnd) or not store.is_open(rnd):
            return None
        if _voter(rnd) is None:
            return None
        return url_for("proposals.board", code=rnd.code)

    return {"proposals_link_for": proposals_link_for}
