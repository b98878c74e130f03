"""A small fake Telegram Bot API server on 127.0.0.1, for tests and benchmarks.

It speaks HTTP the way PTB expects (``POST /bot<token>/<method>``, form-encoded params,
``{"ok": ..., "result": ...}`` answers), holds updates for ``getUpdates`` with long polling
and offset confirmation, keeps the messages the bot sends and edits, records every call,
and lets a test enqueue updates built as Telegram sends them and wait for the bot's
replies by condition (never by sleeping). Whoever posts updates to a bot's webhook hands
the bot's answers to ``webhook_answered``, which runs the Bot API call a 2xx answer may
carry, as Telegram does.

    with FakeBotAPI() as api:
        settings = replace(settings, telegram_token=api.token, telegram_api_url=api.base_url)
        api.enqueue(api.command(user, "/start", "ABC123"))
        api.wait_for(lambda: api.sent_to(user.id))
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

DEFAULT_TOKEN = "123456789:TEST-fake-token-for-local-bot-api"
BOT_ID = 123456789
# Params PTB sends JSON-encoded; every other param is sent as the raw string.
_JSON_PARAMS = {
    "chat_id",
    "message_id",
    "reply_markup",
    "offset",
    "limit",
    "timeout",
    "allowed_updates",
    "commands",
    "show_alert",
    "cache_time",
    "drop_pending_updates",
    "max_connections",
    "link_preview_options",
    "entities",
    "disable_notification",
    "protect_content",
}


@dataclass(frozen=True)
class User:
    """A Telegram user as the Bot API shows them."""

    id: int
    first_name: str = "Sam"
    username: str | None = None
    language_code: str | None = None  # the app's language, e.g. "cy" (optional in the API)

    def as_json(self) -> dict[str, Any]:
        """Return the User object of the Bot API."""
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    def chat(self) -> dict[str, Any]:
        """Return this user's private Chat object."""
        data: dict[str, Any] = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.username:
            data["username"] = self.username
        return data


@dataclass(frozen=True)
class Call:
    """One request the bot made: method, decoded params, when (perf_counter) and answer.

    ``via`` says how it came: ``"http"`` (a request to this server) or ``"webhook"`` (the
    body of the bot's answer to a webhook delivery, see ``FakeBotAPI.webhook_answered``).
    """

    method: str
    params: dict[str, Any]
    at: float
    ok: bool = True
    result: Any = None
    via: str = "http"


@dataclass
class _Failure:
    method: str
    code: int
    description: str
    times: int
    retry_after: int | None = None


@dataclass
class _State:
    updates: list[dict[str, Any]] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    failures: list[_Failure] = field(default_factory=list)
    poll_generation: int = 0
    polls_waiting: int = 0
    webhook_url: str = ""


