"""The question builder: a service's own priorities, consultations and questions (lead only).

Pages over ``surveys.services.questions``: list the local priorities and consultations,
create one, add, edit, remove and reorder its questions (and a service's own questions under
a national priority), with the live checks the packaged banks pass and a preview of each
question exactly as a young person sees it on a phone: the respondent form's own template
(``question.html``), drawn from the engine's own reply, in a 390 by 844 frame. Banks go out
and come back as YAML in the packaged banks' format (``files.export_bank``/``import_bank``).

Everything works with JavaScript off: "Check wording" shows the checks on the page again,
"Preview" draws the question in the frame. ``web/static/builder.js`` only does both as the
lead types. Every change is one ``with transaction():``; a change the service refuses
(``QuestionInvalid``) is shown on the form with its reason and nothing is saved.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

from flask import (
    abort,
    flash,
    jsonify,
    make_response,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import force_locale
from flask_login import current_user
from werkzeug.wrappers import Response

from surveys.core import engine
from surveys.core.catalogue import Catalogue, Question
from surveys.core.vocabulary import AUDIENCE_LABELS, AUDIENCES, ENGLISH, HTML_LANG, LANGUAGE_NAMES
from surveys.services import questions
from surveys.services.questions import QuestionInvalid
from surveys.storage.models import LocalBank, LocalQuestion
from web import CSP, db, error_page, runtime
from web.admin import bp
from web.admin.access import LEAD, roles_required
from web.admin.pages import see_other
from web.admin.question_form import (
    HELP_FOR,
    LANGS,
    TYPE_LABELS,
    FormProblem,
    QuestionForm,
    checks,
    follow_choices,
    from_request,
    from_spec,
    to_spec,
    without_welsh,
)
from web.resume import CHANNEL
from web.transactions import transaction

log = logging.getLogger("yjvoice.admin.questions")

#: A phone the lead previews on: the size the issue's tests use (an iPhone 12 to 15).
PHONE_WIDTH, PHONE_HEIGHT = 390, 844
#: An upload is a bank file, with a little room for the form around it.
UPLOAD_LIMIT = questions.MAX_FILE_BYTES + 64 * 1024
#: The builder page frames the preview; the preview may be framed by this site only.
BUILDER_CSP = CSP + "; frame-src 'self'"
PREVIEW_CSP = CSP.replace("frame-ancestors 'none'", "frame-ancestors 'self'")
HELP_LABELS = {"default": "Everyone", **AUDIENCE_LABELS}


def _base() -> Catalogue:
    """Return the packaged banks: every change is checked against them (never a built one)."""
    return runtime().banks


def _bank_or_404(key: str) -> tuple[str, LocalBank | None]:
    """Return a priority's title and its local bank (None for a national priority), or 404."""
    base = _base()
    if key in base.keys and key != "general":
        return base.bank(key).title, None
    try:
        bank = questions.local_bank(db(), key)
    except LookupError:
        abort(404)
    return bank.title, bank


def _frozen_note(row: LocalQuestion) -> questions.Freeze:
    return questions.freeze(db(), row)


# ---- the list ---------------------------------------------------------------------------------
@bp.route("/questions")
@roles_required(LEAD)
def questions_index() -> ResponseReturnValue:
    """List the service's own priorities and consultations, and its national ones' questions."""
    return _index_page()


def _index_page(*, error: str | None = None, status: int = 200) -> tuple[str, int]:
    session = db()
    base = _base()
    local = []
    for bank in questions.local_banks(session):
        rows = questions.questions_under(session, bank.key)
        rounds = [r.code for r in questions.open_rounds_asking(session, bank.key)] if rows else []
        local.append((bank, len(rows), rounds))
    national = [
        (b.key, b.title, len(questions.questions_under(session, b.key)))
        for b in base.banks
        if b.key != "general"
    ]
    return render_template(
        "admin/questions/index.html",
        local=local,
        national=national,
        kinds=questions.KINDS,
        error=error,
        max_kb=questions.MAX_FILE_BYTES // 1024,
    ), status


