"""Bot fixtures: a real polling PTB bot, chats with it, and webhook test clients.

The fake Bot API server (``botapi``) and a Runtime pointed at it (``brt``) are in
tests/conftest.py, shared with the forged-webhook tests.

The bot under test is the real ``bot.app.build_application`` Application, polling the
fake server over HTTP from a thread with its own event loop. Tests talk to it as a person
would (``Chat.say``, ``Chat.tap``) and wait for its replies by condition.

Webhook tests post updates with ``telegram_client``'s test clients, which treat the web
app's answers as Telegram does (a Bot API call in a 2xx answer's body is executed).
"""

from __future__ import annotations

import asyncio
import re
import threading
from typing import Any

import pytest
from flask.testing import FlaskClient

from bot.app import ALLOWED_UPDATES, POLL_TIMEOUT, build_application
from surveys.core.engine import default_texts
from surveys.runtime import Runtime
from tests.botapi.server import FakeBotAPI, User
from tests.conftest import WEBHOOK_SECRET  # noqa: F401  (imported from here by the bot tests)

WEBHOOK_PATH = "/hooks/telegram"
_PROGRESS = re.compile(r"(?:^|\n)\(\d+/\d+\) ")


def text_of(name: str, audience: str | None = "child", **fmt: Any) -> str:
    """Return one of the engine's texts, as the bot should send it."""
    return default_texts().get(name, audience, **fmt)


def is_prompt(message: dict[str, Any]) -> bool:
    """Return True for a message asking something: buttons, or a numbered question."""
    return bool(message.get("reply_markup")) or bool(_PROGRESS.search(message["text"]))


def telegram_client(api: FakeBotAPI) -> type[FlaskClient]:
    """Return a Flask test client class that delivers to the webhook as Telegram does.

    After each request to the webhook, the answer goes to ``api.webhook_answered``: a Bot
    API call in a 2xx answer's body runs on the fake Bot API, as Telegram runs it.
    Use it as ``app.test_client_class``.
    """

    class TelegramClient(FlaskClient):
        def open(self, *args: Any, **kwargs: Any) -> Any:
            res = super().open(*args, **kwargs)
            if res.request.path == WEBHOOK_PATH:
                api.webhook_answered(res.status_code, res.get_data(), res.content_type)
            return res

    return TelegramClient


class PollingBot:
    """The real PTB Application, polling the fake Bot API from a thread of its own."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self) -> PollingBot:
        """Start polling; return once the bot is taking updates."""
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(),), daemon=True)
        self._thread.start()
        if not self._ready.wait(15):
            raise TimeoutError("the bot did not start")
        if self._error is not None:
            raise self._error
        return self

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            application = build_application(self.rt)
            async with application:
                await application.updater.start_polling(
                    poll_interval=0, timeout=POLL_TIMEOUT, allowed_updates=list(ALLOWED_UPDATES)
                )
                await application.start()
                self._ready.set()
                await self._stop.wait()
                await application.updater.stop()
                await application.stop()
        except BaseException as exc:
            self._error = exc
            self._ready.set()

    def stop(self) -> None:
        """Stop the bot as a restart would: finish pending updates, then shut down."""
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(20)
            assert not self._thread.is_alive(), "the bot did not stop"
        if self._error is not None:
            raise self._error


class Chat:
    """One person's private chat with the bot, driven through the fake Bot API."""

    def __init__(self, api: FakeBotAPI, user: User) -> None:
        self.api, self.user = api, user
        self.seen = 0  # how many of the bot's messages to this chat were read

    def send(self, update: dict[str, Any]) -> dict[str, Any]:
        """Deliver one update to the bot (as Telegram would)."""
        self.api.enqueue(update)
        return update

    def replies(self, until=is_prompt, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Wait for new messages up to one that satisfies ``until``; return them."""

        def arrived() -> list[dict[str, Any]] | None:
            new = self.api.sent_to(self.user.id)[self.seen :]
            for i, m in enumerate(new):
                if until(m):
                    return new[: i + 1]
            return None

        got = self.api.wait_for(arrived, timeout)
        self.seen += len(got)
        return got

    def say(self, text: str, **wait: Any) -> list[dict[str, Any]]:
        """Send a text message; return the bot's replies."""
        self.send(self.api.message(self.user, text))
        return self.replies(**wait)

    def start(self, payload: str = "", **wait: Any) -> list[dict[str, Any]]:
        """Send ``/start [payload]`` (what a deep link sends); return the replies."""
        self.send(self.api.command(self.user, "/start", payload))
        return self.replies(**wait)

    def last_prompt(self) -> dict[str, Any]:
        """Return the newest message with buttons."""
        return [m for m in self.api.sent_to(self.user.id) if m.get("reply_markup")][-1]

    def tap(self, label: str, message: dict[str, Any] | None = None, **wait: Any):
        """Press a button on the newest prompt (or on ``message``); return the replies."""
        message = message or self.last_prompt()
        self.send(self.api.press(self.user, message["message_id"], label))
        return self.replies(**wait)

    def until_text(self, name: str, audience: str | None = "child", **fmt: Any):
        """Return a condition: a message containing one of the engine's texts."""
        wanted = text_of(name, audience, **fmt)
        return lambda m: wanted in m["text"]


@pytest.fixture
def polling_bot(brt):
    """Return a factory of running polling bots; every one is stopped after the test."""
    bots: list[PollingBot] = []

    def start() -> PollingBot:
        bot = PollingBot(brt).start()
        bots.append(bot)
        return bot

    yield start
    for bot in bots:
        bot.stop()


_user_ids = iter(range(7_391_048_201, 7_391_049_000))


@pytest.fixture
def chat(botapi):
    """Return a factory of chats with distinctive users (ids and names easy to search for)."""

    def make(first_name: str = "Zephyrine", username: str | None = "zeph_unique_handle") -> Chat:
        return Chat(botapi, User(next(_user_ids), first_name, username))

    return make
