"""The respondent web form: one question per page, driven by the shared conversation engine.

GET shows where a respondent is, starting a pseudonymous respondent on the first visit
(a random token in a cookie; only its SHA-256 is stored). POST applies one answer or
command exactly once, keyed on the form's submission UUID, then redirects (Post/Redirect/
Get), so a double-clicked or re-posted form stores once. Pages work with JavaScript off.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import cast

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    get_flashed_messages,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from markupsafe import Markup, escape
from werkzeug.wrappers import Response

from surveys.core import engine
from surveys.core.vocabulary import AUDIENCES
from surveys.services import changes, conversation, safeguarding
from surveys.storage import store
from surveys.storage.models import Respondent, Round
from web import db, error_page, i18n, limits, resume, runtime
from web.transactions import transaction

bp = Blueprint("public", __name__)
log = logging.getLogger("yjvoice.web.public")

INLINE_HEADER = "YJV-Inline"
COMMANDS = frozenset({"help", "skip", "back", "stop", "start"})
#: Commands that act whatever page they were pressed on (they change no answer).
PAGE_FREE_COMMANDS = frozenset({"help", "stop", "start"})
FIELD_LIMITS = {"submission": 64, "question": 128, "choice": 64, "command": 16, "answer": None}
#: Engine replies the page shows in its own right, so they are not repeated as notices.
PAGE_STAGES = frozenset({"welcome", "stopped", "declined", "done"})
LOST_PLACE = lazy_gettext(
    "Sorry, we could not find your answers so far. Your browser may have cleared its "
    "cookies. Please open your link again."
)
BAD_FORM = lazy_gettext(
    "Sorry, that form was not complete, so nothing was saved. Please try again."
)
CONTACT_THANKS = lazy_gettext(
    "Thank you. A safe adult from the youth justice service will get in touch."
)
TOO_MANY_STARTS = lazy_gettext(
    "Sorry, a lot of people started this survey from your network just now. "
    "Please wait a few minutes, then open your link again."
)
TOO_FAST = lazy_gettext(
    "Sorry, that was sent too many times too quickly, so it was not saved. "
    "Please wait a minute, then try again. Your answers so far are safe."
)


class BadForm(ValueError):
    """The posted form is malformed (missing or repeated fields, bad values)."""


@dataclass(frozen=True)
class Posted:
    """One posted form, checked for shape (not for meaning: the engine judges that)."""

    submission: str
    question: str
    choice: str | None
    answer: str | None
    command: str | None


@bp.get("/")
def index() -> str:
    """Say what this site is, in plain words."""
    return render_template("index.html")


@bp.route("/r/<code>", methods=["GET", "POST"])
@bp.route("/r/<code>/<audience>", methods=["GET", "POST"])
def respond(code: str, audience: str | None = None) -> Response | tuple[str, int] | str:
    """Show the respondent's current step (GET) or apply one answer or command (POST)."""
    if audience is not None and audience not in AUDIENCES:
        abort(404)
    if request.method == "POST" and not _answer_allowed(audience):
        return _too_many(TOO_FAST)
    # The usual request (a cookie, an open round) reads round and respondent in one query;
    # a POST locks the respondent's row until its answer is committed.
    resp = resume.find_by_code(code, audience, lock=request.method == "POST")
    if resp is not None:
        rnd = resp.round
    else:
        try:
            rnd = store.get_round(db(), code)
        except store.RoundNotFound:
            text = engine.default_texts().get("unknown_round", audience, i18n.current())
            return error_page(404, _("Survey not found"), text)
    i18n.offer(rnd.languages)
    if audience is not None and audience not in rnd.audiences:
        return redirect(url_for(".respond", code=rnd.code), 303)
    if request.method != "POST" and code != rnd.code:
        return redirect(url_for(".respond", code=rnd.code, audience=audience), 302)
    if not store.is_open(rnd):
        return _closed(rnd, audience, resp)
    if request.method == "POST":
        return _post(rnd, resp, audience)
    return _get(rnd, resp, audience)


