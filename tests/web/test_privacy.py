"""The privacy notices: served, linked from every page, and the young people's one is easy to read.

Reading age: textstat 0.7.8's Flesch-Kincaid grade of the child page's text must be <= 4
(US grade 4 is about age 9-10) and its Dale-Chall-free ``text_standard`` consensus <= 4 too.
"""

from __future__ import annotations

import html
import re

import pytest
import textstat

from web import CSP

FK_GRADE_MAX = 4.0
STANDARD_MAX = 4.0
SENTENCE_WORDS_MAX = 20


def visible_text(page: str, block_id: str = "privacy-text") -> str:
    """Return the text inside the notice's main block, one sentence per line."""
    start = page.index(f'id="{block_id}"')
    end = page.index("</div>", start)
    body = page[start:end].split(">", 1)[1]
    body = re.sub(r"</(p|h1|h2|li)>", ".\n", body)
    body = re.sub(r"<[^>]+>", " ", body)
    text = html.unescape(body)
    text = re.sub(r"\.\s*\.", ".", text)  # a heading ending in "?" or "." gets no second stop
    text = re.sub(r"([?!])\.", r"\1", text)
    return "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip())


@pytest.fixture
def child_page(client) -> str:
    res = client.get("/privacy")
    assert res.status_code == 200
    return res.get_data(as_text=True)


def test_child_notice_is_served_with_the_security_headers(client):
    res = client.get("/privacy")
    assert res.status_code == 200
    assert res.headers["Content-Security-Policy"] == CSP
    assert "<script" not in res.get_data(as_text=True)
    assert "style=" not in res.get_data(as_text=True)


def test_adult_notice_is_served(client):
    res = client.get("/privacy/adults")
    assert res.status_code == 200
    page = res.get_data(as_text=True)
    for must in (
        "Crime and Disorder Act 1998",
        "Schedule 1",
        "Telegram",
        "safeguarding lead",
        "90 days",
        "ico.org.uk",
        "withdrawal code",
    ):
        assert must in page, must
    assert 'href="/privacy"' in page


def test_child_notice_reading_age_is_nine_or_under(child_page):
    text = visible_text(child_page)
    assert len(text.split()) > 250  # the whole notice, not a fragment
    grade = textstat.flesch_kincaid_grade(text)
    standard = textstat.text_standard(text, float_output=True)
    assert grade <= FK_GRADE_MAX, (grade, text)
    assert standard <= STANDARD_MAX, standard


def test_child_notice_uses_short_sentences(child_page):
    text = visible_text(child_page)
    for sentence in re.split(r"(?<=[.?!])\s+", text):
        assert len(sentence.split()) <= SENTENCE_WORDS_MAX, sentence


def test_child_notice_covers_what_the_issue_asks(child_page):
    text = visible_text(child_page).lower()
    for must in (
        "we do not ask your name",  # what we collect
        "helps them plan",  # why
        "who sees your answers",
        "may be in danger",  # the exception to anonymity
        "telegram is a different company",
        "16 or older",
        "code",  # taking answers back
        "90 days",  # how long (the default RETENTION_DAYS)
        "who to ask",
        "0800 1111",
    ):
        assert must in text, must


def test_retention_period_comes_from_the_settings(rt, tmp_path, db_url):
    from tests.conftest import make_settings
    from web import create_app

    app = create_app(
        {"YJV_SETTINGS": make_settings(tmp_path, db_url, retention_days=30), "TESTING": True}
    )
    client = app.test_client()
    assert "30 days" in client.get("/privacy").get_data(as_text=True)
    assert "30 days" in client.get("/privacy/adults").get_data(as_text=True)
    app.extensions["yjvoice"].database.dispose()


@pytest.mark.parametrize("path", ["/", "/privacy", "/privacy/adults", "/no-such-page"])
def test_every_page_footer_links_both_notices(client, path):
    page = client.get(path).get_data(as_text=True)
    assert 'href="/privacy"' in page and 'href="/privacy/adults"' in page


def test_consent_page_links_the_notice(client, open_round):
    res = client.get(f"/r/{open_round}/child")
    assert res.status_code == 200
    page = res.get_data(as_text=True)
    assert "may be in danger" in page
    assert 'href="/privacy"' in page
