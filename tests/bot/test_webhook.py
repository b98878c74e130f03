"""The Telegram webhook (POST /hooks/telegram): secret checked, answers stored once, replies sent.

Driven with Flask's test client against the real app factory; replies go through the real
PTB bot of the web process to the fake Bot API server, and a Bot API call in a webhook
answer's body runs there too, as Telegram runs it (``telegram_client``).
"""

from __future__ import annotations

import io
import json
import threading
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from bot.webhook import MAX_BODY, SECRET_HEADER, receive
from surveys.storage.models import Answer, Inbound, Respondent
from tests.bot.conftest import WEBHOOK_SECRET, telegram_client, text_of
from tests.botapi.server import User
from web import create_app
from web.hooks import SENDER

URL = "/hooks/telegram"


@pytest.fixture
def make_app(brt, botapi):
    """Return a factory of web apps on the test database (settings may be overridden)."""
    apps = []

    def make(**overrides):
        settings = replace(brt.settings, **overrides)
        app = create_app({"YJV_SETTINGS": settings, "TESTING": True})
        app.test_client_class = telegram_client(botapi)  # deliver as Telegram does
        apps.append(app)
        return app

    yield make
    for app in apps:
        sender = app.extensions.get(SENDER)
        if sender is not None:
            sender.close()
        app.extensions["yjvoice"].database.dispose()


@pytest.fixture
def client(make_app):
    return make_app().test_client()


def post(client, update, secret=WEBHOOK_SECRET, **kw):
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    body = update if isinstance(update, bytes | str) else json.dumps(update)
    return client.post(URL, data=body, headers=headers, content_type="application/json", **kw)


def counts(rt) -> tuple[int, int, int]:
    with rt.transaction() as s:
        return tuple(
            s.scalar(select(func.count()).select_from(m)) for m in (Respondent, Answer, Inbound)
        )


def user(n: int = 1) -> User:
    return User(7_391_050_000 + n, "Webby", "webby_handle")


def join(client, api, u, code):
    """Join a round as a young person and consent, through the webhook."""
    assert post(client, api.command(u, "/start", f"{code}-child")).status_code == 200
    consent = api.wait_for(lambda: [m for m in api.sent_to(u.id) if m.get("reply_markup")])[-1]
    assert (
        post(client, api.press(u, consent["message_id"], text_of("consent_yes"))).status_code == 200
    )
    return api.wait_for(lambda: [m for m in api.sent_to(u.id) if m["text"].startswith("(1/")])


def test_right_secret_stores_the_answer_then_replies(brt, botapi, client, open_round):
    u = user()
    join(client, botapi, u, open_round)
    res = post(client, botapi.message(u, "Answered by webhook"))
    assert res.status_code == 200 and res.get_json() == {"ok": True}
    with brt.transaction() as s:
        assert s.scalars(select(Answer.text)).all() == ["Answered by webhook"]
    nxt = botapi.wait_for(lambda: [m for m in botapi.sent_to(u.id) if m["text"].startswith("(2/")])
    assert nxt[-1]["reply_markup"]["inline_keyboard"][0][0]["text"] == "Yes"
    acks = botapi.calls("answerCallbackQuery")  # the consent press was acknowledged
    assert [(c.via, c.ok) for c in acks] == [("webhook", True)]


WRONG_SECRETS = [None, "", "wrong", WEBHOOK_SECRET + "x", WEBHOOK_SECRET[:-1], "é" * 10]


def test_wrong_or_missing_secret_is_refused_and_nothing_stored(brt, botapi, client, open_round):
    for secret in WRONG_SECRETS:
        update = botapi.command(user(), "/start", f"{open_round}-child")
        assert post(client, update, secret=secret).status_code == 403, secret
    assert counts(brt) == (0, 0, 0)
    assert botapi.calls() == []  # the web process did not even start its bot


def test_no_configured_secret_refuses_everything(brt, botapi, make_app, open_round):
    client = make_app(telegram_webhook_secret=None).test_client()
    for secret in (None, "", "anything"):
        res = post(client, botapi.command(user(), "/start", open_round), secret=secret)
        assert res.status_code == 403
    assert counts(brt) == (0, 0, 0)


