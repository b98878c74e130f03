"""Webhooks other services call: ``POST /hooks/telegram`` for the Telegram bot, and
``POST /hooks/sms/notify`` and ``POST /hooks/sms/twilio`` for received text messages.

Thin adapters over ``bot.webhook.receive`` and ``sms.webhook``, which check the caller
(secret header, bearer token, Twilio's signature), validate the body, commit the answer and
then send the replies. The app factory exempts this blueprint from CSRF: the providers
authenticate with their own secrets instead.
"""

from __future__ import annotations

import threading

from flask import Blueprint, current_app, jsonify, request
from werkzeug.wrappers import Response

from bot import webhook
from sms import webhook as sms_webhook
from sms.providers import sender_for
from surveys.notify.sms import Sender
from web import runtime

bp = Blueprint("hooks", __name__, url_prefix="/hooks")
SENDER = "yjvoice.telegram_sender"
SMS_SENDER = "yjvoice.sms_sender"
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


def sms_sender() -> Sender | None:
    """Return this app's text-message sender (None when no provider is configured)."""
    extensions = current_app.extensions
    with _sender_lock:
        if SMS_SENDER not in extensions:
            extensions[SMS_SENDER] = sender_for(runtime().settings.sms)
    return extensions[SMS_SENDER]


def _answer(result: sms_webhook.Response) -> Response:
    return Response(result.body, status=result.status, content_type=result.content_type)


@bp.post("/sms/notify")
def sms_notify() -> Response:
    """Take one received text from GOV.UK Notify; answer 200 once it is committed."""
    request.max_content_length = sms_webhook.MAX_BODY + 1
    return _answer(
        sms_webhook.receive_notify(
            runtime(),
            sms_sender,
            authorization=request.headers.get("Authorization"),
            content_length=request.content_length,
            read_body=_read,
        )
    )


@bp.post("/sms/twilio")
def sms_twilio() -> Response:
    """Take one received text from Twilio; answer empty TwiML once it is committed."""
    request.max_content_length = sms_webhook.MAX_BODY + 1
    rt = runtime()
    # Twilio signs the URL it was given: the public address, not the one behind a proxy.
    url = rt.settings.public_base_url + request.full_path.rstrip("?")
    return _answer(
        sms_webhook.receive_twilio(
            rt,
            sms_sender,
            url=url,
            signature=request.headers.get("X-Twilio-Signature"),
            form=request.form,
        )
    )