# ---- a new priority or consultation -----------------------------------------------------------
@bp.route("/questions/new", methods=["GET", "POST"])
@roles_required(LEAD)
def questions_new() -> ResponseReturnValue:
    """Create a local priority or a one-off consultation: title, purpose, kind, Welsh title."""
    fields = {
        "title": request.form.get("title", "")[:300],
        "title_cy": request.form.get("title_cy", "")[:300],
        "purpose": request.form.get("purpose", "")[:4000],
        "kind": request.form.get("kind", questions.PRIORITY)[:20],
        "key": request.form.get("key", "")[:64].strip(),
    }
    error, status = None, 200
    if request.method == "POST":
        try:
            with transaction() as session:
                bank = questions.create_bank(
                    session,
                    _base(),
                    title=fields["title"],
                    title_cy=fields["title_cy"] or None,
                    purpose=fields["purpose"],
                    kind=fields["kind"],
                    key=fields["key"] or None,
                    actor=current_user,
                )
                key = bank.key
        except QuestionInvalid as exc:
            error, status = str(exc), 400
        else:
            log.info("local priority created by=%s", current_user.user_id)
            flash(
                f"{questions.KINDS.get(fields['kind'], 'Priority')} created (key {key}). "
                "Add its questions: it can be asked once it has one.",
                "success",
            )
            return see_other(url_for("admin.questions_bank", key=key))
    return render_template(
        "admin/questions/new.html", fields=fields, kinds=questions.KINDS, error=error
    ), status


# ---- a priority's questions -------------------------------------------------------------------
@bp.route("/questions/<key>", methods=["GET", "POST"])
@roles_required(LEAD)
def questions_bank(key: str) -> ResponseReturnValue:
    """Show a priority's questions; change its title and purpose, move or remove a question."""
    title, bank = _bank_or_404(key)
    error, status = None, 200
    if request.method == "POST":
        action = request.form.get("action", "")
        name = request.form.get("name", "")[:128]
        if action == "remove" and request.form.get("confirmed") != "yes":
            # A question once removed is not asked again under its id: ask once more.
            try:
                row = questions.live_question(db(), name)
            except LookupError:
                abort(404)
            return render_template(
                "admin/questions/remove.html",
                key=key,
                title=title,
                row=row,
                frozen=_frozen_note(row),
            )
        try:
            with transaction() as session:
                if action == "details" and bank is not None:
                    questions.update_bank(
                        session,
                        _base(),
                        key,
                        title=request.form.get("title", "")[:300],
                        title_cy=request.form.get("title_cy", "")[:300] or None,
                        purpose=request.form.get("purpose", "")[:4000],
                        actor=current_user,
                    )
                    message = "Title and purpose saved."
                elif action in ("up", "down"):
                    offset = -1 if action == "up" else 1
                    saved = questions.move_question(
                        session, _base(), name, offset, actor=current_user
                    )
                    message = saved.message
                elif action == "remove":
                    message = questions.remove_question(
                        session, _base(), name, actor=current_user
                    ).message
                else:
                    message = ""
        except QuestionInvalid as exc:
            error, status = str(exc), 400
        except LookupError:
            error, status = "That question is not one of this priority's any more.", 404
        else:
            if message:
                flash(message, "success")
            else:
                flash("That did not work. Please try again.", "error")
            return see_other(url_for("admin.questions_bank", key=key))
    return _bank_page(key, title, bank, error=error, status=status)


def _bank_page(
    key: str, title: str, bank: LocalBank | None, *, error: str | None = None, status: int = 200
) -> tuple[str, int]:
    session = db()
    rows = questions.questions_under(session, key)
    listed = []
    for row in rows:
        try:
            question = runtime().catalogue.question(row.qid)
        except KeyError:  # left out of the catalogue (its problem is listed below)
            question = None
        listed.append((row, question, _frozen_note(row)))
    national = _base().bank(key).questions if bank is None else ()
    rounds = [r.code for r in questions.open_rounds_asking(session, key)]
    problems = [p for p in questions.built(session, _base()).problems if key in p]
    return render_template(
        "admin/questions/bank.html",
        key=key,
        title=title,
        bank=bank,
        kinds=questions.KINDS,
        listed=listed,
        national=national,
        rounds=rounds,
        problems=problems,
        error=error,
        type_labels=TYPE_LABELS,
        audience_labels=AUDIENCE_LABELS,
    ), status


