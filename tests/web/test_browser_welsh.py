"""A young person's journey in Welsh, in real headless Chromium on a phone, checked by axe,
with JavaScript on and off: every page is marked Welsh, the language link keeps the place."""

from __future__ import annotations

import pytest

from surveys.core import engine
from surveys.storage import store
from surveys.storage.models import Answer, Respondent
from tests.web import test_browser
from tests.web.test_browser import CODE_RE, PHONE, axe_problems, button, press, press_plain

# The English browser tests' fixtures: the app served on loopback, a phone-sized page.
base_url = test_browser.base_url
phone = test_browser.phone

pytestmark = pytest.mark.browser
TEXTS = engine.default_texts()
WELSH_DANGER = TEXTS.get("danger", "child", "cy")


@pytest.fixture
def bilingual(rt):
    with rt.transaction() as s:
        return store.open_round(
            s,
            rt.catalogue,
            title="Dweud dy ddweud",
            priorities=["policing", "remands"],
            audiences=["child"],
            languages=["cy", "en"],
        ).code


def _lang(page) -> str:
    return page.evaluate("document.documentElement.lang")


def _walk(page, tap, problems: dict[str, list[str]] | None) -> list[str]:
    """Answer every question in Welsh; return each page's lang attribute."""
    langs = []
    for step in range(40):
        langs.append(_lang(page))
        if not page.locator("input[name=question]").count():
            break
        if page.locator("textarea#answer").count():
            if problems is not None and "text-question" not in problems:
                problems["text-question"] = axe_problems(page)
            page.locator("textarea#answer").fill(f"ateb {step}: roedd e'n iawn")
            tap(page, button(page, "Anfon"))
        else:
            if problems is not None and "choice-question" not in problems:
                problems["choice-question"] = axe_problems(page)
            tap(page, page.locator("button[name=choice]").first)
    return langs


def _stored(rt) -> list[tuple[str, str]]:
    with rt.transaction() as s:
        rows = s.query(Answer.text, Answer.language).filter(Answer.superseded.is_(False))
        return [tuple(r) for r in rows]


def test_welsh_journey_with_javascript_on_and_axe(rt, bilingual, base_url, phone):
    page = phone
    problems: dict[str, list[str]] = {}
    page.goto(f"{base_url}/?lang=cy")
    assert _lang(page) == "cy"
    problems["home"] = axe_problems(page)
    page.goto(f"{base_url}/r/{bilingual}/child")  # the choice is remembered
    assert _lang(page) == "cy"
    problems["consent"] = axe_problems(page)
    press(page, button(page, TEXTS.get("consent_yes", "child", "cy")))
    assert (
        page.locator("h1 label").inner_text() == "Beth wyt ti'n feddwl o'r heddlu yn yr ardal yma?"
    )
    assert "Cwestiwn 1 o" in page.locator("#progress-label").inner_text()
    # The language link keeps the place, both ways.
    with page.expect_navigation():
        page.get_by_role("link", name="English").tap()
    assert _lang(page) == "en-GB"
    assert page.locator("h1 label").inner_text() == "What do you think of the police round here?"
    with page.expect_navigation():
        page.get_by_role("link", name="Cymraeg").tap()
    assert _lang(page) == "cy"
    langs = _walk(page, press, problems)
    problems["thank-you"] = axe_problems(page)
    page.goto(f"{base_url}/privacy")
    problems["privacy"] = axe_problems(page)
    page.goto(f"{base_url}/r/withdraw")
    problems["withdraw"] = axe_problems(page)
    assert set(langs) == {"cy"}
    assert {k: v for k, v in problems.items() if v} == {}
    answers = _stored(rt)
    assert answers and {lang for _, lang in answers} == {"cy"}


def test_welsh_journey_with_javascript_off(rt, bilingual, base_url, browser):
    context = browser.new_context(**PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{base_url}/r/{bilingual}/child?lang=cy")
    assert _lang(page) == "cy"
    press_plain(page, button(page, TEXTS.get("consent_yes", "child", "cy")))
    langs = _walk(page, press_plain, None)
    main = page.locator("main").inner_text()
    assert set(langs) == {"cy"}
    assert "Diolch!" in main and CODE_RE.search(main)
    assert WELSH_DANGER.split(" Childline")[0] in page.locator("footer").inner_text()
    assert "Take back your answers" not in page.content()
    with rt.transaction() as s:
        resp = s.query(Respondent).one()
        assert resp.language == "cy" and resp.completed_at is not None
    assert [t for t, _ in _stored(rt)][-1].startswith("ateb ")
    context.close()
