"""Local stand-ins for GOV.UK Notify and Twilio on 127.0.0.1, for tests and benchmarks.

Each speaks the provider's real HTTP API, so the real client libraries
(``notifications-python-client``, ``twilio``) talk to it unchanged through a base-URL
override:

- **Notify**: ``POST /v2/notifications/sms`` with ``Authorization: Bearer <JWT>``; the JWT
  must be HS256, signed with the API key's secret, with ``iss`` = the service id and ``iat``
  within 30 seconds of now (Notify's rules; anything else is a 403 with Notify's error
  body). Answers 201 with Notify's notification JSON.
- **Twilio**: ``POST /2010-04-01/Accounts/<sid>/Messages.json`` with HTTP basic auth
  (account sid, auth token) and form fields ``To``, ``From``, ``Body``; answers 201 with a
  Message resource. A number marked ``opted_out`` gets error 21610, as Twilio answers a
  number that texted STOP.

Each keeps the texts it accepted (``sent``, ``sent_to``) and can fail the next N calls with
a given status (``fail``). Inbound texts are built here too, as each provider delivers them
to our webhooks: ``NotifyStandIn.callback`` (JSON plus the bearer token) and
``TwilioStandIn.inbound`` (a form signed with ``X-Twilio-Signature``).
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import jwt
from twilio.request_validator import RequestValidator

NOTIFY_SERVICE_ID = "3b5e5a4c-7d2f-4c1e-9a53-6f0f2b8e1d11"
NOTIFY_SECRET = "9a7c1f0e-5b3d-4e8a-b2c6-d4f1a0e9c7b5"
NOTIFY_API_KEY = f"yjvoice_test-{NOTIFY_SERVICE_ID}-{NOTIFY_SECRET}"
NOTIFY_TEMPLATE_ID = "f1e2d3c4-b5a6-4978-8a9b-0c1d2e3f4a5b"
NOTIFY_INBOUND_TOKEN = "notify-inbound-token-for-tests-0123456789"
NOTIFY_INBOUND_NUMBER = "447700900000"
TWILIO_SID = "AC" + "0f" * 16
TWILIO_TOKEN = "twilio-auth-token-for-tests-0123456789"
TWILIO_FROM = "+447700900001"
IAT_BOUND = 30  # seconds, Notify's allowance for clock skew


@dataclass(frozen=True)
class Text:
    """One text a provider accepted from us."""

    id: str
    to: str  # as the client sent it
    body: str
    at: float


@dataclass
class _State:
    sent: list[Text] = field(default_factory=list)
    failures: list[tuple[int, int, dict[str, Any]]] = field(default_factory=list)
    opted_out: set[str] = field(default_factory=set)
    refused: int = 0  # calls refused for bad credentials
    accepted: int = 0  # texts accepted in all (``sent`` may keep only the newest)


class _StandIn:
    """A threaded HTTP server holding the texts; subclasses answer the provider's API."""

    def __init__(self) -> None:
        self.keep = 1_000_000
        self.state = _State()
        self.lock = threading.Condition()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- server plumbing
    def start(self) -> _StandIn:
        """Start serving on a free port of 127.0.0.1."""
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: without TCP_NODELAY the body waits
            # for the client's delayed ACK (40 ms on Linux), which no real provider adds.
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:  # the benchmark asks how many texts arrived
                if self.path != "/_sent":
                    self.send_error(404)
                    return
                with standin.lock:
                    data = json.dumps({"sent": standin.state.accepted}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status, payload = standin.handle(self.path, dict(self.headers), body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", getattr(self, "_bind_port", 0)), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> _StandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """Return the URL the client library should use instead of the provider's."""
        assert self._httpd is not None, "start() the server first"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        raise NotImplementedError

    def serve(self, port: int) -> None:
        """Serve on a given port of 127.0.0.1 until killed (a benchmark runs one per process)."""
        self._bind_port = port
        self.start()
        assert self._thread is not None
        self._thread.join()

    # ---------------------------------------------------------------- what tests read
    @property
    def sent(self) -> list[Text]:
        """Return every text accepted so far, oldest first."""
        with self.lock:
            return list(self.state.sent)

    def sent_to(self, number: str) -> list[Text]:
        """Return the texts accepted for one number (E.164, with or without "+")."""
        digits = number.lstrip("+")
        return [t for t in self.sent if t.to.lstrip("+") == digits]

    def wait_for(self, condition: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Wait until ``condition()`` is truthy (re-checked whenever a text arrives)."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                value = condition()
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("the stand-in never saw what the test waited for")
                self.lock.wait(left)

    def fail(self, status: int, times: int = 1, body: dict[str, Any] | None = None) -> None:
        """Answer the next ``times`` sends with ``status`` (and the provider's error body)."""
        with self.lock:
            self.state.failures.append((status, times, body or {}))

    def opt_out(self, number: str) -> None:
        """Make the provider refuse texts to this number (Twilio: error 21610)."""
        with self.lock:
            self.state.opted_out.add(number.lstrip("+"))

    @property
    def refused(self) -> int:
        """Return how many calls were refused for bad credentials."""
        with self.lock:
            return self.state.refused

    def _take_failure(self) -> tuple[int, dict[str, Any]] | None:
        if not self.state.failures:
            return None
        status, times, body = self.state.failures[0]
        if times <= 1:
            self.state.failures.pop(0)
        else:
            self.state.failures[0] = (status, times - 1, body)
        return status, body

    def _accept(self, to: str, body: str, ident: str) -> Text:
        text = Text(ident, to, body, time.time())
        self.state.sent.append(text)
        self.state.accepted += 1
        if len(self.state.sent) > self.keep:  # a long benchmark: keep the newest only
            del self.state.sent[: -self.keep]
        self.lock.notify_all()
        return text


class NotifyStandIn(_StandIn):
    """GOV.UK Notify's ``/v2/notifications/sms``, with its JWT rules."""

    def __init__(
        self,
        *,
        service_id: str = NOTIFY_SERVICE_ID,
        secret: str = NOTIFY_SECRET,
        template_id: str = NOTIFY_TEMPLATE_ID,
        inbound_token: str = NOTIFY_INBOUND_TOKEN,
    ) -> None:
        super().__init__()
        self.service_id, self.secret, self.template_id = service_id, secret, template_id
        self.inbound_token = inbound_token
        self.api_key = f"yjvoice_test-{service_id}-{secret}"

    @staticmethod
    def _error(status: int, error: str, message: str) -> tuple[int, Any]:
        return status, {"status_code": status, "errors": [{"error": error, "message": message}]}

    def _check_token(self, headers: dict[str, str]) -> str | None:
        auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        if not auth.startswith("Bearer "):
            return "Unauthorized: authentication token must be provided"
        token = auth[len("Bearer ") :]
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != "HS256" or header.get("typ") != "JWT":
                return "Invalid token: algorithm used is not HS256"
            claims = jwt.decode(
                token, self.secret, algorithms=["HS256"], options={"verify_iat": False}
            )
        except jwt.PyJWTError:
            return "Invalid token: signature, api token not found"
        if claims.get("iss") != self.service_id:
            return "Invalid token: service not found"
        iat = claims.get("iat")
        if not isinstance(iat, int | float) or abs(time.time() - iat) > IAT_BOUND:
            return "Error: Your system clock must be accurate to within 30 seconds"
        return None

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        if path != "/v2/notifications/sms":
            return self._error(404, "NotFound", "The requested URL was not found")
        problem = self._check_token(headers)
        with self.lock:
            if problem is not None:
                self.state.refused += 1
                return self._error(403, "AuthError", problem)
            failure = self._take_failure()
            if failure is not None:
                status, err = failure
                return status, err or {"status_code": status, "errors": [{"error": "Error"}]}
            try:
                data = json.loads(body)
                to, template = data["phone_number"], data["template_id"]
                text = data.get("personalisation", {})["body"]
            except (ValueError, KeyError, TypeError):
                return self._error(400, "ValidationError", "phone_number is a required property")
            if template != self.template_id:
                return self._error(400, "BadRequestError", "Template not found")
            if not isinstance(text, str) or len(text) > 918:
                return self._error(400, "BadRequestError", "Text messages cannot be longer")
            ident = str(uuid.uuid4())
            self._accept(to, text, ident)
        return 201, {
            "id": ident,
            "reference": data.get("reference"),
            "content": {"body": text, "from_number": NOTIFY_INBOUND_NUMBER},
            "uri": f"{self.base_url}/v2/notifications/{ident}",
            "template": {
                "id": template,
                "version": 1,
                "uri": f"{self.base_url}/services/{self.service_id}/templates/{template}",
            },
            "scheduled_for": None,
        }

    def callback(
        self, number: str, message: str, *, ident: str | None = None
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """Return (JSON body, headers) of a received text, as Notify POSTs it to us."""
        payload = {
            "id": ident or str(uuid.uuid4()),
            "source_number": number.lstrip("+"),
            "destination_number": NOTIFY_INBOUND_NUMBER,
            "message": message,
            "date_received": time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime()),
        }
        return payload, {"Authorization": f"Bearer {self.inbound_token}"}


_sids = itertools.count(1)


def message_sid() -> str:
    """Return a new Twilio-style MessageSid (SM + 32 hex)."""
    return "SM" + f"{next(_sids):032x}"


class TwilioStandIn(_StandIn):
    """Twilio's Messages API, with basic auth and error 21610 for opted-out numbers."""

    def __init__(self, *, sid: str = TWILIO_SID, token: str = TWILIO_TOKEN) -> None:
        super().__init__()
        self.sid, self.token = sid, token

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        if path != f"/2010-04-01/Accounts/{self.sid}/Messages.json":
            return 404, {"code": 20404, "message": "The requested resource was not found"}
        auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        expected = "Basic " + base64.b64encode(f"{self.sid}:{self.token}".encode()).decode()
        with self.lock:
            if auth != expected:
                self.state.refused += 1
                return 401, {"code": 20003, "message": "Authenticate", "status": 401}
            failure = self._take_failure()
            if failure is not None:
                status, err = failure
                return status, err or {"code": 20500, "message": "Error", "status": status}
            form = dict(parse_qsl(body.decode(), keep_blank_values=True))
            to, text = form.get("To", ""), form.get("Body", "")
            if not to or "From" not in form:
                return 400, {"code": 21604, "message": "A 'To' phone number is required."}
            if to.lstrip("+") in self.state.opted_out:
                return 400, {
                    "code": 21610,
                    "message": "Attempt to send to unsubscribed recipient",
                    "more_info": "https://www.twilio.com/docs/errors/21610",
                    "status": 400,
                }
            sid = message_sid()
            self._accept(to, text, sid)
        return 201, {
            "sid": sid,
            "account_sid": self.sid,
            "to": to,
            "from": form["From"],
            "body": text,
            "status": "queued",
            "num_segments": "1",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "uri": f"/2010-04-01/Accounts/{self.sid}/Messages/{sid}.json",
        }

    def inbound(
        self, url: str, number: str, body: str, *, sid: str | None = None, **extra: str
    ) -> tuple[dict[str, str], dict[str, str]]:
        """Return (form fields, headers) of a received text, signed as Twilio signs it.

        ``url`` is the full public URL of our webhook, as Twilio was given it.
        """
        params = {
            "ToCountry": "GB",
            "SmsMessageSid": sid or message_sid(),
            "NumMedia": "0",
            "From": number,
            "To": TWILIO_FROM,
            "Body": body,
            "NumSegments": "1",
            "AccountSid": self.sid,
            "ApiVersion": "2010-04-01",
            **extra,
        }
        params["MessageSid"] = params["SmsMessageSid"]
        signature = RequestValidator(self.token).compute_signature(url, params)
        return params, {"X-Twilio-Signature": signature}
