"""Bad input at the text-message webhooks: a clear reply or a clear 4xx, never a 500, and
nothing stored twice or at all when the caller is not the provider."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from surveys.core import sms_text
from surveys.storage.models import Answer, Inbound, Respondent, SmsNumber
from tests.sms.conftest import (
    CHILD,
    NOTIFY_URL,
    PUBLIC,
    TWILIO_URL,
    Phone,
    notify_settings,
    twilio_settings,
)

MODELS = (Respondent, Answer, Inbound, SmsNumber)


def counts(rt) -> tuple[int, ...]:
    with rt.transaction() as s:
        return tuple(s.scalar(select(func.count()).select_from(m)) for m in MODELS)


@pytest.fixture
def notify_client(make_app, notify):
    return make_app(notify_settings(notify)).test_client()


@pytest.fixture
def twilio_client(make_app, twilio):
    return make_app(twilio_settings(twilio)).test_client()


def good_callback(notify, text="hello"):
    return notify.callback(CHILD, text)


@pytest.mark.parametrize(
    "headers, status",
    [
        ({}, 401),
        ({"Authorization": "Bearer wrong-token"}, 403),
        ({"Authorization": "Basic abc"}, 401),
        ({"Authorization": "Bearer "}, 403),
    ],
)
def test_notify_callback_without_the_token_is_refused(
    rt, open_round, notify, notify_client, headers, status
):
    body, _ = good_callback(notify, open_round)
    res = notify_client.post(NOTIFY_URL, json=body, headers=headers)
    assert res.status_code == status
    assert counts(rt) == (0, 0, 0, 0) and notify.sent == []


@pytest.mark.parametrize(
    "body, reason",
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'"just a string"', "not a JSON object"),
        (json.dumps({"source_number": "447700900123", "message": "hi"}).encode(), "id"),
        (json.dumps({"id": "x'; drop table--", "source_number": "1", "message": "hi"}), "id"),
        (json.dumps({"id": 12345678, "source_number": "447700900123", "message": "h"}), "id"),
        (
            json.dumps({"id": "a1b2c3d4-0000", "source_number": "not a number", "message": "h"}),
            "phone number",
        ),
        (
            json.dumps({"id": "a1b2c3d4-0000", "source_number": "447700900123", "message": None}),
            "strings",
        ),
        (b"\xff\xfe\x00", "not JSON"),
        (b"[" * 100_000, "too large"),
    ],
)
def test_notify_malformed_bodies_get_a_clear_400(rt, notify, notify_client, body, reason):
    _, headers = good_callback(notify)
    res = notify_client.post(
        NOTIFY_URL, data=body, headers=headers, content_type="application/json"
    )
    assert res.status_code in (400, 413)
    assert reason in res.get_json()["error"]
    assert counts(rt) == (0, 0, 0, 0) and notify.sent == []


def test_twilio_webhook_needs_its_signature(rt, open_round, twilio, twilio_client):
    form, headers = twilio.inbound(PUBLIC + TWILIO_URL, CHILD, open_round)
    assert twilio_client.post(TWILIO_URL, data=form).status_code == 403
    forged = {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}
    assert twilio_client.post(TWILIO_URL, data=form, headers=forged).status_code == 403
    # Signed for another address, or changed after signing.
    _, other = twilio.inbound("https://elsewhere.example" + TWILIO_URL, CHILD, open_round)
    assert twilio_client.post(TWILIO_URL, data=form, headers=other).status_code == 403
    changed = {**form, "Body": "something else"}
    assert twilio_client.post(TWILIO_URL, data=changed, headers=headers).status_code == 403
    garbage = twilio_client.post(
        TWILIO_URL,
        data=b"\xff=\xfe&&&==",
        headers=headers,
        content_type="application/x-www-form-urlencoded",
    )
    assert garbage.status_code == 403
    assert counts(rt) == (0, 0, 0, 0) and twilio.sent == []


def test_twilio_signed_but_malformed_gets_a_400(rt, twilio, twilio_client):
    form, headers = twilio.inbound(PUBLIC + TWILIO_URL, CHILD, "hi", sid="XX123")
    res = twilio_client.post(TWILIO_URL, data=form, headers=headers)
    assert res.status_code == 400 and "MessageSid" in res.get_json()["error"]
    form, headers = twilio.inbound(PUBLIC + TWILIO_URL, "not a phone", "hi")
    assert twilio_client.post(TWILIO_URL, data=form, headers=headers).status_code == 400
    assert counts(rt) == (0, 0, 0, 0) and twilio.sent == []


@pytest.mark.parametrize("provider_name", ["notify", "twilio"])
def test_odd_texts_get_a_clear_reply(rt, open_round, make_app, provider_name, notify, twilio):
    api = notify if provider_name == "notify" else twilio
    settings = notify_settings if provider_name == "notify" else twilio_settings
    p = Phone(make_app(settings(api)).test_client(), api, provider_name)
    assert "Reply YES" in p.say(f"{open_round} child")[0].body
    for text in ("", "😀😀😀", "   ", "\x00\x01"):
        [reply] = p.say(text)
        assert reply.body  # a clear reply, never silence
    p.say("yes")
    long_answer = "I think " + "the police should listen more. " * 52
    assert len(long_answer) > 1_600
    [reply] = p.say(long_answer)
    with rt.transaction() as s:
        stored = s.scalars(select(Answer)).all()
    assert [a.text for a in stored] == [long_answer.strip()]
    for text in api.sent:
        assert sms_text.count(text.body).characters <= sms_text.MAX_CHARACTERS