# ---- the builder: add or edit one question ----------------------------------------------------
@bp.route("/questions/<key>/add", methods=["GET", "POST"], defaults={"name": None})
@bp.route("/questions/<key>/edit/<name>", methods=["GET", "POST"])
@roles_required(LEAD)
def question_form(key: str, name: str | None) -> ResponseReturnValue:
    """Write a question: wording per audience and language, checks as you go, a preview."""
    title, bank = _bank_or_404(key)
    row = None
    if name is not None:
        try:
            row = questions.live_question(db(), name)
        except LookupError:
            abort(404)
        if row.priority != key:
            abort(404)
    error, status = None, 200
    if request.method == "GET":
        form = from_spec(row.spec, row.name) if row is not None else QuestionForm()
    else:
        form = from_request(request.form)
        try:
            spec = to_spec(form)
        except FormProblem as exc:
            spec, error, status = None, str(exc), 400
        if spec is not None and request.form.get("action") == "save":
            try:
                with transaction() as session:
                    if row is None:
                        saved = questions.add_question(
                            session,
                            _base(),
                            priority=key,
                            spec=spec,
                            name=form.name or None,
                            actor=current_user,
                        )
                    else:
                        saved = questions.edit_question(
                            session, _base(), row.name, spec, actor=current_user
                        )
            except QuestionInvalid as exc:
                error, status = str(exc), 400
            else:
                log.info("question saved question=%s by=%s", saved.qid, current_user.user_id)
                flash(saved.message, "success")
                return see_other(url_for("admin.questions_bank", key=key))
        elif spec is not None:  # "Check wording": show the checks, and any problem, here
            error = _problem(key, spec, row, form)
    return _form_page(key, title, bank, form, row, error=error, status=status)


def _problem(
    key: str, spec: dict[str, Any], row: LocalQuestion | None, form: QuestionForm
) -> str | None:
    """Return why saving would be refused now (None when it would be saved)."""
    try:
        questions.draft(
            db(),
            _base(),
            priority=key,
            spec=spec,
            name=row.name if row is not None else (form.name or None),
        )
    except QuestionInvalid as exc:
        return str(exc)
    return None


def _form_page(
    key: str,
    title: str,
    bank: LocalBank | None,
    form: QuestionForm,
    row: LocalQuestion | None,
    *,
    error: str | None,
    status: int,
) -> Response:
    try:
        spec = to_spec(form)
    except FormProblem:
        spec = {}
    preview_args: dict[str, Any] = {"key": key}  # url_for's own keywords are not str
    if row is not None:
        preview_args["saved"] = row.name
    html = render_template(
        "admin/questions/form.html",
        key=key,
        title=title,
        bank=bank,
        form=form,
        row=row,
        frozen=_frozen_note(row) if row is not None else None,
        error=error,
        checks=checks(spec),
        no_welsh=without_welsh(spec),
        follows=follow_choices(runtime().catalogue, key, row.name if row is not None else None),
        type_labels=TYPE_LABELS,
        audiences=AUDIENCES,
        audience_labels=AUDIENCE_LABELS,
        help_for=HELP_FOR,
        help_labels=HELP_LABELS,
        langs=LANGS,
        language_names=LANGUAGE_NAMES,
        phone=(PHONE_WIDTH, PHONE_HEIGHT),
        preview_src=url_for("admin.question_preview", **preview_args),
    )
    response = make_response(html, status)
    response.headers["Content-Security-Policy"] = BUILDER_CSP
    return response


