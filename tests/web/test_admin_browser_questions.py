"""The lead builds a question and previews it on a 390 x 844 phone, in real headless Chromium.

The same rig as the other browser tests (Debian's Chromium through Playwright, axe-core from
``node_modules``): every page of the builder is checked by axe (no serious or critical
violations), the live checks run as the lead types, the preview frame shows the web form's
own page, and the preview itself is checked on a phone-sized screen. The pages are loaded
once more under the real CSP to prove nothing inline is blocked.
"""

from __future__ import annotations

import pytest

from tests.web.test_admin_browser_rounds import DESKTOP, click, sign_in
from tests.web.test_browser import axe_problems, base_url  # noqa: F401  (a fixture)

pytestmark = pytest.mark.browser

PHONE_390 = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
}


def test_lead_builds_a_question_and_previews_it_on_a_phone(rt, staff, base_url, browser):  # noqa: F811
    context = browser.new_context(**DESKTOP, bypass_csp=True)  # bypass only to inject axe
    page = context.new_page()
    problems: dict[str, list[str]] = {}
    visited: list[str] = []

    def check(name: str) -> None:
        visited.append(page.url)
        problems[name] = axe_problems(page)

    sign_in(page, base_url, staff["lead"])
    click(page, page.get_by_role("link", name="Questions"))
    check("questions")
    click(page, page.get_by_role("link", name="New priority or consultation"))
    check("new")
    page.get_by_label("Consultation").check()
    page.get_by_label("Title", exact=True).fill("Renaming the service")
    page.get_by_label("Purpose").fill("What young people think the service should be called.")
    page.get_by_label("Key (optional)").fill("renaming")
    click(page, page.get_by_role("button", name="Create"))
    assert "Consultation created" in page.locator("main").inner_text()
    check("bank (empty)")

    click(page, page.get_by_role("link", name="Add a question"))
    page.wait_for_load_state("load")
    steps = page.evaluate("history.length")
    page.get_by_label("Choice of answers (2 to 6 buttons)").check()
    # Live checks as the lead types: a long, two-part question is measured at once.
    page.locator("#text-child-en").fill(
        "Do you think the youth justice service should consider changing its name to "
        "something that reflects participation, and what would you suggest?"
    )
    page.wait_for_function(
        "() => document.querySelector('#checks').textContent.includes('Flesch-Kincaid')"
    )
    assert "two things at once" in page.locator("#checks").inner_text()
    page.locator("#text-child-en").fill("Do you like the name YOT?")
    page.locator("#option-en-1").fill("Yes")
    page.locator("#option-en-2").fill("No")
    page.locator("#option-en-3").fill("Not sure")
    page.wait_for_function(
        "() => document.querySelector('#checks').textContent.includes('Passes the checks')"
    )
    # ... and the phone frame redraws with the question as written so far.
    frame = page.frame(name="phone")
    frame.wait_for_selector("h1.question:has-text('Do you like the name YOT?')")
    assert frame.locator("button.choice").all_inner_texts() == ["Yes", "No", "Not sure"]
    assert page.evaluate("history.length") == steps  # typing adds nothing to Back
    check("builder")
    box = page.locator("iframe#phone").bounding_box()
    assert (round(box["width"]), round(box["height"])) == (390, 844)

    click(page, page.get_by_role("button", name="Save question"))
    assert "added" in page.locator("main").inner_text()
    check("bank")
    click(page, page.get_by_role("button", name="Remove renaming.like_name_yot"))
    assert "It has never been asked: it is deleted." in page.locator("main").inner_text()
    check("remove?")
    click(page, page.get_by_role("link", name="Keep it"))
    context.close()

    # The preview on a phone: the web form's page for this question, readable and accessible.
    phone = browser.new_context(**PHONE_390, bypass_csp=True)
    page = phone.new_page()
    sign_in(page, base_url, staff["lead"])
    name = rt.catalogue.bank("renaming").questions[0].id  # made from the wording
    assert name == "renaming.like_name_yot"
    page.goto(f"{base_url}/admin/questions/renaming/preview?saved={name}")
    assert page.locator("h1.question").inner_text() == "Do you like the name YOT?"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    first = page.locator("button.choice").first.bounding_box()
    assert first["height"] >= 44  # a thumb-sized button, as on the form
    visited.append(page.url)
    problems["preview on a phone"] = axe_problems(page)
    phone.close()

    strict = browser.new_context(**DESKTOP)
    page = strict.new_page()
    console: list[str] = []
    page.on("console", lambda msg: console.append(msg.text))
    sign_in(page, base_url, staff["lead"])
    for url in visited:
        page.goto(url)
    assert not [m for m in console if "Content Security Policy" in m]
    strict.close()

    assert {k: v for k, v in problems.items() if v} == {}


def test_a_rolling_rounds_results_by_month_are_accessible(rt, staff, base_url, browser):  # noqa: F811
    from datetime import UTC, datetime

    from tests.test_monthly import answer, rolling_round

    rnd = rolling_round(rt)
    for _ in range(10):
        answer(rt, rnd, datetime(2027, 1, 10, tzinfo=UTC), "They listened to me.")
    answer(rt, rnd, datetime(2027, 3, 10, tzinfo=UTC), "OK.")
    context = browser.new_context(**DESKTOP, bypass_csp=True)
    page = context.new_page()
    sign_in(page, base_url, staff["lead"])
    problems = {}
    for url in (f"/admin/rounds/{rnd.code}", f"/admin/rounds/{rnd.code}/dashboard"):
        page.goto(base_url + url)
        assert "January 2027" in page.locator("#by-month ~ table").first.inner_text()
        problems[url] = axe_problems(page)
    context.close()
    assert {k: v for k, v in problems.items() if v} == {}