def _get(
    rnd: Round, resp: Respondent | None, audience: str | None
) -> Response | tuple[str, int] | str:
    if resp is not None and resume.left_idle(resp):
        if not resume.shared():
            # Someone else may be holding the phone: ask before showing any answer.
            return _who_page(rnd, resp, audience)
        resp = None  # an office tablet left alone: the next person starts afresh
    if resp is not None:
        wanted = i18n.asked()
        if wanted is not None and wanted != engine.State.from_dict(resp.state).lang:
            _switch_language(resp, wanted)
        offer = bool(get_flashed_messages(category_filter=["offer_contact"]))
        return _page(rnd, resp, audience, notices=_notices(), offer_contact=offer)
    if request.method == "HEAD":  # link checkers and previews: do not start anyone
        return ""
    settings = runtime().settings
    if not limits.allow("form-start", settings.form_start_limit, limits.client_address()):
        log.info("respondent start refused: too many from one address round=%s", rnd.id)
        return _too_many(TOO_MANY_STARTS)
    session = db()
    token = resume.new_token()
    resp, _turn = conversation.start(
        session,
        rnd,
        _ctx(),
        channel=resume.CHANNEL,
        resume_key=store.token_hash(token),
        audience=audience,
        lang=i18n.guess(),
    )
    session.commit()
    response = make_response(_page(rnd, resp, audience))
    resume.remember(response, rnd, audience, token)
    if request.args.get("device") == resume.SHARED:
        resume.mark_shared(response, rnd)
    return response


def _who_page(rnd: Round, resp: Respondent, audience: str | None) -> tuple[str, int]:
    """Ask whether the person holding the device is the one who started this survey."""
    i18n.use(engine.State.from_dict(resp.state).lang)
    texts = _ctx().texts
    danger = texts.get("danger", resp.audience, i18n.current())
    action = url_for(".who", code=rnd.code, audience=audience)
    return render_template("who.html", round=rnd, danger=danger, action=action), 200


@bp.post("/r/<code>/who")
@bp.post("/r/<code>/<audience>/who")
def who(code: str, audience: str | None = None) -> Response:
    """Carry on a survey left idle, or start afresh as someone else (the old one is kept)."""
    if audience is not None and audience not in AUDIENCES:
        abort(404)
    resp = resume.find_by_code(code, audience, lock=False)
    if resp is None:
        return redirect(url_for(".respond", code=code, audience=audience), 303)
    here = url_for(".respond", code=resp.round.code, audience=audience)
    response = redirect(here, 303)
    if request.form.get("choice") == "someone_else":
        resume.forget(response, resp.round, audience)
        log.info("someone else on the device round=%s respondent=%s", resp.round_id, resp.id)
    else:
        with transaction() as session:
            store.touch_respondent(session, resp)
    return response


def _ctx() -> conversation.Context:
    """Return the conversation context with the web form's own wording ("press Skip")."""
    return runtime().context_for(resume.CHANNEL)


def _switch_language(resp: Respondent, lang: str) -> None:
    """Switch a conversation's language (the language link): its place and answers stay."""
    session = db()
    key = f"{resume.CHANNEL}:lang:{uuid.uuid4()}"
    turn = conversation.apply(
        session,
        _ctx(),
        resp.id,
        engine.Inbound(language=lang),
        key=key,
    )
    session.commit()
    log.info("language switched round=%s respondent=%s", resp.round_id, turn.respondent_id)