NOT_UPDATES = [
    b"{not json",
    b"",
    b"\xff\xfe\x00garbage",
    b"[]",
    b'[{"update_id": 1}]',
    b'"update"',
    b"42",
    b"null",
    b'{"foo": 1}',
    b'{"update_id": "7"}',
    b'{"update_id": true}',
    b'{"update_id": -1}',
    b'{"update_id": 1e3}',
    b'{"update_id": 99999999999999999999999}',
    b'{"update_id": 5, "message": "hi"}',
    b'{"update_id": 5, "message": {"text": "no date or chat"}}',
    b'{"update_id": 5, "callback_query": []}',
    b"[" * 100_000 + b"]" * 100_000,
]


def test_bodies_that_are_not_updates_get_400(brt, botapi, client):
    for body in NOT_UPDATES:
        assert post(client, body).status_code == 400, body[:60]
    assert counts(brt) == (0, 0, 0)


def test_huge_body_gets_413(brt, botapi, client):
    big = json.dumps({"update_id": 1, "padding": "x" * (MAX_BODY + 10)})
    assert post(client, big).status_code == 413
    assert counts(brt) == (0, 0, 0)


def test_redelivered_update_is_stored_once(brt, botapi, client, open_round):
    u = user()
    join(client, botapi, u, open_round)
    update = botapi.message(u, "Only once please")
    for _ in range(3):
        assert post(client, update).status_code == 200
    with brt.transaction() as s:
        assert s.scalars(select(Answer.text)).all() == ["Only once please"]
        key = f"tg:{update['update_id']}:%"
        assert s.scalar(select(func.count()).where(Inbound.key.like(key))) == 1
    # Only the first delivery is answered: a re-delivery sends nothing new.
    second = [m for m in botapi.sent_to(u.id) if m["text"].startswith("(2/13)")]
    assert len(second) == 1


def test_a_reused_update_id_with_a_new_message_is_stored(brt, botapi, client, open_round):
    # Telegram starts update ids again after a week without updates: the id alone is not
    # the delivery, the message it carries is.
    u = user()
    join(client, botapi, u, open_round)
    first = botapi.message(u, "First words")
    assert post(client, first).status_code == 200
    later = botapi.message(u, "no")  # answers the next question, a yes/no one
    later["update_id"] = first["update_id"]
    assert post(client, later).status_code == 200
    with brt.transaction() as s:
        assert s.scalars(select(Answer.text).order_by(Answer.id)).all() == ["First words", "No"]


