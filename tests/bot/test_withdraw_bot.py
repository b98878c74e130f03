"""``/withdraw CODE`` and ``/delete`` in Telegram, through real PTB over HTTP, on SQLite and
PostgreSQL: a confirm button first, then the deletion; wrong and used codes read the same."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot import withdraw as bw
from surveys.storage import store
from surveys.storage.models import Answer, AuditEvent, ChatLink, Respondent
from tests.bot.conftest import text_of


@pytest.fixture(autouse=True)
def _fresh_limits():
    bw.reset_limits()
    yield
    bw.reset_limits()


def _key(rt, c) -> str:
    return store.keyed_hash(rt.settings.secret_key, "tg", str(c.user.id))


def _respondents(rt, c) -> list[str]:
    with rt.transaction() as s:
        return list(s.scalars(select(Respondent.id).where(Respondent.resume_key == _key(rt, c))))


def _answers(rt) -> int:
    with rt.transaction() as s:
        return s.scalar(select(func.count()).select_from(Answer))


def _answered(c, code: str, words: str = "They were fair with me") -> None:
    c.start(f"{code}-child")
    c.tap(text_of("consent_yes"))
    c.say(words)


def _buttons(message) -> list[str]:
    return [row[0]["text"] for row in message["reply_markup"]["inline_keyboard"]]


def _one(c, text: str):
    (reply,) = c.say(text, until=lambda m: True)
    return reply


def test_withdraw_asks_to_confirm_then_deletes(brt, open_round, polling_bot, chat):
    polling_bot()
    c, other = chat(), chat("Other", None)
    _answered(c, open_round)
    _answered(other, open_round, "someone else's words")
    (rid,) = _respondents(brt, c)
    code = store.withdrawal_code(brt.settings.secret_key, rid)

    sure = _one(c, f"/withdraw {code.lower()}")
    assert "This will delete your answers. Are you sure?" in sure["text"]
    assert _buttons(sure) == [bw.YES, bw.NO]
    assert _answers(brt) == 2  # nothing goes before "yes"

    (done,) = c.tap(bw.YES, sure, until=lambda m: True)
    assert done["text"] == bw.DONE
    assert _respondents(brt, c) == [] and _answers(brt) == 1
    with brt.transaction() as s:
        assert s.get(ChatLink, ("telegram", _key(brt, c))) is None
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "withdrawal")).one()
        assert code not in repr(event.details) and event.details["channel"] == "telegram"
    # After withdrawing, a new message is answered as from someone not in a survey.
    assert _one(c, "hello")["text"] == _one(chat("New", None), "hello")["text"]


def test_wrong_and_used_codes_get_the_same_words(brt, open_round, polling_bot, chat):
    polling_bot()
    c = chat()
    _answered(c, open_round)
    (rid,) = _respondents(brt, c)
    code = store.withdrawal_code(brt.settings.secret_key, rid)
    c.tap(bw.YES, _one(c, f"/withdraw {code}"), until=lambda m: True)
    used = _one(c, f"/withdraw {code}")
    wrong = _one(c, "/withdraw WXYZ-2345")
    assert used["text"] == wrong["text"] == bw.NOT_FOUND
    assert not used.get("reply_markup") and not wrong.get("reply_markup")
    assert _one(c, "/withdraw")["text"] == bw.ASK_CODE


def test_no_keeps_everything(brt, open_round, polling_bot, chat):
    polling_bot()
    c = chat()
    _answered(c, open_round)
    (rid,) = _respondents(brt, c)
    sure = _one(c, f"/withdraw {store.withdrawal_code(brt.settings.secret_key, rid)}")
    (kept,) = c.tap(bw.NO, sure, until=lambda m: True)
    assert kept["text"] == bw.KEPT
    assert _respondents(brt, c) == [rid] and _answers(brt) == 1


@pytest.mark.backends("sqlite", "postgres")  # storage: deleted everywhere
def test_delete_removes_everything_for_the_chat_in_every_round(brt, open_round, polling_bot, chat):
    with brt.transaction() as s:
        second = store.open_round(
            s, brt.catalogue, title="Second", priorities=["policing"], audiences=["child"]
        ).code
    polling_bot()
    c, other = chat(), chat("Other", None)
    _answered(c, open_round)
    _answered(c, second, "second round words")
    _answered(other, open_round, "not this chat")
    assert len(_respondents(brt, c)) == 2

    sure = _one(c, "/delete")
    assert "Are you sure?" in sure["text"] and _buttons(sure) == [bw.YES_ALL, bw.NO]
    (done,) = c.tap(bw.YES_ALL, sure, until=lambda m: True)
    assert done["text"] == bw.DONE_ALL
    assert _respondents(brt, c) == [] and _answers(brt) == 1
    assert len(_respondents(brt, other)) == 1


def test_attempts_with_a_code_are_throttled_per_chat(brt, open_round, polling_bot, chat):
    polling_bot()
    c, other = chat(), chat("Other", None)
    for n in range(5):
        assert _one(c, f"/withdraw WRNG-COD{n}")["text"] == bw.NOT_FOUND
    assert _one(c, "/withdraw WRNG-CODE")["text"] == bw.THROTTLED
    assert _one(other, "/withdraw WRNG-CODE")["text"] == bw.NOT_FOUND  # another chat