@bp.route("/questions/<key>/check", methods=["POST"])
@roles_required(LEAD)
def question_check(key: str) -> ResponseReturnValue:
    """Return the live checks of the question being written, as JSON (``builder.js``)."""
    _bank_or_404(key)
    form = from_request(request.form)
    name = request.form.get("editing", "")[:128] or None
    try:
        spec = to_spec(form)
    except FormProblem as exc:
        return jsonify({"ok": False, "problem": str(exc), "checks": [], "html": ""})
    row = None
    if name is not None:
        try:
            row = questions.live_question(db(), name)
        except LookupError:
            abort(404)
    found = checks(spec)
    problem = _problem(key, spec, row, form)
    html = render_template(
        "admin/questions/_checks.html",
        checks=found,
        problem=problem,
        no_welsh=without_welsh(spec),
    )
    return jsonify(
        {
            "ok": problem is None,
            "problem": problem,
            "checks": [c.as_dict() for c in found],
            "html": html,
        }
    )


# ---- the preview: the respondent form's own page ----------------------------------------------
@bp.route("/questions/<key>/preview", methods=["GET", "POST"])
@roles_required(LEAD)
def question_preview(key: str) -> ResponseReturnValue:
    """Show a question exactly as the web form shows it, for one audience in one language.

    GET shows a saved question (``?saved=NAME``); the builder's fields, posted (its Preview
    button) or in the query (``builder.js``, which replaces the frame's page so typing adds
    nothing to the browser's history), show the question as written so far. Nothing is
    saved, and a button pressed inside the preview saves nothing either.
    """
    title, _ = _bank_or_404(key)
    audience = request.values.get("preview_audience", "child")
    lang = request.values.get("preview_lang", ENGLISH)
    audience = audience if audience in AUDIENCES else "child"
    lang = lang if lang in LANGS else ENGLISH
    saved = request.args.get("saved", "")[:128] or None
    fields = request.form if request.method == "POST" else request.args
    building = "type" in fields
    notice = None
    if request.method == "POST" and not building:
        notice = "This is a preview: nothing was saved. In a survey, the next question comes now."
    if building:
        try:
            spec = to_spec(from_request(fields))
            editing = fields.get("editing", "")[:128] or None
            drafted = questions.draft(
                db(),
                _base(),
                priority=key,
                spec=spec,
                name=editing or fields.get("name", "")[:128].strip() or None,
            )
        except (FormProblem, QuestionInvalid) as exc:
            return _framed(error_page(200, "This question cannot be shown yet", str(exc)))
        return _framed(
            _preview(drafted.catalogue, title, drafted.row.qid, audience, lang, key, None, notice)
        )
    if saved is None and notice is not None:
        return _framed(
            error_page(
                200,
                "Preview",
                "This is a preview: nothing was saved. Press Preview in the builder to see "
                "the question again.",
            )
        )
    if saved is None:
        return _framed(
            error_page(
                200,
                "Preview",
                "Write the question, then press Preview: it is shown here as a young person "
                "sees it on a phone.",
            )
        )
    try:
        row = questions.live_question(db(), saved)
    except LookupError:
        abort(404)
    page = _preview(runtime().catalogue, title, row.qid, audience, lang, key, saved, notice)
    return _framed(page)


def _preview(
    catalogue: Catalogue,
    title: str,
    qid: str,
    audience: str,
    lang: str,
    key: str,
    saved: str | None,
    notice: str | None,
) -> tuple[str, int]:
    """Render ``question.html`` for a question as the engine would ask it in a round."""
    question = catalogue.question(qid)
    if question.text_for(audience) is None:
        return error_page(
            200,
            "Not asked of this group",
            f"This question has no wording for {AUDIENCE_LABELS[audience].lower()}, so they are "
            "not asked it. Give it wording for them to ask them too.",
        )
    texts = runtime().context_for(CHANNEL).texts
    survey = engine.Survey(
        title=title,
        audiences=(audience,),
        priorities=(question.priority,),
        catalogue=catalogue,
        texts=texts,
        languages=(lang,),
    )
    state = engine.State(
        stage="question",
        audience=audience,
        audience_fixed=True,
        current=qid,
        answers=_answers_before(survey, question, audience),
        version=1,
        lang=lang,
    )
    before = tuple(q.id for q in survey.questions(audience) if q.id in state.answers)
    state = replace(state, history=before)
    reply = engine.render(survey, state)[-1]
    danger = texts.get("danger", audience, lang)
    action = url_for(
        "admin.question_preview",
        key=key,
        saved=saved,
        preview_audience=audience,
        preview_lang=lang,
    )
    with force_locale(lang):
        html = render_template(
            "question.html",
            reply=reply,
            text=reply.text.replace(danger, "").strip(),
            marker=reply.question_id or "@preview",
            welcome=None,
            can_back=bool(state.history),
            typed=None,
            max_length=question.max_length,
            round=SimpleNamespace(title=title, code="PREVIEW"),
            danger=danger,
            action=action,
            submission=str(uuid.uuid4()),
            notices=[notice] if notice else [],
            error=None,
            offer_contact=False,
            contact_action="",
            contact_token="",
            help_now=False,
            service_phone=runtime().settings.service_phone,
            shared_idle=0,
            restart_url="",
            html_lang=HTML_LANG[lang],
            page_lang=lang,
            language_links=[],
        )
    return html, 200