def test_ten_concurrent_copies_of_one_update_store_once_and_send_one_reply(
    brt, botapi, make_app, open_round
):
    app = make_app()
    u = user()
    join(app.test_client(), botapi, u, open_round)
    already = len(botapi.sent_to(u.id))
    update = botapi.message(u, "Said once, delivered ten times")
    barrier = threading.Barrier(10)
    statuses: list[int] = []

    def deliver():
        c = app.test_client()
        barrier.wait(timeout=10)
        statuses.append(post(c, update).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert statuses == [200] * 10
    post(app.test_client(), botapi.command(u, "/help"))  # a later update, after the ten
    sent = botapi.wait_for(lambda: (m := botapi.sent_to(u.id)[already:]) and len(m) >= 3 and m)
    # One reply to the update (the next question), then /help's two messages.
    assert [m["text"][:7] for m in sent] == ["(2/13) ", sent[1]["text"][:7], "(2/13) "]
    with brt.transaction() as s:
        assert s.scalars(select(Answer.text)).all() == ["Said once, delivered ten times"]


def test_concurrent_deliveries_for_one_chat_keep_order_and_store_once(
    brt, botapi, make_app, open_round
):
    app = make_app()
    u = user()
    join(app.test_client(), botapi, u, open_round)
    already = len(botapi.sent_to(u.id))
    # A network where every other message is slow: replies would overtake each other
    # unless each chat's sends are queued in commit order.
    botapi.set_latency("sendMessage", lambda n: 0.03 if n % 2 else 0.0)
    # "no" answers every question here: free text, or the "No" of a yes/no question.
    updates = [botapi.message(u, "no") for _ in range(8)]
    deliveries = updates + updates  # each one delivered twice, all at the same time
    barrier = threading.Barrier(len(deliveries))
    statuses: list[int] = []

    def deliver(update):
        c = app.test_client()
        barrier.wait(timeout=10)
        statuses.append(post(c, update).status_code)

    threads = [threading.Thread(target=deliver, args=(upd,)) for upd in deliveries]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert statuses == [200] * len(deliveries)

    with brt.transaction() as s:
        keys = s.scalars(select(Inbound.key).where(Inbound.key.like("tg:%:m%"))).all()
        ids = sorted(int(k.split(":")[1]) for k in keys)
        assert ids[-len(updates) :] == sorted(upd["update_id"] for upd in updates)
        stored = s.scalars(select(Answer.inbound_key).where(Answer.inbound_key.in_(keys))).all()
    assert len(stored) == len(updates)  # every update answered one question, once

    # Each update is answered once; its second copy sends nothing.
    replies = botapi.wait_for(
        lambda: (m := botapi.sent_to(u.id)[already:]) and len(m) == len(updates) and m
    )
    positions = [int(m["text"][1 : m["text"].index("/")]) for m in replies]
    assert positions == sorted(positions), "a chat's replies went out of commit order"
    assert positions[-1] == len(updates) + 1


def test_button_press_is_answered_and_the_prompt_shows_the_choice(brt, botapi, client, open_round):
    u = user()
    join(client, botapi, u, open_round)
    post(client, botapi.message(u, "fine"))
    yes_no = botapi.wait_for(lambda: [m for m in botapi.sent_to(u.id) if m.get("reply_markup")])
    assert post(client, botapi.press(u, yes_no[-1]["message_id"], "No")).status_code == 200
    pressed = next(m for m in botapi.sent_to(u.id) if m["message_id"] == yes_no[-1]["message_id"])
    assert pressed["text"].endswith("✓ No") and "reply_markup" not in pressed
    with brt.transaction() as s:
        assert s.scalars(select(Answer.choice).where(Answer.choice.is_not(None))).all() == ["no"]


def test_button_press_is_acknowledged_in_the_webhook_answer(brt, botapi, client, open_round):
    u = user()
    join(client, botapi, u, open_round)
    post(client, botapi.message(u, "fine"))
    yes_no = botapi.wait_for(lambda: [m for m in botapi.sent_to(u.id) if m.get("reply_markup")])
    press = botapi.press(u, yes_no[-1]["message_id"], "Yes")
    query_id = press["callback_query"]["id"]
    for _ in range(2):  # a re-delivered press is acknowledged again
        res = post(client, press)
        assert res.status_code == 200
        assert res.get_json() == {"method": "answerCallbackQuery", "callback_query_id": query_id}
    acks = [
        c for c in botapi.calls("answerCallbackQuery") if c.params["callback_query_id"] == query_id
    ]
    assert [(c.via, c.ok) for c in acks] == [("webhook", True)] * 2  # Telegram ran them
    # The web process's bot makes no such call itself; its messages still go out.
    assert [c for c in botapi.calls() if c.via != "http"] == botapi.calls("answerCallbackQuery")
    assert botapi.calls("editMessageText") and botapi.calls("sendMessage")


def test_press_on_an_unknown_message_is_acknowledged_and_nothing_stored(brt, botapi, client):
    press = {
        "update_id": 77,
        "callback_query": {
            "id": "4242",
            "from": user().as_json(),
            "chat_instance": "1",
            "data": "c:yes",
        },
    }
    res = post(client, press)
    assert res.status_code == 200
    assert res.get_json() == {"method": "answerCallbackQuery", "callback_query_id": "4242"}
    acks = botapi.calls("answerCallbackQuery")
    assert [(c.params, c.via) for c in acks] == [({"callback_query_id": "4242"}, "webhook")]
    assert counts(brt) == (0, 0, 0)


def test_fake_bot_api_runs_a_call_in_a_webhook_answer_as_telegram_does(botapi):
    """The test rig itself: only a 2xx answer's call runs; not get..., setWebhook and the like."""
    ack = {"method": "answerCallbackQuery", "callback_query_id": "1"}
    as_json = json.dumps(ack).encode()
    assert botapi.webhook_answered(200, as_json, "application/json") == "answerCallbackQuery"
    assert (
        botapi.webhook_answered(
            204,
            b"method=ANSWERcallbackquery&callback_query_id=2",
            "application/x-www-form-urlencoded",
        )
        == "answerCallbackQuery"
    )
    for status, body, ctype in [
        (500, as_json, "application/json"),
        (403, as_json, "application/json"),
        (200, b'{"ok": true}', "application/json"),
        (200, as_json, "text/plain"),
        (200, b"not json", "application/json"),
        (200, b'{"method": "getMe"}', "application/json"),
        (200, b'{"method": "setWebhook", "url": "https://x"}', "application/json"),
        (200, b'{"method": "deleteWebhook"}', "application/json"),
        (200, b'{"method": "logOut"}', "application/json"),
    ]:
        assert botapi.webhook_answered(status, body, ctype) is None, (status, body)
    calls = botapi.calls()
    assert [(c.method, c.params["callback_query_id"], c.via) for c in calls] == [
        ("answerCallbackQuery", "1", "webhook"),
        ("answerCallbackQuery", "2", "webhook"),
    ]


def test_bot_api_down_still_stores_and_acknowledges(brt, botapi, make_app, open_round):
    client = make_app(telegram_api_url="http://127.0.0.1:9/bot").test_client()  # nothing there
    res = post(client, botapi.command(user(), "/start", f"{open_round}-child"))
    assert res.status_code == 200
    assert counts(brt)[0] == 1


def test_refusals_log_no_secret_or_content(brt, botapi, client, open_round, caplog):
    caplog.set_level("DEBUG")
    post(client, botapi.message(user(), "private words"), secret="guessed-secret")
    post(client, b'{"update_id": 5, "message": {"text": "private words"}}')
    assert "guessed-secret" not in caplog.text and WEBHOOK_SECRET not in caplog.text
    assert "private words" not in caplog.text and str(user().id) not in caplog.text


def test_body_without_length_is_bounded_too(brt):
    stream = io.BytesIO(b"{" + b" " * (MAX_BODY + 5) + b"}")
    res = receive(brt, secret=WEBHOOK_SECRET, content_length=None, read=stream.read, sender=None)
    assert res.status == 413
    assert counts(brt) == (0, 0, 0)


def test_stray_updates_are_acknowledged_and_not_stored(brt, botapi, client, open_round):
    u = user()
    for update in (
        {"update_id": 5},
        botapi.group_message(u, f"/start {open_round}"),
        {"update_id": 6, "my_chat_member": None},
    ):
        assert post(client, update).status_code == 200
    assert counts(brt) == (0, 0, 0)
    assert botapi.calls("sendMessage") == []


def test_two_web_processes_continue_one_conversation_exactly(brt, botapi, make_app, open_round):
    first, second = make_app().test_client(), make_app().test_client()  # own engines, bots
    u = user()
    join(first, botapi, u, open_round)
    for i, client in enumerate([second, first, second, first]):
        assert post(client, botapi.message(u, "no")).status_code == 200
        botapi.wait_for(
            lambda i=i: any(m["text"].startswith(f"({i + 2}/") for m in botapi.sent_to(u.id))
        )
    with brt.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Answer)) == 4


def test_ten_thousand_character_answer_gets_a_friendly_message(brt, botapi, client, open_round):
    u = user()
    join(client, botapi, u, open_round)
    assert post(client, botapi.message(u, "é" * 10_000)).status_code == 200
    too_long = text_of("too_long", limit="2,000", length="10,000")
    assert botapi.wait_for(lambda: [m for m in botapi.sent_to(u.id) if too_long in m["text"]])
    assert counts(brt)[1] == 0  # no answer stored
