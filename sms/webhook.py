"""Receive texts from GOV.UK Notify and Twilio: check who is calling, read, apply, reply.

Framework-free (``web/hooks.py`` registers the views): each function takes what the request
carried and returns a ``Response``.

- **Notify** (``POST /hooks/sms/notify``): ``Authorization: Bearer <NOTIFY_INBOUND_TOKEN>``
  compared in constant time (401 without one, 403 for a wrong one; nothing read or
  stored), then JSON ``{id, source_number, destination_number, message, date_received}``.
- **Twilio** (``POST /hooks/sms/twilio``): form fields signed with ``X-Twilio-Signature``,
  checked by the ``twilio`` package's ``RequestValidator`` against ``TWILIO_AUTH_TOKEN``
  and the public URL (``PUBLIC_BASE_URL`` + the path); 403 otherwise. The answer is an
  empty TwiML document: replies go by the REST API.

A body that is not what the provider sends (bad JSON, a missing field, an id of the wrong
shape, a number that is not one) is a 400 with a short reason; nothing is stored. A text is
applied and committed first (``sms.handler.handle``), then the replies are sent
(``surveys.notify.sms.deliver``: now, or kept for a retry), and only then is 200
given, well inside Notify's 5 s. A database failure answers 500, so the provider tries
again; the message id makes the retry apply once, and a duplicate sends nothing.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from twilio.request_validator import RequestValidator

from sms import handler
from sms.translate import Incoming, chat_key, read, valid_message_id
from surveys.core import phones
from surveys.notify import sms as outbound
from surveys.notify.sms import Sender
from surveys.runtime import Runtime
from surveys.services import texting

log = logging.getLogger("yjvoice.sms")
MAX_BODY = 64 * 1024  # a received text is at most a few KB, even at 1,600 characters
TWIML_EMPTY = b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
NOTIFY_PATH = "/hooks/sms/notify"
TWILIO_PATH = "/hooks/sms/twilio"


@dataclass(frozen=True)
class Response:
    """What to answer the provider."""

    status: int
    body: bytes
    content_type: str = "application/json"


def _json(status: int, **data: object) -> Response:
    return Response(status, json.dumps(data).encode())


def notify_authorised(expected: str | None, header: str | None) -> int | None:
    """Return None when the bearer token matches (constant time), else 401 or 403."""
    if not header or not header.startswith("Bearer "):
        return 401
    if not expected:
        return 403
    presented = header[len("Bearer ") :].strip()
    return None if hmac.compare_digest(presented.encode(), expected.encode()) else 403


def receive_notify(
    rt: Runtime,
    sender: Callable[[], Sender | None],
    *,
    authorization: str | None,
    content_length: int | None,
    read_body: Callable[[int], bytes],
) -> Response:
    """Handle one callback from Notify: a received text."""
    refused = notify_authorised(rt.settings.sms.notify_inbound_token, authorization)
    if refused is not None:
        log.warning("sms notify: refused a callback without the right token")
        return _json(refused, ok=False, error="unauthorised" if refused == 401 else "forbidden")
    if content_length is not None and content_length > MAX_BODY:
        return _json(413, ok=False, error="too large")
    body = read_body(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        return _json(413, ok=False, error="too large")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return _json(400, ok=False, error="body is not JSON")
    if not isinstance(data, dict):
        return _json(400, ok=False, error="body is not a JSON object")
    ident, source, message = data.get("id"), data.get("source_number"), data.get("message")
    if not valid_message_id("notify", ident):
        return _json(400, ok=False, error="id is missing or not a Notify id")
    if not isinstance(source, str) or not isinstance(message, str):
        return _json(400, ok=False, error="source_number and message must be strings")
    number = phones.to_e164(source)
    if number is None:
        return _json(400, ok=False, error="source_number is not a phone number")
    assert isinstance(ident, str)
    return _apply(rt, sender, read("notify", ident.lower(), number, message), _json(200, ok=True))


def receive_twilio(
    rt: Runtime,
    sender: Callable[[], Sender | None],
    *,
    url: str,
    signature: str | None,
    form: Mapping[str, object],
) -> Response:
    """Handle one webhook from Twilio: a received text (form fields, signed)."""
    token = rt.settings.sms.twilio_auth_token
    if not token or not signature or not RequestValidator(token).validate(url, form, signature):
        log.warning("sms twilio: refused a webhook without a valid signature")
        return _json(403, ok=False, error="forbidden")
    sid, source, message = form.get("MessageSid"), form.get("From"), form.get("Body")
    if not valid_message_id("twilio", sid):
        return _json(400, ok=False, error="MessageSid is missing or not a Twilio id")
    if not isinstance(source, str) or not isinstance(message, str):
        return _json(400, ok=False, error="From and Body are required")
    number = phones.to_e164(source)
    if number is None:
        return _json(400, ok=False, error="From is not a phone number")
    assert isinstance(sid, str)
    empty = Response(200, TWIML_EMPTY, "text/xml")
    return _apply(rt, sender, read("twilio", sid, number, message), empty)


def _apply(
    rt: Runtime, sender: Callable[[], Sender | None], inc: Incoming, ok: Response
) -> Response:
    try:
        result = handler.handle(rt, inc)
    except Exception as exc:
        log.error("sms %s failed: %s", inc.key, type(exc).__name__)
        return _json(500, ok=False, error="try again")
    if result.texts and not result.duplicate:
        key = chat_key(rt.settings.secret_key, inc.number)
        texts = [texting.Outgoing(inc.number, key, body) for body in result.texts]
        try:
            out = sender()
        except Exception as exc:  # misconfigured provider: keep the replies for later
            log.error("sms: no sender: %s", type(exc).__name__)
            out = None
        outbound.deliver(rt.transaction, out, texts, rt.settings.sms)
    return ok
