"""After an answer that may disclose harm: help at once, the service's number, and an
optional way to leave contact details (nothing else ever asks for them)."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from surveys.storage.models import SafeguardingCase
from tests.conftest import make_settings
from tests.web.conftest import hidden_fields
from tests.web.test_public import child
from web import create_app

DISCLOSURE = "my stepdad hits me when he is drunk"
PHONE = "01632 960123"  # an Ofcom drama number


@pytest.fixture
def app_with_phone(rt, db_url, tmp_path):
    app = create_app(
        {"YJV_SETTINGS": make_settings(tmp_path, db_url, service_phone=PHONE), "TESTING": True}
    )
    yield app
    app.extensions["yjvoice"].close()


def test_disclosure_shows_help_the_service_number_and_the_offer(rt, open_round, app_with_phone):
    v = child(app_with_phone.test_client(), open_round).start()
    v.answer(DISCLOSURE)
    assert v.status == 200
    assert "Childline" in v.text and PHONE in v.text
    assert "Do you want someone to contact you?" in v.text
    v.open()  # shown once, not on every page after
    assert "Do you want someone to contact you?" not in v.text


def test_page_script_shows_the_help_and_the_offer_in_the_same_answer(open_round, app_with_phone):
    v = child(app_with_phone.test_client(), open_round, inline=True).start()
    v.answer(DISCLOSURE)
    assert v.status == 200
    assert "Childline" in v.text and PHONE in v.text
    assert "Do you want someone to contact you?" in v.text
    v.open()
    assert "Do you want someone to contact you?" not in v.text


def test_an_ordinary_answer_never_asks_for_contact_details(open_round, client):
    v = child(client, open_round).start()
    v.answer("the police were fair with me")
    assert "contact you" not in v.text and 'name="contact"' not in v.html


@pytest.mark.backends("sqlite", "postgres")  # the one test of some view SQL on PostgreSQL
def test_a_left_contact_reaches_only_the_case(rt, open_round, client, caplog):
    caplog.set_level(logging.DEBUG)
    v = child(client, open_round).start()
    v.answer(DISCLOSURE)
    token = hidden_fields(v.html)["csrf_token"]
    r = client.post(
        f"/r/{open_round}/child/contact",
        data={"csrf_token": token, "contact": "07700 900456 after school"},
    )
    assert r.status_code == 303
    page = client.get(f"/r/{open_round}/child").get_data(as_text=True)
    assert "will get in touch" in page
    with rt.transaction() as s:
        case = s.scalar(select(SafeguardingCase))
        assert case.contact == "07700 900456 after school"
    assert "07700 900456" not in caplog.text and DISCLOSURE not in caplog.text


def test_contact_without_csrf_or_without_a_case_stores_nothing(rt, open_round, client):
    v = child(client, open_round).start()
    r = client.post(f"/r/{open_round}/child/contact", data={"contact": "07700 900456"})
    assert r.status_code == 400
    token = hidden_fields(v.html)["csrf_token"]
    r = client.post(
        f"/r/{open_round}/child/contact", data={"csrf_token": token, "contact": "07700 900456"}
    )
    assert r.status_code == 303  # no case: nothing to attach it to, nothing stored
    with rt.transaction() as s:
        assert s.scalar(select(SafeguardingCase)) is None
