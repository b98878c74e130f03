""" "You said, we did" on Telegram: after the last question a button (or /news) keeps the chat
id encrypted until the lead publishes the round's page; the job then sends the link through
PTB to the fake Bot API and erases the id. SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from surveys import jobs
from surveys.services import changes
from surveys.storage import store
from surveys.storage.models import FollowUp, Job
from tests.bot.conftest import text_of


@pytest.fixture
def one_priority_round(brt):
    """A short round: working with families, for children."""
    with brt.transaction() as session:
        return store.open_round(
            session,
            brt.catalogue,
            title="Short round",
            priorities=["working_with_families"],
            audiences=["child"],
        ).code


def _finish(c, code: str):
    """Skip through every question; return the offer that follows the thank-you."""
    c.start(f"{code}-child")
    c.tap(text_of("consent_yes"))
    for _ in range(30):
        new = c.say("/skip")
        if new[-1]["text"] == text_of("tg_news_offer"):
            return new[-1]
    raise AssertionError("the survey did not end with the offer")


def _publish(rt, code: str) -> None:
    with rt.transaction() as s:
        rnd = store.get_round(s, code)
        changes.add(s, rnd, changes.Wording("More youth clubs", "We opened one"), actor=None)
        changes.publish(s, rnd, actor=None)


def raw_addresses(rt) -> list[str | None]:
    with rt.database.connect() as conn:
        return [r[0] for r in conn.execute(text("select address from followups order by id"))]


def test_the_button_after_the_last_question_sends_the_page_when_it_goes_up(
    brt, one_priority_round, polling_bot, chat
):
    polling_bot()
    c = chat()
    offer = _finish(c, one_priority_round)
    assert offer["text"] == text_of("tg_news_offer")
    c.tap(text_of("tg_news_button", None), offer, until=lambda m: "one message" in m["text"])
    [stored] = raw_addresses(brt)
    assert stored.startswith("gAAAAA") and str(c.user.id) not in stored

    before = len(c.api.sent_to(c.user.id))
    _publish(brt, one_priority_round)
    jobs.load_kinds()
    jobs.run_due(brt.sessions, brt.settings)
    sent = c.api.sent_to(c.user.id)[before:]
    assert len(sent) == 1
    assert f"/r/{one_priority_round}/changed" in sent[0]["text"]
    assert raw_addresses(brt) == [None]
    with brt.transaction() as s:
        assert s.scalars(select(FollowUp)).one().sent_at is not None
        job = s.scalars(select(Job).where(Job.kind == "followups.telegram")).one()
        assert job.result == {"told": 1, "given_up": 0}


def test_news_command_before_the_end_keeps_nothing(brt, one_priority_round, polling_bot, chat):
    polling_bot()
    c = chat()
    c.start(f"{one_priority_round}-child")
    c.tap(text_of("consent_yes"))
    c.say("/news", until=lambda m: text_of("news_not_finished") in m["text"])
    assert raw_addresses(brt) == []