def _post(rnd: Round, resp: Respondent | None, audience: str | None) -> Response | tuple[str, int]:
    """Apply one posted answer or command; ``resp`` is locked for this transaction."""
    here = url_for(".respond", code=rnd.code, audience=audience)
    if resp is None:
        return error_page(
            400, _("We lost your place"), str(LOST_PLACE), link=here, link_text=_("Start")
        )
    i18n.use(engine.State.from_dict(resp.state).lang)
    if resume.shared() and resume.left_idle(resp):
        # An office tablet left on a question: do not add the next person's answer to the
        # last person's survey. Ask who they are first.
        return _who_page(rnd, resp, audience)
    try:
        form = _read_form()
    except BadForm as exc:
        log.info("bad form round=%s respondent=%s: %s", rnd.id, resp.id, exc)
        return error_page(
            400, _("Something went wrong"), str(BAD_FORM), link=here, link_text=_("Go back")
        )

    session = db()
    key = f"{resume.CHANNEL}:{form.submission}"
    state = engine.State.from_dict(resp.state)
    texts = _ctx().texts
    if _answers_another_page(state, form):
        if store.seen(session, key):  # a double-click or re-post of a page already applied
            return redirect(here, 303)
        error = texts.get("stale", state.audience, state.lang)
        return _page(rnd, resp, audience, error=error, status=422)

    notices: list[str] = []
    try:
        if state.paused and form.command not in PAGE_FREE_COMMANDS:
            # Coming back with an answer after "stop": carry on, then take the answer,
            # rather than dropping what they typed in favour of "welcome back".
            resumed = _apply(resp, engine.Inbound(command="start"), f"{key}:resume")
            notices += _info(resumed.replies)
        outcome = _apply(resp, _inbound(state, form), key)
        session.commit()
    except store.RoundClosed:
        session.rollback()
        return _closed(rnd, audience, resp)
    except LookupError:  # the respondent withdrew (or was removed) meanwhile
        session.rollback()
        response = redirect(here, 303)
        resume.forget(response, rnd, audience)
        return response
    log.info(
        "inbound applied round=%s respondent=%s key=%s stored=%d duplicate=%s completed=%s",
        rnd.id,
        resp.id,
        key,
        outcome.stored,
        outcome.duplicate,
        outcome.completed,
    )
    if outcome.duplicate:
        return _next_page(rnd, resp, audience, here, [])
    notices += _info(outcome.replies)
    errors = [r.text for r in outcome.replies if r.kind == "error"]
    if errors:
        now = engine.State.from_dict(resp.state)
        same_question = now.stage == "question" and form.question == now.current
        typed = form.answer if same_question and form.command is None else None
        return _page(rnd, resp, audience, notices=notices, error=errors[0], typed=typed, status=422)
    return _next_page(rnd, resp, audience, here, notices, offer_contact=outcome.flagged)


def _next_page(
    rnd: Round,
    resp: Respondent,
    audience: str | None,
    here: str,
    notices: list[str],
    *,
    offer_contact: bool = False,
) -> Response | tuple[str, int]:
    """Show what comes after an applied answer.

    A plain form post gets a redirect to the page (Post/Redirect/Get: reloading or going
    back never re-posts). The page's script (``web/static/form.js``) asks, with the
    ``YJV-Inline`` header, for the page itself in the answer to its POST: one request per
    answer instead of two, which halves the waiting on a slow phone connection.
    """
    if request.headers.get(INLINE_HEADER) == "1":
        return _page(rnd, resp, audience, notices=notices, offer_contact=offer_contact)
    for text in notices:
        flash(text, "notice")
    if offer_contact:
        flash("offer", "offer_contact")
    return redirect(here, 303)


def _read_form() -> Posted:
    values: dict[str, str | None] = {}
    for name, limit in FIELD_LIMITS.items():
        got = request.form.getlist(name)
        if len(got) > 1:
            raise BadForm(f"{name} sent {len(got)} times")
        value = got[0] if got else None
        if value is not None and limit is not None and len(value) > limit:
            raise BadForm(f"{name} too long")
        values[name] = value
    try:
        submission = str(uuid.UUID(values["submission"] or ""))
    except ValueError:
        raise BadForm("submission missing or not a UUID") from None
    if values["question"] is None:
        raise BadForm("question missing")
    command = values["command"]
    if command is not None and command not in COMMANDS:
        raise BadForm("unknown command")
    return Posted(submission, values["question"], values["choice"], values["answer"], command)


def _answer_allowed(audience: str | None) -> bool:
    """Count one posted answer per client address and per respondent (its resume cookie)."""
    settings = runtime().settings
    if not limits.allow("form-answer", settings.form_answer_limit, limits.client_address()):
        log.info("answer refused: too many from one address")
        return False
    token = resume.token(audience)
    if token is not None:
        key = store.token_hash(token)
        if not limits.allow("form-respondent", settings.form_respondent_limit, key):
            log.info("answer refused: too many from one respondent")
            return False
    return True


def _too_many(message: str) -> Response:
    response = make_response(error_page(429, lazy_gettext("Please wait a moment"), message))
    response.headers["Retry-After"] = "60"
    return response


