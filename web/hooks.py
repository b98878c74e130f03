"""Webhooks other services call: ``POST /hooks/telegram`` for the Telegram bot.

A thin adapter over ``bot.webhook.receive``, which checks the secret header, validates the
update, commits the answer and then sends the replies. The app factory exempts this
blueprint from CSRF: Telegram authenticates with the secret header instead.
"""

from __future__ import annotations

import threading

from flask import Blueprint, current_app, jsonify, request
from werkzeug.wrappers import Response

from bot import webhook
from web import runtime

bp = Blueprint("hooks", __name__, url_prefix="/hooks")
SENDER = "yjvoice.telegram_sender"
_sender_lock = threading.Lock()


def telegram_sender() -> webhook.Sender:
    """Return this app's Telegram sender (its thread starts on first use, after forking)."""
    extensions = current_app.extensions
    with _sender_lock:
        sender = extensions.get(SENDER)
        if sender is None:
            sender = extensions[SENDER] = webhook.Sender(runtime().settings)
    return sender


def _read(size: int) -> bytes:
    """Read up to ``size`` bytes of the body (a socket may hand them over in pieces)."""
    chunks: list[bytes] = []
    left = size
    while left > 0:
        chunk = request.stream.read(left)
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


@bp.post("/telegram")
def telegram() -> tuple[Response, int]:
    """Take one update from Telegram; answer 200 only once it is committed."""
    # The app-wide limit is sized for forms; this view bounds the body itself (413).
    request.max_content_length = webhook.MAX_BODY + 1
    result = webhook.receive(
        runtime(),
        secret=request.headers.get(webhook.SECRET_HEADER),
        content_length=request.content_length,
        read=_read,
        sender=telegram_sender,
    )
    return jsonify(result.body), result.status
