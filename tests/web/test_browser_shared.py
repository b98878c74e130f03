"""Shared devices in real Chromium: the phone's Back button, an office tablet left alone,
and help on screen after a disclosure (issue 13), checked by axe."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from surveys.storage.models import Respondent, utcnow
from tests.web import test_browser
from tests.web.test_browser import TEXTS, axe_problems, button, press

pytestmark = pytest.mark.browser
base_url = test_browser.base_url
phone = test_browser.phone


def _question(page) -> str | None:
    field = page.locator("input[name=question]")
    return field.get_attribute("value") if field.count() else None


def test_the_phones_back_button_goes_back_a_question_and_stays_in_the_survey(
    rt, open_round, base_url, phone
):
    page = phone
    page.goto(f"{base_url}/r/{open_round}/child")
    press(page, button(page, TEXTS.get("consent_yes", "child")))
    page.locator("textarea#answer").fill("They were fair")
    press(page, button(page, "Send"))
    assert _question(page) == "policing.stop_search"
    before = page.locator("input[name=submission]").get_attribute("value")
    page.go_back()  # the phone's own Back button, not the page's
    test_browser.wait_for_next_page(page, before)
    assert _question(page) == "policing.opinion"
    assert page.url.endswith(f"/r/{open_round}/child")  # still in the survey


def test_an_office_tablet_left_alone_starts_afresh_for_the_next_person(
    rt, open_round, base_url, phone
):
    page = phone  # its clock is the test's (test_browser.clock_on)
    page.goto(f"{base_url}/r/{open_round}/child?device=shared")
    press(page, button(page, TEXTS.get("consent_yes", "child")))
    page.locator("textarea#answer").fill("First person")
    press(page, button(page, "Send"))
    assert _question(page) == "policing.stop_search"
    # Five minutes pass with nobody touching the tablet.
    with rt.transaction() as s:
        s.execute(update(Respondent).values(updated_at=utcnow() - timedelta(minutes=6)))
    with page.expect_navigation():
        page.clock.fast_forward(301_000)
    assert _question(page) == "@consent"  # the next person starts at the beginning
    assert "First person" not in page.content()


def test_help_is_on_screen_without_scrolling_after_a_disclosure(rt, open_round, base_url, phone):
    page = phone
    page.goto(f"{base_url}/r/{open_round}/child")
    press(page, button(page, TEXTS.get("consent_yes", "child")))
    page.locator("textarea#answer").fill("my stepdad hits me when he is drunk")
    press(page, button(page, "Send"))
    box = page.locator(".help-now")
    assert box.is_visible() and "999" in box.inner_text()
    top = box.bounding_box()
    assert top is not None and top["y"] + top["height"] <= 667  # within the first screen
    assert axe_problems(page) == []
    page.reload()
    assert page.locator(".help-now").is_visible()


def test_the_is_this_you_page_is_accessible(rt, open_round, base_url, phone):
    page = phone
    page.goto(f"{base_url}/r/{open_round}/child")
    press(page, button(page, TEXTS.get("consent_yes", "child")))
    with rt.transaction() as s:
        s.execute(update(Respondent).values(updated_at=utcnow() - timedelta(minutes=31)))
    page.goto(f"{base_url}/r/{open_round}/child")
    assert page.get_by_role("heading", name="Is this you?").is_visible()
    assert axe_problems(page) == []
    with page.expect_navigation():
        button(page, "Yes, carry on").tap()
    assert _question(page) == "policing.opinion"
