"""Run the bot by long polling (``yjvoice bot``): a PTB Application over ``handle_update``.

There is no ConversationHandler and no PTB persistence: where each person is in their
conversation lives in the database, so a restarted bot (or another process behind a
webhook) carries on exactly. Updates are processed one at a time, in order; the database
work runs in a worker thread so the event loop keeps polling and sending meanwhile.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
from datetime import timedelta

import httpx
from telegram import Update
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes, TypeHandler
from telegram.request import HTTPXRequest

from bot.handler import handle_update
from bot.render import deliver
from surveys.config import ConfigError
from surveys.runtime import Runtime

log = logging.getLogger(__name__)
ALLOWED_UPDATES = ("message", "edited_message", "callback_query")
POLL_TIMEOUT = timedelta(seconds=10)  # long polling: Telegram holds getUpdates open this long
MAX_RATE = 30  # messages per second for the whole bot: Telegram's documented flood limit
_LIBRARY_LOG_FLOORS = {
    "httpx": logging.WARNING,  # logs each request URL, and the URL holds the bot token
    "httpcore": logging.WARNING,
    "telegram": logging.INFO,  # DEBUG logs whole updates (texts, user ids) and the token
}


def quiet_library_logs() -> None:
    """Keep tokens, texts and Telegram ids out of the logs of the libraries used here."""
    for name, floor in _LIBRARY_LOG_FLOORS.items():
        logger = logging.getLogger(name)
        if logger.level < floor:
            logger.setLevel(floor)


def rate_limiter(max_rate: float = MAX_RATE) -> AIORateLimiter:
    """Return PTB's rate limiter: at most ``max_rate`` messages a second, retried on flood."""
    return AIORateLimiter(overall_max_rate=max_rate, overall_time_period=1, max_retries=2)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # What httpx builds for each client by default (the CA bundle, verified), made once.
    return httpx.create_ssl_context()


def bot_api_request(connection_pool_size: int) -> HTTPXRequest:
    """Return an HTTP client for the Bot API that shares the process's one TLS context.

    httpx builds a TLS context for each client, and loading the CA bundle costs 25-60 ms of
    CPU; each bot has two clients (updates, and everything else). A context may serve any
    number of connections, so every client of the process gets the same one.
    """
    return HTTPXRequest(
        connection_pool_size=connection_pool_size, httpx_kwargs={"verify": _tls_context()}
    )


def build_application(rt: Runtime, *, max_rate: float = MAX_RATE) -> Application:
    """Return a PTB Application that answers every update through ``handle_update``."""
    token = rt.settings.telegram_token
    if not token:
        raise ConfigError("TELEGRAM_TOKEN is not set (get one from @BotFather)")
    quiet_library_logs()

    async def on_update(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not isinstance(update, Update):
            return
        outgoing = await asyncio.to_thread(handle_update, rt, update)
        await deliver(context.bot, outgoing, update_id=update.update_id)

    async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        # The exception's message can quote SQL parameters (answer text): log its type only.
        update_id = update.update_id if isinstance(update, Update) else "-"
        log.error("update %s failed: %s", update_id, type(context.error).__name__)

    application = (
        ApplicationBuilder()
        .token(token)
        .base_url(rt.settings.telegram_api_url)
        .rate_limiter(rate_limiter(max_rate))
        .request(bot_api_request(256))  # PTB's own sizes: 256, and 1 for getUpdates
        .get_updates_request(bot_api_request(1))
        .job_queue(None)
        .build()
    )
    application.add_handler(TypeHandler(Update, on_update))
    application.add_error_handler(on_error)
    return application


def run_polling(rt: Runtime) -> None:
    """Run the bot by long polling until interrupted (Ctrl-C or SIGTERM)."""
    application = build_application(rt)
    log.info("bot polling %s", rt.settings.telegram_api_url.split("//")[-1].split("/")[0])
    application.run_polling(
        poll_interval=0,
        timeout=POLL_TIMEOUT,
        allowed_updates=list(ALLOWED_UPDATES),
        drop_pending_updates=False,
    )
