"""Telegram's part of "You said, we did": the ``followups.telegram`` job.

Queued when the lead publishes a round's page (``surveys.services.followups``), it sends each
chat that asked (``/news`` or the button after the last question) one message with the
page's link, through PTB against the configured Bot API, and erases each chat id as it is
sent. A chat that blocked the bot is given up at once (its id erased); a network failure or
a flood limit commits what went and tries again later with the kind's back-off. A message
sent just before a worker is killed may be sent again once (the only way to be sure of
"at least once"); nothing else is ever sent twice.
"""

from __future__ import annotations

import asyncio
import logging

from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import ExtBot

from bot.app import bot_api_request, quiet_library_logs, rate_limiter
from surveys import jobs
from surveys.core import engine
from surveys.core.vocabulary import TELEGRAM
from surveys.services import followups
from surveys.storage.models import Round

log = logging.getLogger("yjvoice.bot")


@jobs.job(
    followups.TELEGRAM_JOB,
    label="Tell people on Telegram what changed",
    max_attempts=8,
    backoff=jobs.Backoff(first=30, cap=3600),
)
def send_by_telegram(ctx: jobs.Context, round_id: int) -> dict[str, int]:
    """Send the page's link to every chat of the round still waiting; erase each chat id."""
    token = ctx.settings.telegram_token
    if not token:
        raise jobs.Retry("TELEGRAM_TOKEN is not set")
    quiet_library_logs()
    return asyncio.run(_send_all(ctx, token, round_id))


async def _send_all(ctx: jobs.Context, token: str, round_id: int) -> dict[str, int]:
    texts = engine.default_texts()
    told = given_up = 0
    problem: str | None = None
    bot = ExtBot(
        token,
        base_url=ctx.settings.telegram_api_url,
        request=bot_api_request(256),
        get_updates_request=bot_api_request(1),
        rate_limiter=rate_limiter(),
    )
    async with bot:
        with ctx.sessions.begin() as session:
            rnd = session.get(Round, round_id)
            if rnd is None or rnd.changes_published_at is None:
                return {"told": 0}
            for person in followups.pending(session, round_id, TELEGRAM, limit=10_000):
                text = followups.message(texts, rnd, person, ctx.settings.public_base_url)
                try:
                    await bot.send_message(chat_id=int(person.address), text=text)
                    told += 1
                except (Forbidden, BadRequest, ValueError) as exc:
                    # Blocked the bot, the chat is gone, or the stored id is unreadable.
                    log.info("followups: chat %d given up (%s)", person.id, type(exc).__name__)
                    given_up += 1
                except TelegramError as exc:
                    problem = type(exc).__name__
                    break
                followups.told(session, person.id)
    log.info("followups: round %s told %d on Telegram, %d given up", round_id, told, given_up)
    if problem is not None:
        raise jobs.Retry(f"Telegram: {problem} after {told} sent")
    return {"told": told, "given_up": given_up}