def _answers_before(
    survey: engine.Survey, question: Question, audience: str
) -> dict[str, str | None]:
    """Return answers that bring a young person to this question: every earlier one
    answered, and the answer its follow-up rule asks for."""
    answers: dict[str, str | None] = {}
    for earlier in survey.questions(audience):
        if earlier.id == question.id:
            break
        if earlier.show_if is None or earlier.show_if.holds(answers):
            answers[earlier.id] = "*"
    cond = question.show_if
    if cond is not None:
        answers[cond.question] = cond.values[0] if cond.values else "*"
    return answers


def _framed(page: tuple[str, int]) -> Response:
    """Return a preview page that the builder (this site only) may show in its frame."""
    response = make_response(*page)
    response.headers["Content-Security-Policy"] = PREVIEW_CSP
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


# ---- bank files: YAML out and in --------------------------------------------------------------
@bp.route("/questions/<key>/export")
@roles_required(LEAD)
def questions_export(key: str) -> ResponseReturnValue:
    """Download a priority's own questions as a bank file (YAML, the packaged banks' format)."""
    _bank_or_404(key)
    try:
        text = questions.export_bank(db(), _base(), key)
    except LookupError:
        flash("There are no questions of your own here to download yet.", "error")
        return see_other(url_for("admin.questions_bank", key=key))
    response = make_response(text)
    response.headers["Content-Type"] = "application/x-yaml; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{key}.yaml"'
    return response


def _too_big(size: int | None = None) -> tuple[str, int]:
    return _index_page(
        error=f"That file is over {questions.MAX_FILE_BYTES // 1024} KB: it is not a bank of "
        "questions. Nothing was changed.",
        status=413,
    )


@bp.route("/questions/import", methods=["POST"])
@roles_required(LEAD, max_body=UPLOAD_LIMIT, too_big=_too_big)
def questions_import() -> ResponseReturnValue:
    """Read a bank file (YAML) into the service's questions: all of it, or nothing."""
    upload = request.files.get("bank")
    kind = request.form.get("kind", questions.PRIORITY)
    if upload is None or not upload.filename:
        return _index_page(error="Please choose a bank file (.yaml) to upload.", status=400)
    filename = (upload.filename or "upload.yaml").rsplit("/", 1)[-1][:100]
    data = upload.read(questions.MAX_FILE_BYTES + 1)
    if len(data) > questions.MAX_FILE_BYTES:
        return _too_big()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return _index_page(
            error=f"{filename}: the file is not text in UTF-8: save it as UTF-8 and try again. "
            "Nothing was changed.",
            status=400,
        )
    if not text.strip():
        return _index_page(error=f"{filename}: the file is empty. Nothing was changed.", status=400)
    try:
        with transaction() as session:
            done = questions.import_bank(
                session, _base(), text, filename=filename, kind=kind, actor=current_user
            )
    except QuestionInvalid as exc:
        return _index_page(error=f"{exc} Nothing was changed.", status=400)
    log.info("bank file imported priority=%s by=%s", done.priority, current_user.user_id)
    flash(done.summary(), "success")
    for message in done.messages:
        flash(message, "info")
    return see_other(url_for("admin.questions_bank", key=done.priority))
