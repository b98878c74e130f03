"""Receive Telegram updates by webhook (``POST /hooks/telegram``) inside the web process.

``receive`` does everything but Flask: it checks the secret header in constant time (403,
nothing read or stored, when it is missing, wrong, or no secret is configured), bounds the
body (413), parses and validates the update (400), applies it through ``handle_update``
(which commits) and answers 200 only after the commit. A database failure answers 500, so
Telegram delivers the update again; the delivery key makes the retry apply once.

A re-delivered update is stored once and answered 200; its reply (the current question)
is sent again, see ``bot.handler``.

A 200 answer to a button press carries its acknowledgement as a Bot API call in the body
(``{"method": "answerCallbackQuery", ...}``), which Telegram executes: one outgoing HTTP
call fewer per press. Any other 200 answer is ``{"ok": true}``; refusals and failures
carry no call (Telegram only executes one found in a 2xx answer).

Replies go out through a ``Sender``: one long-lived PTB bot (with PTB's rate limiter) on
an event loop in a background thread of the web process, started on first use, after
gunicorn has forked. Each chat's replies are queued in the order its updates committed
(the queue place is taken while the conversation's row is still locked), so concurrent
deliveries for one chat cannot overtake each other within a process. The request waits a
short while for its replies to go out, then answers anyway: the answer is already stored.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import hmac
import json
import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.ext import ExtBot

from bot.app import MAX_RATE, bot_api_request, quiet_library_logs, rate_limiter
from bot.handler import handle_update
from bot.render import Outgoing, deliver, webhook_reply
from surveys.config import Settings
from surveys.runtime import Runtime

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)
MAX_BODY = 1_000_000  # bytes; real updates are a few kilobytes
SEND_WAIT = 2.0  # seconds a request waits for its replies to reach Telegram
FILL_TIMEOUT = 60.0  # seconds a chat's queue waits for a reserved place to be filled
_MAX_UPDATE_ID = 2**63 - 1


@dataclass(frozen=True)
class Response:
    """What to answer Telegram: a status and a small JSON body (a 200's may be a Bot API call)."""

    status: int
    body: dict[str, Any] = field(default_factory=dict)


def authorised(settings: Settings, presented: str | None) -> bool:
    """Return True when the secret header matches the configured secret (constant time)."""
    expected = settings.telegram_webhook_secret
    if not expected or presented is None:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())


def parse_update(body: bytes) -> Update | None:
    """Return the Update a request body holds, or None when it is not one."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # bad JSON, bad encoding, absurd nesting
        return None
    if not isinstance(data, dict):
        return None
    update_id = data.get("update_id")
    if type(update_id) is not int or not 0 <= update_id <= _MAX_UPDATE_ID:
        return None
    try:
        return Update.de_json(data, None)
    except Exception:  # any shape PTB cannot read is "not an update", never a crash
        return None


class Ticket:
    """A reserved place in one chat's send queue, filled once the update has committed."""

    def __init__(self) -> None:
        self.filled: concurrent.futures.Future[list[Outgoing]] = concurrent.futures.Future()
        self.sent: concurrent.futures.Future[int] = concurrent.futures.Future()

    def fill(self, outgoing: Sequence[Outgoing]) -> None:
        """Hand over the messages for this place (an empty list releases it)."""
        with contextlib.suppress(concurrent.futures.InvalidStateError):
            self.filled.set_result(list(outgoing))  # a place given up on is not filled