class FakeBotAPI:
    """The fake server; start it (or use it as a context manager) before building the bot."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        first_update_id: int = 500_000_001,
        on_call: Callable[[Call], None] | None = None,
    ) -> None:
        self.token = token
        self.on_call = on_call
        self._cond = threading.Condition()
        self._state = _State()
        self._update_ids = itertools.count(first_update_id)
        self._message_ids = itertools.count(1)
        self._user_message_ids = itertools.count(100_001)
        self._query_ids = itertools.count(900_001)
        self._closed = False
        self._latency: dict[str, Callable[[int], float]] = {}
        self._latency_calls = itertools.count()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.bot_user = {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "YJ Voice (test)",
            "username": "yjvoice_test_bot",
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> FakeBotAPI:
        """Serve on a free loopback port in a background thread."""
        api = self

        class Handler(_Handler):
            server_api = api

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; pending long polls return at once."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeBotAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """Return the port it listens on."""
        assert self._httpd is not None, "start() the server first"
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        """Return the Bot API base URL in PTB's sense (base_url + token + "/" + method)."""
        return f"http://127.0.0.1:{self.port}/bot"

    # -- updates in ----------------------------------------------------------------------

    def next_update_id(self) -> int:
        """Return a fresh update id."""
        return next(self._update_ids)

    def enqueue(self, *updates: dict[str, Any]) -> list[dict[str, Any]]:
        """Make updates available to getUpdates (the same dict twice is delivered twice)."""
        with self._cond:
            for update in updates:
                self._state.updates.append(json.loads(json.dumps(update)))
            self._cond.notify_all()
        return list(updates)

    def polls_waiting(self) -> int:
        """Return how many getUpdates calls are waiting for an update (long polling)."""
        with self._cond:
            return self._state.polls_waiting

    def pending_updates(self) -> int:
        """Return how many updates the bot has not confirmed yet."""
        with self._cond:
            return len(self._state.updates)

    def message(self, user: User, text: str | None = None, **extra: Any) -> dict[str, Any]:
        """Return an update with a new private message from a user."""
        msg: dict[str, Any] = {
            "message_id": next(self._user_message_ids),
            "date": int(time.time()),
            "chat": user.chat(),
            "from": user.as_json(),
        }
        if text is not None:
            msg["text"] = text
            if text.startswith("/"):
                command = text.split(" ", 1)[0]
                msg["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        msg.update(extra)
        return {"update_id": self.next_update_id(), "message": msg}

    def command(self, user: User, command: str, payload: str = "") -> dict[str, Any]:
        """Return an update with a command such as ``/start CODE`` (a deep link's payload)."""
        return self.message(user, f"{command} {payload}".strip())

    def sticker(self, user: User) -> dict[str, Any]:
        """Return an update with a sticker."""
        return self.message(
            user,
            sticker={
                "file_id": "CAACAgIAAxkBAAEBsticker",
                "file_unique_id": "AgADsticker",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "type": "regular",
                "emoji": "👍",
            },
        )

    def photo(self, user: User, caption: str | None = None) -> dict[str, Any]:
        """Return an update with a photo (and an optional caption)."""
        extra: dict[str, Any] = {
            "photo": [
                {"file_id": "AgACphoto-s", "file_unique_id": "AQADs", "width": 90, "height": 90},
                {"file_id": "AgACphoto-m", "file_unique_id": "AQADm", "width": 320, "height": 320},
            ]
        }
        if caption is not None:
            extra["caption"] = caption
        return self.message(user, **extra)

    def voice(self, user: User) -> dict[str, Any]:
        """Return an update with a voice note."""
        voice = {"file_id": "AwACvoice", "file_unique_id": "AgADvoice", "duration": 3}
        return self.message(user, voice=voice)

    def document(self, user: User) -> dict[str, Any]:
        """Return an update with a document."""
        doc = {"file_id": "BQACdoc", "file_unique_id": "AgADdoc", "file_name": "notes.pdf"}
        return self.message(user, document=doc)

    def edited(self, user: User, text: str, message_id: int = 100_000) -> dict[str, Any]:
        """Return an update saying the user edited an earlier message."""
        msg = {
            "message_id": message_id,
            "date": int(time.time()) - 60,
            "edit_date": int(time.time()),
            "chat": user.chat(),
            "from": user.as_json(),
            "text": text,
        }
        return {"update_id": self.next_update_id(), "edited_message": msg}

    def group_message(self, user: User, text: str) -> dict[str, Any]:
        """Return an update with a message in a group the bot is in."""
        chat = {"id": -1001234567890, "type": "supergroup", "title": "A group"}
        return self.message(user, text, chat=chat)

    def callback(self, user: User, message_id: int, data: str) -> dict[str, Any]:
        """Return an update for a press of an inline button on a message the bot sent."""
        with self._cond:
            msg = dict(self._state.messages[message_id])
        return {
            "update_id": self.next_update_id(),
            "callback_query": {
                "id": str(next(self._query_ids)),
                "from": user.as_json(),
                "chat_instance": f"-{user.id % 9973}",
                "data": data,
                "message": msg,
            },
        }

    def press(self, user: User, message_id: int, label: str) -> dict[str, Any]:
        """Return the update for pressing the button with this label (as shown now)."""
        for row in self.buttons(message_id):
            for button in row:
                if button["text"] == label:
                    return self.callback(user, message_id, button["callback_data"])
        raise LookupError(f"message {message_id} has no button {label!r}")

    # -- what the bot did ------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[Call]:
        """Return the calls the bot made (of one method, if given)."""
        with self._cond:
            return [c for c in self._state.calls if method is None or c.method == method]

    def sent_to(self, chat_id: int) -> list[dict[str, Any]]:
        """Return the messages sent to a chat, oldest first, as they look now (after edits)."""
        with self._cond:
            return [dict(m) for m in self._state.messages.values() if m["chat"]["id"] == chat_id]

    def buttons(self, message_id: int) -> list[list[dict[str, Any]]]:
        """Return a sent message's inline keyboard as it is now."""
        with self._cond:
            markup = self._state.messages[message_id].get("reply_markup") or {}
        return markup.get("inline_keyboard", [])

    def wait_for(self, condition: Callable[[], Any], timeout: float = 30.0) -> Any:
        """Wait until ``condition()`` is truthy (re-checked on every call) and return it."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                # The condition may call back into this object; the lock is re-entrant.
                value = condition()
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"condition not met within {timeout}s")
                self._cond.wait(remaining)

    def fail(
        self,
        method: str,
        code: int,
        description: str,
        times: int = 1,
        retry_after: int | None = None,
    ) -> None:
        """Make the next ``times`` calls of a method fail as Telegram would."""
        with self._cond:
            self._state.failures.append(_Failure(method, code, description, times, retry_after))

    def set_latency(self, method: str, seconds: Callable[[int], float]) -> None:
        """Answer a method after ``seconds(n)`` for its n-th call (a slow network)."""
        self._latency[method] = seconds

    # -- the API -----------------------------------------------------------------------------

    def _record(
        self, method: str, params: dict[str, Any], ok: bool, result: Any = None, via: str = "http"
    ) -> None:
        call = Call(method, params, time.perf_counter(), ok, result, via)
        with self._cond:
            self._state.calls.append(call)
            self._cond.notify_all()
        if self.on_call is not None:
            self.on_call(call)

    def _failure(self, method: str) -> _Failure | None:
        with self._cond:
            for f in self._state.failures:
                if f.method == method and f.times > 0:
                    f.times -= 1
                    return f
        return None

    def webhook_answered(
        self, status: int, body: bytes, content_type: str | None = None
    ) -> str | None:
        """Do what Telegram does with a bot's answer to a webhook delivery.

        Telegram executes the Bot API call a 2xx answer's body holds (``method`` and its
        parameters, as JSON or form data; method names are case-insensitive), except the
        ``get...`` methods, ``setWebhook``, ``deleteWebhook``, ``close`` and ``logOut``. The
        bot never sees the result. Returns the method run, if any.
        """
        if not 200 <= status <= 299 or not body:
            return None
        ctype = (content_type or "").split(";", 1)[0].strip().lower()
        if ctype not in ("application/json", "application/x-www-form-urlencoded"):
            return None
        try:
            params = _decode(body, ctype)
        except (ValueError, UnicodeDecodeError):
            return None
        method = params.pop("method", None)
        if not isinstance(method, str) or not method:
            return None
        name = method.lower()
        if name in _NOT_FROM_WEBHOOK or name.startswith("get"):
            return None
        method = _METHODS.get(name, method)
        self.handle(self.token, method, params, via="webhook")
        return method

    def handle(
        self, token: str, method: str, params: dict[str, Any], *, via: str = "http"
    ) -> tuple[int, dict]:
        """Answer one Bot API call: (HTTP status, JSON body)."""
        if token != self.token:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        failure = self._failure(method)
        if failure is not None:
            self._record(method, params, ok=False, via=via)
            body: dict[str, Any] = {
                "ok": False,
                "error_code": failure.code,
                "description": failure.description,
            }
            if failure.retry_after is not None:
                body["parameters"] = {"retry_after": failure.retry_after}
            return failure.code, body
        if method == "getUpdates":
            return self._get_updates(params)
        delay = self._latency.get(method)
        if delay is not None:
            time.sleep(delay(next(self._latency_calls)))
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            self._record(method, params, ok=False, via=via)
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        try:
            result = handler(params)
        except _BadRequest as exc:
            self._record(method, params, ok=False, via=via)
            return 400, {"ok": False, "error_code": 400, "description": str(exc)}
        self._record(method, params, ok=True, result=result, via=via)
        return 200, {"ok": True, "result": result}

    def _get_updates(self, params: dict[str, Any]) -> tuple[int, dict]:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        deadline = time.monotonic() + timeout
        with self._cond:
            # A new getUpdates ends the one still waiting, as Telegram does.
            self._state.poll_generation += 1
            generation = self._state.poll_generation
            self._cond.notify_all()
            if offset > 0:  # confirm everything before the offset
                self._state.updates = [u for u in self._state.updates if u["update_id"] >= offset]
            while True:
                if generation != self._state.poll_generation:
                    return 409, {
                        "ok": False,
                        "error_code": 409,
                        "description": "Conflict: terminated by other getUpdates request",
                    }
                ready = [u for u in self._state.updates if u["update_id"] >= offset]
                remaining = deadline - time.monotonic()
                if ready or self._closed or remaining <= 0:
                    break
                self._state.polls_waiting += 1
                self._cond.notify_all()
                try:
                    self._cond.wait(remaining)
                finally:
                    self._state.polls_waiting -= 1
            result = ready[:limit]
        self._record("getUpdates", params, ok=True)
        return 200, {"ok": True, "result": result}

    def _new_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        msg: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Sam"},
            "from": dict(self.bot_user),
            "text": str(params.get("text", "")),
        }
        if params.get("reply_markup"):
            msg["reply_markup"] = params["reply_markup"]
        with self._cond:
            self._state.messages[msg["message_id"]] = msg
        return msg

    def _find(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._cond:
            msg = self._state.messages.get(int(params.get("message_id") or 0))
        if msg is None or msg["chat"]["id"] != int(params.get("chat_id") or 0):
            raise _BadRequest("Bad Request: message to edit not found")
        return msg

    def _api_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return dict(self.bot_user)

    def _api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        if not str(params.get("text", "")).strip():
            raise _BadRequest("Bad Request: message text is empty")
        if len(str(params["text"])) > 4096:
            raise _BadRequest("Bad Request: message is too long")
        return self._new_message(params)

    def _api_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        msg = self._find(params)
        markup = params.get("reply_markup") or None
        with self._cond:
            if msg["text"] == params.get("text") and msg.get("reply_markup") == markup:
                raise _BadRequest("Bad Request: message is not modified")
            msg["text"] = str(params.get("text", ""))
            msg.pop("reply_markup", None)
            if markup:
                msg["reply_markup"] = markup
            msg["edit_date"] = int(time.time())
            return dict(msg)

    def _api_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        msg = self._find(params)
        markup = params.get("reply_markup") or None
        with self._cond:
            if msg.get("reply_markup") == markup:
                raise _BadRequest("Bad Request: message is not modified")
            msg.pop("reply_markup", None)
            if markup:
                msg["reply_markup"] = markup
            msg["edit_date"] = int(time.time())
            return dict(msg)

    def _api_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        return True

    def _api_setWebhook(self, params: dict[str, Any]) -> bool:
        with self._cond:
            self._state.webhook_url = str(params.get("url", ""))
        return True

    def _api_deleteWebhook(self, params: dict[str, Any]) -> bool:
        with self._cond:
            self._state.webhook_url = ""
            if params.get("drop_pending_updates"):
                self._state.updates.clear()
        return True

    def _api_getWebhookInfo(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._cond:
            return {
                "url": self._state.webhook_url,
                "has_custom_certificate": False,
                "pending_update_count": len(self._state.updates),
            }

    def _api_setMyCommands(self, params: dict[str, Any]) -> bool:
        return True

    def _api_deleteMyCommands(self, params: dict[str, Any]) -> bool:
        return True

    def _api_close(self, params: dict[str, Any]) -> bool:
        return True

    def _api_logOut(self, params: dict[str, Any]) -> bool:
        return True


class _BadRequest(Exception):
    pass


# Methods Telegram does not run from a webhook's answer (besides every "get..." method).
_NOT_FROM_WEBHOOK = {"setwebhook", "deletewebhook", "close", "logout"}
# Method names are case-insensitive: "answercallbackquery" -> "answerCallbackQuery".
_METHODS = {name[5:].lower(): name[5:] for name in vars(FakeBotAPI) if name.startswith("_api_")}


def _decode(raw: bytes, content_type: str) -> dict[str, Any]:
    if not raw:
        return {}
    if content_type.startswith("application/json"):
        data = json.loads(raw)
        return data if isinstance(data, dict) else {}
    params: dict[str, Any] = {}
    for name, value in parse_qsl(raw.decode(), keep_blank_values=True):
        if name in _JSON_PARAMS:
            try:
                params[name] = json.loads(value)
                continue
            except ValueError:
                pass
        params[name] = value
    return params


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as PTB's httpx client expects
    disable_nagle_algorithm = True  # small answers go out at once, not after delayed ACKs
    server_api: FakeBotAPI

    def log_message(self, format: str, *args: Any) -> None:
        pass  # request lines would carry the token

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (a cancelled long poll)

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        path = self.path.split("?", 1)[0]
        parts = path.strip("/").split("/")
        if len(parts) != 2 or not parts[0].startswith("bot"):
            self._answer(404, {"ok": False, "error_code": 404, "description": "Not Found"})
            return
        try:
            params = _decode(raw, self.headers.get("Content-Type", ""))
        except (ValueError, UnicodeDecodeError):
            self._answer(400, {"ok": False, "error_code": 400, "description": "Bad Request"})
            return
        status, body = self.server_api.handle(parts[0][3:], parts[1], params)
        self._answer(status, body)

    do_POST = _serve
    do_GET = _serve
