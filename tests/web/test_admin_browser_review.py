"""The lead's workbench in real headless Chromium: review and approve a quote, merge themes,
read the dashboard; axe-core finds no serious or critical problem on these pages.

Same rig as ``test_browser.py`` (Debian chromium, Playwright, axe-core from node_modules).
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from surveys.services import themes
from surveys.storage import store
from surveys.storage.models import Answer, Theme
from tests.test_review import build_review_round
from tests.test_theming import QID, keyword_finder
from tests.test_theming import themed as themed
from tests.web.conftest import STAFF_PASSWORD
from tests.web.test_browser import axe_problems, base_url  # noqa: F401  (a fixture)

pytestmark = pytest.mark.browser
DESK = {"viewport": {"width": 1280, "height": 900}}


@pytest.fixture
def desk(browser):
    """Return a desktop page; CSP is bypassed only so that axe can be injected."""
    context = browser.new_context(**DESK, bypass_csp=True)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def strict(browser):
    """Return a desktop page with the site's real CSP, collecting console errors."""
    context = browser.new_context(**DESK)
    page = context.new_page()
    page.errors = []
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
    yield page
    context.close()


def sign_in(page, base, email):
    page.goto(f"{base}/admin/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()


def click(page, locator):
    with page.expect_navigation():
        locator.click()


def test_review_and_approve_a_quote(rt, staff, base_url, desk):  # noqa: F811
    seed = build_review_round(rt)
    page = desk
    sign_in(page, base_url, staff["reviewer"])
    page.goto(f"{base_url}/admin/rounds/{seed.code}/review")
    assert page.get_by_text("2 answers are with the safeguarding lead.").is_visible()
    queue_problems = axe_problems(page)
    assert "FLAGMARK" not in page.content()

    card = page.locator(f"#answer-{seed.ids['named']}")
    click(page, card.get_by_role("link", name=f"Open, edit or redact answer {seed.ids['named']}"))
    assert page.locator("#raw-text").inner_text().startswith("PC Dave Smith")
    answer_problems = axe_problems(page)

    # A careless edit that puts the name back is stopped with a warning.
    page.get_by_label("Quote text").fill("PC Dave Smith was alright with me at the station.")
    click(page, page.get_by_role("button", name="Use as quote"))
    assert page.get_by_text("Nothing was saved yet.").is_visible()
    assert "brings back “PC Dave Smith”" in page.locator("#quote-warnings").inner_text()
    warning_problems = axe_problems(page)

    # A light edit goes through; the original stays as it was.
    page.get_by_label("Quote text").fill("[name] was alright with me at the station.")
    click(page, page.get_by_role("button", name="Use as quote"))
    assert page.get_by_text("Chosen as a quote.").first.is_visible()
    assert page.locator("#quote-text").inner_text() == "[name] was alright with me at the station."
    with rt.transaction() as s:
        row = s.get(Answer, seed.ids["named"])
        assert (row.is_quote, row.review_status) == (True, "approved")
        assert row.quote_text == "[name] was alright with me at the station."
        assert row.redacted == "[name] was alright with me at the station"

    # Approve the next one from the queue with its own button.
    page.goto(f"{base_url}/admin/rounds/{seed.code}/review")
    school = seed.ids["school"]
    click(page, page.get_by_role("button", name=f"Approve answer {school}"))
    assert page.get_by_text("1 answer approved.").is_visible()
    with rt.transaction() as s:
        assert s.get(Answer, school).review_status == "approved"

    assert queue_problems == [] and answer_problems == [] and warning_problems == []


def test_redact_this_too_by_selecting_words(rt, staff, base_url, strict):  # noqa: F811
    seed = build_review_round(rt)
    page = strict
    sign_in(page, base_url, staff["lead"])
    page.goto(f"{base_url}/admin/rounds/{seed.code}/review/{seed.ids['teacher']}")
    # Select "rubbish" in the answer as given: the enhancement fills the box.
    page.evaluate(
        """() => {
            const el = document.getElementById('raw-text');
            const node = el.firstChild;
            const start = node.textContent.indexOf('rubbish');
            const range = document.createRange();
            range.setStart(node, start); range.setEnd(node, start + 7);
            const sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(range);
            el.dispatchEvent(new MouseEvent('mouseup', {bubbles: true}));
        }"""
    )
    assert page.get_by_label("Words to hide").input_value() == "rubbish"
    click(page, page.get_by_role("button", name="Hide these words"))
    assert (
        page.locator("#published-text").inner_text() == "school was [name 2] but [name] helped me"
    )
    click(page, page.get_by_role("button", name="Undo hiding “rubbish”"))
    assert page.locator("#published-text").inner_text() == "school was rubbish but [name] helped me"
    assert page.errors == []  # no CSP violation, no script error


def test_merge_themes(rt, staff, base_url, desk, themed, monkeypatch):  # noqa: F811
    from surveys.analysis import clustering as engine

    monkeypatch.setattr(engine, "find_themes", keyword_finder)
    code, _, ids = themed
    page = desk
    sign_in(page, base_url, staff["lead"])
    page.goto(f"{base_url}/admin/rounds/{code}/themes")
    click(page, page.get_by_role("link", name="What should the YOT work on next year?"))
    click(page, page.get_by_role("button", name="Find themes"))
    assert page.get_by_text("Found 3 themes in 12 answers.").is_visible()
    themes_problems = axe_problems(page)

    page.get_by_label("Tick to merge “polices”").check()
    page.get_by_label("Tick to merge “schools”").check()
    page.get_by_label("Name of the merged theme (optional)").fill("Being treated fairly")
    click(page, page.get_by_role("button", name="Merge the ticked themes"))
    assert page.get_by_text("Merged 2 themes into “Being treated fairly”.").is_visible()
    assert page.locator(".theme-card").count() == 2
    click(page, page.get_by_role("button", name="Find themes again"))
    assert page.locator(".theme-label").all_inner_texts() == ["Being treated fairly", "clubs"]
    with rt.transaction() as s:
        rnd = store.get_round(s, code)
        merged = s.scalar(
            select(Theme).where(Theme.round_id == rnd.id, Theme.label == "Being treated fairly")
        )
        data = themes.load(s, rnd, QID)
        assert merged.source == "lead"
        assert next(t.count for t in data.themes if t.id == merged.id) == len(
            ids["police"] + ids["school"]
        )
    assert themes_problems == []


def test_dashboard_and_quotes_for_a_viewer(rt, staff, base_url, desk, strict):  # noqa: F811
    seed = build_review_round(rt, extra_written=12)
    sign_in(desk, base_url, staff["viewer"])
    desk.goto(f"{base_url}/admin/rounds/{seed.code}/dashboard")
    images = desk.locator("figure.chart img")
    assert images.count() == 5
    desk.wait_for_load_state("networkidle")
    widths = desk.evaluate(
        "() => [...document.querySelectorAll('figure.chart img')].map(i => i.naturalWidth)"
    )
    assert all(w > 100 for w in widths), widths  # every chart loaded and drew
    dash_problems = axe_problems(desk)
    desk.goto(f"{base_url}/admin/rounds/{seed.code}/quotes")
    quotes_problems = axe_problems(desk)
    # With the real CSP: charts still load, nothing is blocked.
    sign_in(strict, base_url, staff["lead"])
    strict.goto(f"{base_url}/admin/rounds/{seed.code}/dashboard")
    strict.wait_for_load_state("networkidle")
    assert strict.errors == []
    assert dash_problems == [] and quotes_problems == []