class Sender:
    """A long-lived PTB bot on a background event loop, for sending from synchronous code."""

    def __init__(
        self, settings: Settings, *, max_rate: float = MAX_RATE, connections: int = 64
    ) -> None:
        self._settings = settings
        self._max_rate = max_rate
        self._connections = connections
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._bot: ExtBot[Any] | None = None
        self._tails: dict[int, asyncio.Task[None]] = {}  # chat id -> its last queued send

    def start(self) -> asyncio.AbstractEventLoop:
        """Start the loop thread and the bot, once per process (after a fork, again)."""
        with self._lock:
            if self._loop is not None and self._pid == os.getpid():
                return self._loop
            token = self._settings.telegram_token
            if not token:
                raise RuntimeError("TELEGRAM_TOKEN is not set; cannot send replies")
            quiet_library_logs()
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="telegram-sender", daemon=True)
            thread.start()
            bot = ExtBot(
                token,
                base_url=self._settings.telegram_api_url,
                request=bot_api_request(self._connections),
                get_updates_request=bot_api_request(1),
                rate_limiter=rate_limiter(self._max_rate),
            )
            try:
                asyncio.run_coroutine_threadsafe(bot.initialize(), loop).result(timeout=30)
            except BaseException:
                loop.call_soon_threadsafe(loop.stop)
                thread.join(timeout=5)
                loop.close()
                raise
            self._loop, self._thread, self._bot, self._pid = loop, thread, bot, os.getpid()
            self._tails = {}
            atexit.register(self.close)
            return loop

    def reserve(self, chat_id: int, *, update_id: int | None = None) -> Ticket:
        """Take the next place in a chat's send queue; fill it with the messages later."""
        ticket = Ticket()
        loop = self.start()
        with self._lock:  # places are queued in the order they are taken
            loop.call_soon_threadsafe(self._enqueue, chat_id, ticket, update_id)
        return ticket

    def _enqueue(self, chat_id: int, ticket: Ticket, update_id: int | None) -> None:
        previous = self._tails.get(chat_id)
        task = asyncio.get_running_loop().create_task(self._send(previous, ticket, update_id))
        self._tails[chat_id] = task

        def forget(done: asyncio.Task[None]) -> None:
            if self._tails.get(chat_id) is done:
                del self._tails[chat_id]

        task.add_done_callback(forget)

    async def _send(
        self, previous: asyncio.Task[None] | None, ticket: Ticket, update_id: int | None
    ) -> None:
        sent = 0
        try:
            if previous is not None:
                await asyncio.wait([previous])
            outgoing = await asyncio.wait_for(asyncio.wrap_future(ticket.filled), FILL_TIMEOUT)
            assert self._bot is not None
            sent = await deliver(self._bot, outgoing, update_id=update_id)
        except Exception as exc:
            log.error("update %s: sending failed: %s", update_id, type(exc).__name__)
        finally:
            if not ticket.sent.done():
                ticket.sent.set_result(sent)

    def close(self, timeout: float = 5.0) -> None:
        """Send what is queued (waiting at most ``timeout`` seconds), then stop the loop."""
        with self._lock:
            loop, thread, bot = self._loop, self._thread, self._bot
            if loop is None or self._pid != os.getpid() or loop.is_closed():
                return
            self._loop = self._thread = self._bot = None

        async def drain() -> None:
            pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            if pending:
                await asyncio.wait(pending, timeout=timeout)
            if bot is not None:
                await bot.shutdown()

        try:
            asyncio.run_coroutine_threadsafe(drain(), loop).result(timeout=timeout + 5)
        except Exception as exc:
            log.warning("telegram sender: closing: %s", type(exc).__name__)
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(timeout=5)
        if not loop.is_running():
            loop.close()
        atexit.unregister(self.close)


def receive(
    rt: Runtime,
    *,
    secret: str | None,
    content_length: int | None,
    read: Callable[[int], bytes],
    sender: Callable[[], Sender] | None,
    send_wait: float = SEND_WAIT,
) -> Response:
    """Handle one webhook delivery and return what to answer Telegram.

    ``read(n)`` reads at most n bytes of the body; ``sender()`` returns the process's
    Sender and is called only once there is something to send.
    """
    if not authorised(rt.settings, secret):
        log.warning("telegram webhook: refused a delivery without the right secret")
        return Response(403, {"ok": False, "error": "forbidden"})
    if content_length is not None and content_length > MAX_BODY:
        return Response(413, {"ok": False, "error": "too large"})
    body = read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        return Response(413, {"ok": False, "error": "too large"})
    update = parse_update(body)
    if update is None:
        log.warning("telegram webhook: body is not an update")
        return Response(400, {"ok": False, "error": "not an update"})

    out: Sender | None = None
    if sender is not None:
        try:  # start it now, not while a conversation is locked
            out = sender()
            out.start()
        except Exception as exc:  # the Bot API is unreachable: still store the answer
            log.error("update %s: sender unavailable: %s", update.update_id, type(exc).__name__)
            out = None
    ticket: Ticket | None = None

    def take_place(chat_id: int | None) -> None:
        nonlocal ticket
        if ticket is not None:  # a retried attempt: release the old place, take a new one
            ticket.fill([])
            ticket = None
        if out is not None and chat_id is not None:
            try:
                ticket = out.reserve(chat_id, update_id=update.update_id)
            except Exception as exc:  # never let sending stop the answer being stored
                log.error(
                    "update %s: cannot queue replies: %s", update.update_id, type(exc).__name__
                )

    try:
        # Called with the conversation locked, just before the commit: the chat's replies
        # are queued in commit order.
        outgoing = handle_update(rt, update, on_locked=lambda: take_place(_chat_id(update)))
    except Exception as exc:
        if ticket is not None:
            ticket.fill([])
        log.error("update %s failed: %s", update.update_id, type(exc).__name__)
        return Response(500, {"ok": False, "error": "try again"})

    # A button press is acknowledged in this response's body: Telegram executes the call.
    reply, outgoing = webhook_reply(outgoing)
    if outgoing and ticket is None:  # nothing was locked (an unknown round, a stray update)
        take_place(_chat_id(update) or 0)
    if ticket is not None:
        ticket.fill(outgoing)
        # Still queued behind the rate limit after send_wait: it goes out after we answer.
        with contextlib.suppress(concurrent.futures.TimeoutError):
            ticket.sent.result(timeout=send_wait)
    return Response(200, reply or {"ok": True})


def _chat_id(update: Update) -> int | None:
    chat = update.effective_chat
    if chat is not None:
        return chat.id
    user = update.effective_user
    return user.id if user is not None else None
