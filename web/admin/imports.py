"""Import answers from a CSV or Excel file: upload, preview every row, then confirm (lead only).

The upload is kept in the instance folder (owner-only permissions) between the preview and
the confirmation, under a random token tied to the lead and the round, and deleted once
imported or cancelled (or after ``PENDING_MAX_AGE``). The confirmation reads and checks
the file again, so what is stored is exactly what was previewed, or nothing.

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
from pathlib import Path

from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user

from surveys.services import importer
from surveys.storage import store
from web import db, runtime
from web.admin import bp
from web.admin.access import LEAD, SAFEGUARDERS, roles_required, round_or_404
from web.transactions import transaction

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
def imports_index():
    """Choose the round to import answers into."""
    return render_template("admin/imports/index.html", rounds=store.list_rounds(db()))


def _upload_page(rnd, *, error: str | None = None, status: int = 200, encoding: str = ""):
    return render_template(
        "admin/imports/upload.html",
        round=rnd,
        error=error,
        encodings=importer.ENCODINGS,
        encoding=encoding,
        max_mb=importer.MAX_IMPORT_BYTES // (1024 * 1024),
    ), status


def _too_big(code: str, size: int | None):
    return _upload_page(round_or_404(code), error=importer.too_big_message(size), status=413)


@bp.route("/rounds/<code>/import", methods=["GET", "POST"])
@roles_required(LEAD, max_body=importer.MAX_IMPORT_BYTES + REQUEST_SLACK, too_big=_too_big)
def import_upload(code: str):
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
            data, rnd, runtime().catalogue, filename=filename, encoding=encoding
        )
    except importer.ImportFileError as exc:
        log.info("import refused round=%s user=%s: file error", rnd.id, current_user.user_id)
        return _upload_page(rnd, error=str(exc), status=422, encoding=encoding or "")
    token = None
    if preview.ok:
        token = _save_pending(
            data,
            {
                "user": current_user.user_id,
                "round": rnd.id,
                "filename": filename,
                "encoding": encoding,
                "sha256": preview.sha256,
                "created": time.time(),
            },
        )
    log.info(
        "import previewed round=%s user=%s rows=%d problems=%d",
        rnd.id,
        current_user.user_id,
        len(preview.rows),
        len(preview.problems),
    )
    return _preview_page(rnd, preview, token, status=200 if preview.ok else 422)


def _preview_page(rnd, preview: importer.Preview, token: str | None, *, status: int = 200):
    titles = {b.key: b.title for b in runtime().catalogue.banks}
    return render_template(
        "admin/imports/preview.html",
        round=rnd,
        preview=preview,
        token=token,
        titles=titles,
        audience_names=importer.AUDIENCE_PLURALS,
        rows=preview.rows[:ROWS_SHOWN],
        problems=preview.problems[:PROBLEMS_SHOWN],
        more_problems=max(0, len(preview.problems) - PROBLEMS_SHOWN),
    ), status


@bp.route("/rounds/<code>/import/confirm", methods=["GET", "POST"])
@roles_required(LEAD)
def import_confirm(code: str):
    """Store a previewed file (all rows or none), or cancel it."""
    rnd = round_or_404(code)
    if request.method == "GET":
        return redirect(url_for("admin.import_upload", code=rnd.code))
    token = request.form.get("token", "")
    if request.form.get("action") == "cancel":
        _drop_pending(token)
        return redirect(url_for("admin.import_upload", code=rnd.code), 303)
    pending = _load_pending(token, rnd.id)
    if pending is None:
        return _upload_page(
            rnd,
            error="That preview has expired or was already imported. Please upload the file again.",
            status=410,
        )
    data, meta = pending
    try:
        preview = importer.preview_for_round(
            data, rnd, runtime().catalogue, filename=meta["filename"], encoding=meta["encoding"]
        )
    except importer.ImportFileError as exc:  # the round changed since the preview
        _drop_pending(token)
        return _upload_page(rnd, error=str(exc), status=422)
    if preview.sha256 != meta.get("sha256"):
        abort(400)
    if not preview.ok:  # the round's priorities or audiences changed since the preview
        _drop_pending(token)
        return _preview_page(rnd, preview, None, status=422)
    try:
        with transaction() as session:
            result = importer.import_checked(
                session, rnd, preview, secret=runtime().settings.secret_key, actor=current_user
            )
    except importer.ImportRefused as exc:
        return _upload_page(rnd, error=str(exc), status=409)
    _drop_pending(token)
    log.info(
        "import stored round=%s user=%s answers=%d respondents=%d duplicates=%d flagged=%d",
        rnd.id,
        current_user.user_id,
        result.answers,
        result.respondents,
        result.duplicates,
        result.flagged,
    )
    return render_template(
        "admin/imports/done.html",
        round=rnd,
        result=result,
        filename=meta["filename"],
        can_see_cases=current_user.role in SAFEGUARDERS,
    )
