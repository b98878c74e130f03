"""The fake Bot API behaves like Telegram where the bot tests rely on it."""

from __future__ import annotations

import threading

import httpx
import pytest

from tests.botapi.server import FakeBotAPI, User


@pytest.fixture
def api():
    with FakeBotAPI() as server:
        yield server


def call(api, method, **params):
    res = httpx.post(f"{api.base_url}{api.token}/{method}", data=params, timeout=10)
    return res.status_code, res.json()


def test_get_updates_confirms_by_offset(api):
    u = User(1)
    first, second = api.enqueue(api.message(u, "a"), api.message(u, "b"))
    _, body = call(api, "getUpdates")
    assert [x["update_id"] for x in body["result"]] == [first["update_id"], second["update_id"]]
    _, body = call(api, "getUpdates", offset=str(second["update_id"]))
    assert [x["update_id"] for x in body["result"]] == [second["update_id"]]
    _, body = call(api, "getUpdates", offset=str(second["update_id"] + 1))
    assert body["result"] == [] and api.pending_updates() == 0


def test_long_poll_returns_when_an_update_arrives(api):
    got = {}

    def poll():
        got["body"] = call(api, "getUpdates", timeout="20")[1]

    t = threading.Thread(target=poll)
    t.start()
    api.wait_for(api.polls_waiting, timeout=10)  # the poll is held open, empty
    api.enqueue(api.message(User(1), "hello"))
    t.join(timeout=10)
    assert not t.is_alive() and got["body"]["result"][0]["message"]["text"] == "hello"


def test_wrong_token_and_unknown_method_fail_like_telegram(api):
    res = httpx.post(f"{api.base_url}123:wrong/getMe", timeout=10)
    assert res.status_code == 401 and res.json()["ok"] is False
    assert call(api, "noSuchMethod")[0] == 404


def test_sent_messages_can_be_edited_and_pressed(api):
    markup = '{"inline_keyboard": [[{"text": "Yes", "callback_data": "c:yes"}]]}'
    _, body = call(api, "sendMessage", chat_id="1", text="Q?", reply_markup=markup)
    mid = body["result"]["message_id"]
    press = api.press(User(1), mid, "Yes")
    assert press["callback_query"]["data"] == "c:yes"
    assert press["callback_query"]["message"]["text"] == "Q?"
    assert call(api, "editMessageReplyMarkup", chat_id="1", message_id=str(mid))[0] == 200
    assert api.buttons(mid) == []
    status, body = call(api, "editMessageReplyMarkup", chat_id="1", message_id=str(mid))
    assert status == 400 and "not modified" in body["description"]
