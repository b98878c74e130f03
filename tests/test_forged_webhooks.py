"""Forged and malformed Telegram webhook deliveries: every one refused or ignored, nothing stored.

Each case posts one delivery to ``POST /hooks/telegram`` of the real app (its bot talks to
the fake Bot API of tests/botapi), against a database holding an open round, then counts the
rows of every table. Expected answers:

* 403 - the ``X-Telegram-Bot-Api-Secret-Token`` header is missing or wrong (compared in
  constant time). The secret is the only authentication; a secret anywhere else (another
  header, the query string, the body, a cookie) does not count. The content type is not
  trusted either way: without the secret, no content type gets in.
* 413 - the body is over ``bot.webhook.MAX_BODY`` (checked before parsing).
* 400 - the right secret, but the body is not a Telegram update (bad JSON, not an object,
  no valid ``update_id``, malformed message...).
* 405 - not a POST.
* 200 - **ignored**, by Telegram's semantics: an authentic update that carries nothing to
  act on (a group or channel post, an edit, a chat-member change, a press on an unknown
  message, a message from a chat that is not in any round, an unknown round code).
  Telegram re-delivers anything not answered 2xx for hours, so such updates are
  acknowledged and dropped; a private chat may get a "please open your link" reply.

In every case no row is added to any table; refused deliveries make no Bot API call at all.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from bot.webhook import MAX_BODY, SECRET_HEADER
from surveys.storage import store
from surveys.storage.models import Base
from tests.bot.conftest import WEBHOOK_SECRET, telegram_client
from web import create_app
from web.hooks import SENDER

URL = "/hooks/telegram"
CODE = "{code}"  # replaced by the open round's code at run time
PERSON = {"id": 7_391_070_001, "is_bot": False, "first_name": "Forged", "username": "forger"}
CHAT = {"id": PERSON["id"], "type": "private", "first_name": "Forged"}


def message(text="hello", update_id=101, **over):
    msg = {"message_id": 5, "date": 1_700_000_000, "chat": CHAT, "from": PERSON, "text": text}
    msg.update(over)
    return {"update_id": update_id, "message": msg}


START = message(f"/start {CODE}-child")
START_JSON = json.dumps(START)


def _case(
    name,
    status,
    body=START,
    *,
    secret=WEBHOOK_SECRET,
    headers=None,
    content_type="application/json",
    method="POST",
    query=None,
):
    return pytest.param(
        dict(
            body=body,
            secret=secret,
            headers=headers or {},
            content_type=content_type,
            method=method,
            query=query,
        ),
        status,
        id=name,
    )


S = WEBHOOK_SECRET
CASES = [
    # -- forged: the secret is missing or wrong -> 403 ---------------------------------
    _case("no-secret", 403, secret=None),
    _case("empty-secret", 403, secret=""),
    _case("wrong-secret", 403, secret="wrong"),
    _case("secret-plus-one-char", 403, secret=S + "x"),
    _case("secret-minus-one-char", 403, secret=S[:-1]),
    _case("secret-uppercased", 403, secret=S.upper()),
    _case("secret-leading-space", 403, secret=" " + S),
    _case("secret-trailing-space", 403, secret=S + " "),
    _case("secret-reversed", 403, secret=S[::-1]),
    _case("secret-prefix-only", 403, secret=S[:8]),
    _case("secret-10k-chars", 403, secret="a" * 10_000),
    _case("secret-latin1", 403, secret="é" * 10),
    _case("secret-quoted", 403, secret=f'"{S}"'),
    _case("secret-as-bearer", 403, secret=None, headers={"Authorization": f"Bearer {S}"}),
    _case("secret-in-wrong-header", 403, secret=None, headers={"X-Telegram-Bot-Api-Secret": S}),
    _case("secret-in-other-header", 403, secret=None, headers={"X-Secret-Token": S}),
    _case("secret-in-query-string", 403, secret=None, query={"secret_token": S}),
    _case("secret-in-body", 403, secret=None, body={**START, "secret_token": S}),
    _case("secret-in-cookie", 403, secret=None, headers={"Cookie": f"{SECRET_HEADER}={S}"}),
    _case("wrong-secret-text-plain", 403, secret="nope", content_type="text/plain"),
    _case(
        "no-secret-form-encoded",
        403,
        secret=None,
        body="update_id=1&message=hi",
        content_type="application/x-www-form-urlencoded",
    ),
    _case("no-secret-multipart", 403, secret=None, content_type="multipart/form-data; boundary=x"),
    _case("no-secret-xml", 403, secret=None, body="<update/>", content_type="application/xml"),
    _case("no-secret-no-content-type", 403, secret=None, content_type=None),
    _case("no-secret-huge-body", 403, secret=None, body="x" * (MAX_BODY + 10)),
    _case("no-secret-truncated-json", 403, secret=None, body=START_JSON[:40]),
    # -- right secret, body too large -> 413 ---------------------------------------------
    _case("huge-json-body", 413, body={**START, "padding": "x" * (MAX_BODY + 10)}),
    _case("huge-garbage-body", 413, body=b"\x00" * (MAX_BODY + 1)),
    # -- right secret, not an update -> 400 ----------------------------------------------
    _case("empty-body", 400, body=b""),
    _case("truncated-json-10", 400, body=START_JSON[:10]),
    _case("truncated-json-half", 400, body=START_JSON[: len(START_JSON) // 2]),
    _case("truncated-json-last-brace", 400, body=START_JSON[:-1]),
    _case("json-array", 400, body=[START]),
    _case("json-empty-array", 400, body=[]),
    _case("json-string", 400, body='"update"'),
    _case("json-number", 400, body="42"),
    _case("json-null", 400, body="null"),
    _case("json-true", 400, body="true"),
    _case("not-utf8", 400, body=b"\xff\xfe\x00\x01garbage"),
    _case("nesting-bomb", 400, body="[" * 50_000 + "]" * 50_000),
    _case("text-plain-not-json", 400, body="update_id=1", content_type="text/plain"),
    _case(
        "form-encoded-update",
        400,
        body="update_id=1&message=hi",
        content_type="application/x-www-form-urlencoded",
    ),
    _case("object-without-update-id", 400, body={"message": START["message"]}),
    _case("update-id-string", 400, body={**START, "update_id": "101"}),
    _case("update-id-negative", 400, body={**START, "update_id": -1}),
    _case("update-id-float", 400, body=START_JSON.replace('"update_id": 101', '"update_id": 1e2')),
    _case("update-id-bool", 400, body={**START, "update_id": True}),
    _case("update-id-too-big", 400, body={**START, "update_id": 2**64}),
    _case("update-id-null", 400, body={**START, "update_id": None}),
    _case("api-response-object", 400, body={"ok": True, "result": []}),
    _case("message-is-a-string", 400, body={"update_id": 5, "message": "hi"}),
    _case("message-missing-chat", 400, body={"update_id": 5, "message": {"text": "hi"}}),
    _case("callback-query-is-a-list", 400, body={"update_id": 5, "callback_query": []}),
    # -- not a POST -> 405 -----------------------------------------------------------------
    _case("get-request", 405, method="GET", body=None),
    _case("put-request", 405, method="PUT"),
    _case("delete-request", 405, method="DELETE", body=None),
    # -- authentic but nothing to act on: acknowledged (Telegram re-delivers non-2xx) -------
    _case("bare-update", 200, body={"update_id": 9}),
    _case(
        "group-message",
        200,
        body=message(
            f"/start {CODE}-child", chat={"id": -100123, "type": "supergroup", "title": "G"}
        ),
    ),
    _case(
        "channel-post",
        200,
        body={
            "update_id": 9,
            "channel_post": {
                "message_id": 1,
                "date": 1,
                "chat": {"id": -100999, "type": "channel"},
                "text": "x",
            },
        },
    ),
    _case("edited-message", 200, body={"update_id": 9, "edited_message": START["message"]}),
    _case("my-chat-member", 200, body={"update_id": 9, "my_chat_member": None}),
    _case("unknown-chat-says-hello", 200, body=message("hello")),
    _case("unknown-chat-answers-yes", 200, body=message("yes")),
    _case(
        "unknown-chat-presses-button",
        200,
        body={
            "update_id": 9,
            "callback_query": {
                "id": "77",
                "from": PERSON,
                "chat_instance": "1",
                "data": "c:deadbeef",
            },
        },
    ),
    _case("start-unknown-round", 200, body=message("/start ZZZZZZ-child")),
]


@pytest.fixture
def forged_app(brt, botapi):
    app = create_app({"YJV_SETTINGS": replace(brt.settings), "TESTING": True})
    app.test_client_class = telegram_client(botapi)  # a call in a 2xx answer runs, as in Telegram
    yield app
    sender = app.extensions.get(SENDER)
    if sender is not None:
        sender.close()
    app.extensions["yjvoice"].database.dispose()


def table_counts(rt) -> dict[str, int]:
    with rt.transaction() as s:
        return {
            t.name: s.scalar(select(func.count()).select_from(t))
            for t in Base.metadata.sorted_tables
        }


def _fill(value, code):
    if isinstance(value, str):
        return value.replace(CODE, code)
    if isinstance(value, dict):
        return {k: _fill(v, code) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, code) for v in value]
    return value


def test_there_are_at_least_fifty_forged_or_malformed_deliveries():
    refused = [c for c in CASES if c.values[1] != 200]
    assert len(CASES) >= 50 and len(refused) >= 50


@pytest.mark.parametrize(("delivery", "status"), CASES)
def test_forged_or_malformed_delivery_is_refused_and_nothing_stored(
    brt, botapi, forged_app, delivery, status
):
    with brt.transaction() as session:
        code = store.open_round(
            session, brt.catalogue, title="Forged", audiences=["child"], priorities=["policing"]
        ).code
    before = table_counts(brt)
    body = _fill(delivery["body"], code)
    if isinstance(body, dict | list):
        body = json.dumps(body)
    headers = dict(delivery["headers"])
    if delivery["secret"] is not None:
        headers[SECRET_HEADER] = delivery["secret"]
    client = forged_app.test_client()
    res = client.open(
        URL,
        method=delivery["method"],
        data=body,
        headers=headers,
        content_type=delivery["content_type"],
        query_string=delivery["query"],
    )
    assert res.status_code == status
    assert table_counts(brt) == before
    if status == 200:  # authentic: at most a "please use your link" reply, nothing kept
        for call in botapi.calls("sendMessage"):
            assert call.params["chat_id"] == PERSON["id"]
    else:  # refused before anything ran: the bot was not even started
        assert botapi.calls() == []
        if status != 405:
            assert res.get_json()["ok"] is False
            assert "method" not in res.get_json()  # no Bot API call for Telegram to run


def test_the_real_start_update_is_accepted(brt, botapi, forged_app):
    """Control: the same delivery with the right secret does store (so refusals are real)."""
    with brt.transaction() as session:
        code = store.open_round(
            session, brt.catalogue, title="Forged", audiences=["child"], priorities=["policing"]
        ).code
    before = table_counts(brt)
    res = forged_app.test_client().post(
        URL,
        data=json.dumps(_fill(START, code)),
        headers={SECRET_HEADER: WEBHOOK_SECRET},
        content_type="application/json",
    )
    assert res.status_code == 200
    assert table_counts(brt)["respondents"] == before["respondents"] + 1
