"""Import answers from a CSV or Excel file: upload, match its questions, preview every row,
then confirm (lead only).

When the file words its questions in ways no question of the round is worded (a published
plan's, a Microsoft Forms export's columns), or has no audience column, the upload leads to
the mapping page: a select per wording, set to the closest question or to a new local
question under a priority, and who answered. Then the preview lists every row and what will
be created; nothing is stored before the confirmation. Plain forms: it works without
JavaScript.

The upload is kept in the instance folder (owner-only permissions) between the steps, with
the lead's choices, under a random token tied to the lead and the round, and deleted once
imported or cancelled (or after ``PENDING_MAX_AGE``). The confirmation reads and checks the
file again with the same choices, so what is stored is exactly what was previewed, or nothing.

The upload route raises the app's request size limit for itself (files up to
``importer.MAX_IMPORT_BYTES``), through ``roles_required``, which reads the CSRF token only
after that; a file over the limit gets the upload page with its size (413).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from flask import abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from surveys.services import importer
from surveys.storage import store
from web import db, runtime
from web.admin import bp
from web.admin.access import LEAD, SAFEGUARDERS, roles_required, round_or_404
from web.transactions import transaction

if TYPE_CHECKING:
    from surveys.core.catalogue import Question
    from surveys.storage.models import Round

log = logging.getLogger("yjvoice.admin.imports")

PENDING_MAX_AGE = 2 * 3600  # seconds an uploaded file waits for its confirmation
#: The whole request may be a little over the file limit (form fields, multipart framing).
REQUEST_SLACK = 1024 * 1024
ROWS_SHOWN = 25
PROBLEMS_SHOWN = 200
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{24}$")


def _folder() -> Path:
    folder = Path(runtime().settings.instance_path) / "imports"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _sweep(folder: Path) -> None:
    """Delete uploads nobody confirmed in time (they hold answers: keep them briefly)."""
    cutoff = time.time() - PENDING_MAX_AGE
    for path in folder.glob("*.upload*"):
        with contextlib.suppress(OSError):
            if path.stat().st_mtime < cutoff:
                path.unlink()


def _save_pending(data: bytes, meta: dict) -> str:
    folder = _folder()
    _sweep(folder)
    token = secrets.token_urlsafe(18)
    _write_private(folder / f"{token}.upload", data)
    _write_private(folder / f"{token}.upload.json", json.dumps(meta).encode())
    return token


def _update_pending(token: str, meta: dict) -> None:
    path = _folder() / f"{token}.upload.json"
    tmp = path.with_suffix(".tmp")
    with contextlib.suppress(OSError):
        tmp.unlink()
    _write_private(tmp, json.dumps(meta).encode())
    os.replace(tmp, path)


def _choices_of(meta: dict) -> importer.Choices:
    """Return the choices saved with an upload."""
    saved = meta.get("choices") or {}
    targets = {}
    for key, value in (saved.get("targets") or {}).items():
        with contextlib.suppress(ValueError):
            targets[key] = importer.Target.parse(value)
    return importer.Choices(
        targets=targets,
        priority=saved.get("priority"),
        audience=saved.get("audience"),
        new_questions=bool(saved.get("new_questions", True)),
        suggestions=bool(saved.get("suggestions", True)),
    )


def _saved_choices(choices: importer.Choices) -> dict:
    return {
        "targets": {k: str(t) for k, t in choices.targets.items()},
        "priority": choices.priority,
        "audience": choices.audience,
        "new_questions": choices.new_questions,
        "suggestions": choices.suggestions,
    }


#: What an upload starts with: exact matches, else a close question, else a new one.
FIRST_CHOICES = importer.Choices(new_questions=True, suggestions=True)


def _load_pending(token: str, round_id: int) -> tuple[bytes, dict] | None:
    if not _TOKEN.match(token or ""):
        return None
    folder = _folder()
    try:
        meta = json.loads((folder / f"{token}.upload.json").read_text(encoding="utf-8"))
        data = (folder / f"{token}.upload").read_bytes()
    except (OSError, ValueError):
        return None
    if meta.get("user") != current_user.user_id or meta.get("round") != round_id:
        return None
    if time.time() - meta.get("created", 0) > PENDING_MAX_AGE:
        return None
    return data, meta


def _drop_pending(token: str) -> None:
    if not _TOKEN.match(token or ""):
        return
    folder = _folder()
    for name in (f"{token}.upload", f"{token}.upload.json"):
        with contextlib.suppress(OSError):
            (folder / name).unlink()


def _encoding_choice(value: str | None) -> str | None:
    return value if value in importer.ENCODINGS else None


@bp.route("/import")
@roles_required(LEAD)
def imports_index() -> ResponseReturnValue:
    """Choose the round to import answers into."""
    return render_template("admin/imports/index.html", rounds=store.list_rounds(db()))


def _upload_page(
    rnd: Round, *, error: str | None = None, status: int = 200, encoding: str = ""
) -> tuple[str, int]:
    return render_template(
        "admin/imports/upload.html",
        round=rnd,
        error=error,
        encodings=importer.ENCODINGS,
        encoding=encoding,
        max_mb=importer.MAX_IMPORT_BYTES // (1024 * 1024),
        limits={"rows": f"{importer.LIMITS['rows']:,}", "columns": importer.LIMITS["columns"]},
    ), status


def _too_big(code: str, size: int | None) -> tuple[str, int]:
    return _upload_page(round_or_404(code), error=importer.too_big_message(size), status=413)


@bp.route("/rounds/<code>/import", methods=["GET", "POST"])
@roles_required(LEAD, max_body=importer.MAX_IMPORT_BYTES + REQUEST_SLACK, too_big=_too_big)
def import_upload(code: str) -> ResponseReturnValue:
    """Show the upload form (GET) or read an uploaded file and preview it (POST)."""
    rnd = round_or_404(code)
    if request.method == "GET":
        return _upload_page(rnd)
    upload = request.files.get("file")
    encoding = _encoding_choice(request.form.get("encoding"))
    if upload is None or not upload.filename:
        return _upload_page(rnd, error="Choose a CSV or Excel (.xlsx) file to import.", status=400)
    data = upload.stream.read(importer.MAX_IMPORT_BYTES)
    if len(data) >= importer.MAX_IMPORT_BYTES:
        return _upload_page(rnd, error=importer.too_big_message(len(data)), status=413)
    filename = Path(upload.filename.replace("\\", "/")).name[:200]
    try:
        preview = importer.preview_for_round(
            data,
            rnd,
            runtime().catalogue,
            filename=filename,
            encoding=encoding,
            choices=FIRST_CHOICES,
        )
    except importer.ImportFileError as exc:
        log.info("import refused round=%s user=%s: file error", rnd.id, current_user.user_id)
        return _upload_page(rnd, error=str(exc), status=422, encoding=encoding or "")
    token = None
    if preview.ok or preview.needs_mapping:
        token = _save_pending(
            data,
            {
                "user": current_user.user_id,
                "round": rnd.id,
                "filename": filename,
                "encoding": encoding,
                "sha256": preview.sha256,
                "created": time.time(),
                "choices": _saved_choices(FIRST_CHOICES),
                "mapped": not preview.needs_mapping,
                "fingerprint": preview.fingerprint(),
            },
        )
    log.info(
        "import previewed round=%s user=%s rows=%d problems=%d wordings=%d new=%d",
        rnd.id,
        current_user.user_id,
        len(preview.rows),
        len(preview.problems),
        len(preview.wordings),
        len(preview.new_questions),
    )
    if preview.needs_mapping:
        assert token is not None
        return _mapping_page(rnd, preview, token, FIRST_CHOICES)
    return _preview_page(rnd, preview, token, status=200 if preview.ok else 422)


def _round_priorities(rnd: Round) -> list[tuple[str, str]]:
    """Return (key, title) of the priorities new questions may go under, in plan order."""
    titles = {b.key: b.title for b in runtime().catalogue.banks}
    wanted = [*rnd.priorities, "general"]
    return [(b.key, titles[b.key]) for b in runtime().catalogue.banks if b.key in wanted]


def _question_options(
    rnd: Round, audiences: Sequence[str]
) -> list[tuple[str, list[tuple[str, str]]]]:
    """Return, per priority of the round, the questions a wording may go to: (id, wording)."""
    out = []
    for key, title in _round_priorities(rnd):
        bank = runtime().catalogue.bank(key)
        qs = [
            (q.id, (q.text_for(audiences[0]) if audiences else None) or _first_wording(q))
            for q in bank.questions
            if all(q.text_for(a) is not None for a in audiences)
        ]
        if qs:
            out.append((title, qs))
    return out


def _first_wording(q: Question) -> str:
    return next(iter(q.texts.values()), q.id)


def _mapping_page(
    rnd: Round,
    preview: importer.Preview,
    token: str,
    choices: importer.Choices,
    *,
    status: int = 200,
) -> tuple[str, int]:
    audience = choices.audience or (rnd.audiences[0] if len(rnd.audiences) == 1 else "")
    catalogue = runtime().catalogue
    wordings = []
    for w in preview.wordings:
        audiences = list(w.audiences)
        target = w.target
        if target is None:
            chosen = "new"
        elif target.kind == importer.QUESTION:
            chosen = f"q:{target.question_id}"
        else:
            chosen = target.kind
        suggestion = None
        if w.suggestion is not None:
            try:
                q = catalogue.question(w.suggestion.question_id)
                words = q.text_for(audiences[0]) if audiences else None
                suggestion = (w.suggestion, words or next(iter(q.texts.values()), ""))
            except KeyError:
                suggestion = None
        wordings.append(
            {
                "w": w,
                "chosen": chosen,
                "under": (target.priority if target and target.priority else None)
                or w.new_priority
                or "",
                "suggestion": suggestion,
                "options": _question_options(rnd, audiences),
            }
        )
    return render_template(
        "admin/imports/mapping.html",
        round=rnd,
        preview=preview,
        token=token,
        wordings=wordings,
        priorities=_round_priorities(rnd),
        audience=audience,
        audience_names=importer.AUDIENCE_PLURALS,
        titles={b.key: b.title for b in catalogue.banks},
    ), status


def _pending_or_gone(
    rnd: Round, token: str
) -> tuple[tuple[bytes, dict] | None, tuple[str, int] | None]:
    pending = _load_pending(token, rnd.id)
    if pending is None:
        return None, _upload_page(
            rnd,
            error="That preview has expired or was already imported. Please upload the file again.",
            status=410,
        )
    return pending, None


def _form_choices(rnd: Round, preview: importer.Preview) -> importer.Choices:
    """Read the mapping form: a target per wording, the audience, the default priority."""
    allowed = {k for k, _ in _round_priorities(rnd)}
    targets: dict[str, importer.Target] = {}
    for w in preview.wordings:
        value = request.form.get(f"to-{w.key}", "")
        under = request.form.get(f"under-{w.key}") or None
        if under not in allowed:
            under = None
        if value.startswith("q:") and len(value) > 2:
            targets[w.key] = importer.Target(importer.QUESTION, question_id=value[2:200])
        elif value == importer.SKIP:
            targets[w.key] = importer.Target(importer.SKIP)
        elif value == importer.NEW:
            targets[w.key] = importer.Target(importer.NEW, priority=under)
    audience = request.form.get("audience") or None
    if audience not in rnd.audiences:
        audience = None
    return importer.Choices(targets=targets, audience=audience, new_questions=True)


@bp.route("/rounds/<code>/import/map", methods=["GET", "POST"])
@roles_required(LEAD)
def import_map(code: str) -> ResponseReturnValue:
    """Show how the file's questions will be matched (GET), or save the lead's choices and
    preview the import with them (POST)."""
    rnd = round_or_404(code)
    token = request.values.get("token", "")
    pending, gone = _pending_or_gone(rnd, token)
    if gone is not None:
        return gone
    assert pending is not None  # one of the two is None
    data, meta = pending
    choices = _choices_of(meta)
    try:
        before = importer.preview_for_round(
            data,
            rnd,
            runtime().catalogue,
            filename=meta["filename"],
            encoding=meta["encoding"],
            choices=choices,
        )
    except importer.ImportFileError as exc:  # the round changed since the upload
        _drop_pending(token)
        return _upload_page(rnd, error=str(exc), status=422)
    if request.method == "GET":
        return _mapping_page(rnd, before, token, choices)
    choices = _form_choices(rnd, before)
    preview = importer.preview_for_round(
        data,
        rnd,
        runtime().catalogue,
        filename=meta["filename"],
        encoding=meta["encoding"],
        choices=choices,
    )
    meta.update(choices=_saved_choices(choices), mapped=True, fingerprint=preview.fingerprint())
    _update_pending(token, meta)
    log.info(
        "import mapped round=%s user=%s rows=%d problems=%d new=%d",
        rnd.id,
        current_user.user_id,
        len(preview.rows),
        len(preview.problems),
        len(preview.new_questions),
    )
    return _preview_page(
        rnd,
        preview,
        token if preview.ok else None,
        status=200 if preview.ok else 422,
        map_token=token,
    )


def _preview_page(
    rnd: Round,
    preview: importer.Preview,
    token: str | None,
    *,
    status: int = 200,
    map_token: str | None = None,
    changed: bool = False,
) -> tuple[str, int]:
    titles = {b.key: b.title for b in runtime().catalogue.banks}
    return render_template(
        "admin/imports/preview.html",
        round=rnd,
        preview=preview,
        token=token,
        map_token=map_token or (token if preview.wordings else None),
        changed=changed,
        new_texts={n.key: n.text for n in preview.new_questions},
        titles=titles,
        audience_names=importer.AUDIENCE_PLURALS,
        rows=preview.rows[:ROWS_SHOWN],
        problems=preview.problems[:PROBLEMS_SHOWN],
        more_problems=max(0, len(preview.problems) - PROBLEMS_SHOWN),
    ), status


@bp.route("/rounds/<code>/import/confirm", methods=["GET", "POST"])
@roles_required(LEAD)
def import_confirm(code: str) -> ResponseReturnValue:
    """Store a previewed file (all rows or none), or cancel it."""
    rnd = round_or_404(code)
    if request.method == "GET":
        return redirect(url_for("admin.import_upload", code=rnd.code))
    token = request.form.get("token", "")
    if request.form.get("action") == "cancel":
        _drop_pending(token)
        return redirect(url_for("admin.import_upload", code=rnd.code), 303)
    pending, gone = _pending_or_gone(rnd, token)
    if gone is not None:
        return gone
    assert pending is not None  # one of the two is None
    data, meta = pending
    if not meta.get("mapped"):  # the questions were never matched: do that first
        return redirect(url_for("admin.import_map", code=rnd.code, token=token), 303)
    try:
        preview = importer.preview_for_round(
            data,
            rnd,
            runtime().catalogue,
            filename=meta["filename"],
            encoding=meta["encoding"],
            choices=_choices_of(meta),
        )
    except importer.ImportFileError as exc:  # the round changed since the preview
        _drop_pending(token)
        return _upload_page(rnd, error=str(exc), status=422)
    if preview.sha256 != meta.get("sha256"):
        abort(400)
    if not preview.ok:  # the round's priorities or audiences changed since the preview
        return _preview_page(rnd, preview, None, status=422, map_token=token)
    if preview.fingerprint() != meta.get("fingerprint"):
        # The questions changed since the preview (another lead's import created some, say):
        # show what would be stored now, and ask again.
        meta["fingerprint"] = preview.fingerprint()
        _update_pending(token, meta)
        return _preview_page(rnd, preview, token, status=409, changed=True)
    try:
        with transaction() as session:
            result = importer.import_checked(
                session,
                rnd,
                preview,
                secret=runtime().settings.secret_key,
                actor=current_user,
                base=runtime().banks,
            )
    except importer.ImportRefused as exc:
        return _upload_page(rnd, error=str(exc), status=409)
    _drop_pending(token)
    log.info(
        "import stored round=%s user=%s answers=%d respondents=%d duplicates=%d flagged=%d "
        "questions=%d",
        rnd.id,
        current_user.user_id,
        result.answers,
        result.respondents,
        result.duplicates,
        result.flagged,
        len(result.questions),
    )
    return render_template(
        "admin/imports/done.html",
        round=rnd,
        result=result,
        filename=meta["filename"],
        can_see_cases=current_user.role in SAFEGUARDERS,
    )