def _answers_another_page(state: engine.State, form: Posted) -> bool:
    """Return True when a form from an earlier step answers a step the engine won't check.

    In the question stage the engine itself refuses an answer to another question; the
    audience and consent steps carry no question id, so the page marker is checked here.
    """
    if state.stage in ("question", "done") or form.command in PAGE_FREE_COMMANDS:
        return False
    return form.question != _marker(state.stage, None)


def _inbound(state: engine.State, form: Posted) -> engine.Inbound:
    qid = form.question if state.stage == "question" else None
    if form.command is not None:
        return engine.Inbound(command=form.command, question_id=qid)
    if form.choice is not None:
        return engine.Inbound(choice=form.choice, question_id=qid)
    return engine.Inbound(text=form.answer, question_id=qid)


def _apply(resp: Respondent, inbound: engine.Inbound, key: str) -> conversation.Turn:
    return conversation.apply(db(), _ctx(), resp.id, inbound, key=key, locked=True)


def _info(replies: tuple[engine.Reply, ...]) -> list[str]:
    return [r.text for r in replies if r.kind == "info" and r.stage not in PAGE_STAGES]


def _notices() -> list[str]:
    # Without categories Flask returns the messages alone (its type covers both forms).
    return cast("list[str]", get_flashed_messages(category_filter=["notice"]))


def _marker(stage: str, question_id: str | None) -> str:
    """Return what a page's hidden ``question`` field says it answers."""
    return question_id or f"@{stage}"


def _closed(rnd: Round, audience: str | None, resp: Respondent | None) -> tuple[str, int]:
    draft = rnd.status == "draft"
    texts = _ctx().texts
    if resp is not None:
        i18n.use(engine.State.from_dict(resp.state).lang)
    else:
        i18n.use(i18n.guess() if i18n.guess() in rnd.languages else rnd.languages[0])
    lang = i18n.current()
    text = texts.get("not_open_yet" if draft else "closed", audience, lang)
    extra: dict[str, str] = {}
    if changes.is_public(rnd):  # the posters' QR codes lead here after the round
        extra = {"link": url_for("changes.page", code=rnd.code), "link_text": _("See what changed")}
    if resp is not None and not draft:
        # Someone part-way through keeps their way to take back what they gave.
        code = store.withdrawal_code(runtime().settings.secret_key, resp.id)
        text = texts.get("closed_midway", resp.audience, lang, code=code)
        return error_page(410, rnd.title, text, code=code, **extra)
    return error_page(403 if draft else 410, rnd.title, text, **extra)


def _strip_danger(text: str, danger: str) -> str:
    """Drop the danger line from a reply: every page shows it in its footer already."""
    return text.replace(danger, "").strip()


def _page(
    rnd: Round,
    resp: Respondent,
    audience: str | None,
    *,
    notices: list[str] | None = None,
    error: str | None = None,
    typed: str | None = None,
    status: int = 200,
    offer_contact: bool = False,
) -> tuple[str, int]:
    """Render where the respondent is now: a question, the paused page or the thank-you."""
    rt = runtime()
    secret = rt.settings.secret_key
    state = engine.State.from_dict(resp.state)
    i18n.use(state.lang)
    texts = _ctx().texts
    aud, lang = state.audience, state.lang
    danger = texts.get("danger", aud, lang)
    reply = conversation.current_replies(rnd, resp, _ctx())[-1]
    common = {
        "round": rnd,
        "danger": danger,
        "action": url_for(".respond", code=rnd.code, audience=audience),
        "submission": str(uuid.uuid4()),
        "notices": [_strip_danger(n, danger) for n in notices or ()],
        "error": error,
        "offer_contact": offer_contact,
        "contact_action": url_for(".leave_contact", code=rnd.code, audience=audience),
        "contact_token": resume.contact_token(resp) if offer_contact else "",
        "help_now": resp.disclosed_at is not None,
        "service_phone": rt.settings.service_phone,
        # An office tablet starts afresh when left: once a survey is under way or done
        # (a welcome page left alone has nothing to hide).
        "shared_idle": (
            int(resume.idle_limit().total_seconds())
            if resume.shared() and (state.stage in ("question", "done") or state.paused)
            else 0
        ),
        "restart_url": url_for(".respond", code=rnd.code, audience=audience),
    }
    if state.stage == "done":
        code = store.withdrawal_code(secret, resp.id)
        text = _strip_danger(reply.text, danger)
        # The device forgets this person now: the next one to pick it up starts afresh and
        # cannot see this code again (the page says to write it down).
        g.yjv_forget = (rnd, audience)
        return render_template("done.html", text=text, code=code, **common), status
    if state.paused:
        text = texts.get("declined" if state.stage == "consent" else "stopped", aud, lang)
        return render_template("paused.html", text=text, marker="@paused", **common), status
    max_length = None
    if reply.question_id is not None:
        max_length = rt.catalogue.question(reply.question_id).max_length
    if state.stage == "question":
        can_back = bool(state.history)
    else:
        can_back = state.stage == "consent" and not state.audience_fixed
    welcome = None
    if state.stage in ("audience", "consent"):
        welcome = texts.get("welcome", aud, lang, title=rnd.title)
    html = render_template(
        "question.html",
        reply=reply,
        text=_strip_danger(reply.text, danger),
        marker=_marker(reply.stage, reply.question_id),
        welcome=welcome,
        can_back=can_back,
        typed=typed,
        max_length=max_length,
        **common,
    )
    return html, status


@bp.after_request
def _forget_finished(response: Response) -> Response:
    """Delete the resume cookie of a survey whose thank-you page this response shows."""
    forget = g.pop("yjv_forget", None)
    if forget is not None:
        resume.forget(response, *forget)
    return response


@bp.app_template_filter("paragraphs")
def paragraphs(text: str) -> list[str]:
    """Split plain text into short paragraphs: one per sentence-ending line.

    A line break after . ! ? or : starts a new paragraph (easier to read than one block);
    any other line break is a wrap inside a sentence and becomes a space.
    """
    out: list[str] = []
    joining = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            joining = False
            continue
        if joining and out:
            out[-1] += " " + line
        else:
            out.append(line)
        joining = not line.endswith((".", "!", "?", ":"))
    return out


@bp.app_template_filter("mark_code")
def mark_code(line: str, code: str) -> Markup:
    """Escape a line of text and make a withdrawal code in it stand out."""
    safe = escape(line)
    if not code:
        return safe
    return safe.replace(escape(code), Markup('<strong class="code">{}</strong>').format(code))


@bp.app_template_filter("phone_links")
def phone_links(text: str) -> Markup:
    """Escape the danger line and make Childline's (and Meic's) free numbers tappable.

    999 stays plain text: a tap-to-call link for it invites pocket and mis-tap calls.
    """
    safe = escape(text).replace("0800 1111", Markup('<a href="tel:08001111">0800 1111</a>'))
    return safe.replace("080880 23456", Markup('<a href="tel:08088023456">080880 23456</a>'))


@bp.post("/r/<code>/contact")
@bp.post("/r/<code>/<audience>/contact")
def leave_contact(code: str, audience: str | None = None) -> Response | tuple[str, int]:
    """Keep a way to reach someone whose answer may disclose harm, if they chose to leave one."""
    if audience is not None and audience not in AUDIENCES:
        abort(404)
    if not _answer_allowed(audience):
        return _too_many(TOO_FAST)
    try:
        rnd = store.get_round(db(), code)
    except store.RoundNotFound:
        abort(404)
    here = url_for(".respond", code=rnd.code, audience=audience)
    resp = resume.find(rnd, audience)
    finished = resp is None  # the thank-you page has already forgotten the device
    if resp is None:
        rid = resume.from_contact_token(request.form.get("contact_token", ""))
        resp = db().get(Respondent, rid) if rid else None
        if resp is not None and resp.round_id != rnd.id:
            resp = None
    contact = request.form.get("contact", "")
    if resp is None or len(contact) > 1000:
        return error_page(
            400, _("Something went wrong"), str(BAD_FORM), link=here, link_text=_("Go back")
        )
    i18n.use(engine.State.from_dict(resp.state).lang)
    session = db()
    if safeguarding.leave_contact(session, resp.id, contact):
        session.commit()
        log.info("contact left round=%s respondent=%s", rnd.id, resp.id)
        if finished:  # no survey to go back to: say thank you here
            return error_page(200, rnd.title, str(CONTACT_THANKS))
        flash(str(CONTACT_THANKS), "notice")
    return redirect(here, 303)
