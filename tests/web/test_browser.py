"""A young person's journey in real headless Chromium on a phone-sized screen, checked by axe.

Debian's headless Chromium (see ``tests/web/conftest.py``) driven by Playwright; axe-core
from ``node_modules`` (run ``npm install``). Skipped locally when either is missing; under
CI=true they must exist.
"""

from __future__ import annotations

import re
import threading
import weakref

import pytest
from werkzeug.serving import make_server

from surveys.core import engine
from surveys.storage import store
from surveys.storage.models import Respondent
from tests.web.conftest import AXE, ROOT

FORM_JS = ROOT / "web" / "static" / "form.js"

pytestmark = pytest.mark.browser

PHONE = {
    "viewport": {"width": 375, "height": 667},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
TEXTS = engine.default_texts().for_channel("web")  # the web form says "press Skip"
CODE_RE = re.compile(r"\b[A-Z0-9]{4}-[A-Z0-9]{4}\b")


@pytest.fixture
def base_url(app):
    """Serve the app on a free loopback port for the length of one test."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
    server.server_close()


@pytest.fixture
def phone(request, browser):
    """Return a phone-sized page; CSP is bypassed only so that axe can be injected.

    In the headless shell, or (``indirect`` parameter "full chromium") in Debian's full
    Chromium, the browser people run.
    """
    kind = getattr(request, "param", "headless shell")
    chromium = browser if kind == "headless shell" else request.getfixturevalue("full_browser")
    context = chromium.new_context(**PHONE, bypass_csp=True)
    page = context.new_page()
    clock_on(page)
    yield page
    context.close()


# The form's script holds taps back for a moment after it shows a page in place (a double
# tap is one answer; form.js, SETTLE_MS). On a page whose clock the test holds, the test
# moves the clock past that moment instead of waiting for it: the same code runs, the same
# timer fires, the wall time goes (400 ms a page, about 8 s of a journey). Time still flows
# as well; the tap that lands during the moment is tested on a real clock.
SETTLE_MS = int(re.search(r"SETTLE_MS = (\d+);", FORM_JS.read_text()).group(1))
_CLOCKED: weakref.WeakSet = weakref.WeakSet()


def clock_on(page) -> None:
    """Give the test this page's clock (Playwright's fake timers, flowing on their own)."""
    page.clock.install()
    _CLOCKED.add(page)


AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
REPORTED = ("serious", "critical")  # the impacts a check fails on

# Rules that can never fail a check here are not run. A rule that declares its impact gives
# every violation that impact (axe's _finalizeRuleResult overrides its checks'), so a rule
# declared minor or moderate (region, heading-order, the landmark rules...) cannot report
# a serious or critical violation: running it cost time and could change nothing. They are
# chosen in the page from axe's own rules, so the list follows axe-core's version; the
# tags choose the rest exactly as before, and every violation is still reported in full.
AXE_RUN = """async ([tags, reported]) => {
    const rules = {};
    for (const rule of axe._audit.rules) {
        if (rule.impact && !reported.includes(rule.impact)) rules[rule.id] = {enabled: false};
    }
    return (await axe.run(document, {
        runOnly: {type: "tag", values: tags},
        rules,
        resultTypes: ["violations"]
    })).violations;
}"""


def axe_problems(page) -> list[str]:
    """Run axe-core on the page; return its serious and critical violations, readably."""
    # A page the form's script swapped in place is still the document axe was put into:
    # inject it only where it is not there yet (0.1-0.14 s a time, about 50 checks a run).
    if not page.evaluate("typeof window.axe === 'object' && typeof axe.run === 'function'"):
        page.add_script_tag(path=str(AXE))
    # Only the violations come back to Python: axe's whole result (every rule that passed,
    # with the HTML of each element it checked) was most of a check's time, and it was
    # thrown away. resultTypes lets axe skip gathering those elements.
    violations = page.evaluate(AXE_RUN, [AXE_TAGS, list(REPORTED)])
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in violations
        if v["impact"] in REPORTED
    ]


NEXT_PAGE_SHOWN = """old => {
    const field = document.querySelector("input[name=submission]");
    return document.body.getAttribute("aria-busy") !== "true" && (!field || field.value !== old);
}"""
SETTLED = "() => !document.body.hasAttribute('data-settling')"


def submission(page) -> str | None:
    """Return the page's submission id (each page gets a new one), if it has a form."""
    field = page.locator("input[name=submission]")
    return field.get_attribute("value") if field.count() else None


def wait_for_next_page(page, before: str | None) -> None:
    """Wait until the page the last tap led to is shown (its form has a new submission id)."""
    page.wait_for_function(NEXT_PAGE_SHOWN, arg=before)
    if page in _CLOCKED and not page.evaluate(SETTLED):
        page.clock.fast_forward(SETTLE_MS)
    page.wait_for_function(SETTLED)


def press(page, locator) -> None:
    """Tap a submit button and wait for the page it leads to.

    With JavaScript the page's script (form.js) posts with fetch() and swaps the next page
    in; without, the browser posts, follows the 303 and loads the page (see press_plain).
    """
    before = submission(page)
    locator.tap()
    wait_for_next_page(page, before)


def press_plain(page, locator) -> None:
    """Tap a submit button with JavaScript off: wait for the POST, 303 and GET."""
    with page.expect_navigation():
        locator.tap()


def button(page, name: str):
    """Return the button with this accessible name."""
    return page.get_by_role("button", name=name, exact=True)


def answer_page(page, step: int) -> str:
    """Answer whatever the page asks, as a person would; return the question asked."""
    question = page.locator("input[name=question]").get_attribute("value")
    textarea = page.locator("textarea#answer")
    if textarea.count():
        # Keyboard only: tap the label to focus, type, Tab to Send, Enter.
        page.locator("label[for=answer]").tap()
        page.keyboard.type(f"answer {step}: it was ok 👍")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent.trim()") == "Send"
        before = submission(page)
        page.keyboard.press("Enter")
        wait_for_next_page(page, before)
    else:
        press(page, page.locator("button[name=choice]").first)
    return question


@pytest.mark.parametrize("phone", ["headless shell", "full chromium"], indirect=True)
def test_child_journey_on_a_phone_with_axe_on_every_page_type(rt, open_round, base_url, phone):
    problems: dict[str, list[str]] = {}
    page = phone

    def check(kind: str) -> None:
        if kind not in problems:
            problems[kind] = axe_problems(page)

    page.goto(f"{base_url}/")
    check("home")
    page.goto(f"{base_url}/r/{open_round}")
    check("chooser")
    page.goto(f"{base_url}/r/NOSUCH")
    check("not-found")

    page.goto(f"{base_url}/r/{open_round}/child")
    check("consent")
    press(page, button(page, TEXTS.get("consent_yes", "child")))
    assert page.locator("h1 label").inner_text() == "What do you think of the police round here?"
    assert "Question 1 of" in page.locator("#progress-label").inner_text()
    check("text-question")

    press(page, button(page, "Send"))  # empty: a kind error, the page stays
    assert TEXTS.get("empty_answer", "child") in page.locator("[role=alert]").inner_text()
    check("error")

    press(page, button(page, "Stop for now"))
    assert TEXTS.get("stopped", "child") in page.locator("main").inner_text()
    check("paused")
    press(page, button(page, "Carry on"))
    check("notice")

    asked = []
    for step in range(60):
        if not page.locator("input[name=question]").count():
            break
        if page.locator("button[name=choice]").count():
            check("choice-question")
        asked.append(answer_page(page, step))
    check("thank-you")

    text = page.locator("main").inner_text()
    codes = CODE_RE.findall(text)
    with rt.transaction() as s:
        rid = s.query(Respondent.id).filter(Respondent.completed_at.isnot(None)).scalar()
    assert codes == [store.withdrawal_code(rt.settings.secret_key, rid)]
    assert page.locator("strong.code").inner_text() == codes[0]
    assert "In danger now? Call 999." in page.locator("footer").inner_text()
    assert asked[-1] == "general.anything_else"
    assert {k: v for k, v in problems.items() if v} == {}


def test_journey_works_with_javascript_off_and_no_csp_errors(rt, open_round, base_url, browser):
    context = browser.new_context(**PHONE, java_script_enabled=False)
    page = context.new_page()
    console = []
    page.on("console", lambda msg: console.append(msg.text))
    page.goto(f"{base_url}/r/{open_round}/child")
    press_plain(page, button(page, TEXTS.get("consent_yes", "child")))
    page.get_by_label("What do you think of the police round here?").fill("fair enough")
    press_plain(page, button(page, "Send"))
    press_plain(page, button(page, "Skip this question"))
    press_plain(page, button(page, "Back"))
    assert "stopped and searched" in page.locator("h1").inner_text()
    for step in range(60):
        if not page.locator("input[name=question]").count():
            break
        if page.locator("textarea#answer").count():
            page.locator("textarea#answer").fill(f"typed {step}")
            press_plain(page, button(page, "Send"))
        else:
            press_plain(page, page.locator("button[name=choice]").first)
    assert CODE_RE.search(page.locator("main").inner_text())
    assert not [m for m in console if "Content Security Policy" in m]
    context.close()


# Sends the free-text answer, and taps the next question's first choice in the same task
# that shows it in place (a MutationObserver's callback runs right after the page is swapped):
# the second tap of a double tap, landing on the next question. Returns its submission id.
TAP_AS_THE_NEXT_QUESTION_APPEARS = """() => new Promise(resolve => {
    new MutationObserver((_, observer) => {
        const choice = document.querySelector("button[name=choice]");
        if (!choice) return;
        observer.disconnect();
        choice.dispatchEvent(new MouseEvent("click", {bubbles: true, cancelable: true, detail: 1}));
        resolve(document.querySelector("input[name=submission]").value);
    }).observe(document.documentElement, {childList: true});
    [...document.querySelectorAll("button")].find(b => b.textContent.trim() === "Send").click();
})"""


def test_a_tap_on_the_next_question_as_it_appears_answers_nothing(
    rt, open_round, base_url, browser
):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.goto(f"{base_url}/r/{open_round}/child")
    press(page, button(page, TEXTS.get("consent_yes", "child")))
    page.locator("textarea#answer").fill("fair enough")
    shown = page.evaluate(TAP_AS_THE_NEXT_QUESTION_APPEARS)
    page.wait_for_function("() => !document.body.hasAttribute('data-settling')")
    page.wait_for_timeout(300)  # time for a POST the tap might have started (none may)
    assert submission(page) == shown  # still the same question: the tap answered nothing
    with rt.transaction() as s:
        assert len(list(store.live_answers(s, store.get_round(s, open_round)))) == 1
    # A moment later a tap answers as usual.
    press(page, page.locator("button[name=choice]").first)
    with rt.transaction() as s:
        assert len(list(store.live_answers(s, store.get_round(s, open_round)))) == 2
    context.close()


def test_answers_go_by_fetch_one_request_each_under_the_real_csp(rt, open_round, base_url, browser):
    context = browser.new_context(**PHONE)  # CSP enforced: connect-src must allow the fetch
    page = context.new_page()
    console, navigations, posts = [], [], []
    page.on("console", lambda msg: console.append(msg.text))
    # Page loads, not history entries: each page shown in place is a step in the history.
    page.on("load", lambda p: navigations.append(p.url))
    page.on("request", lambda r: posts.append(r.resource_type) if r.method == "POST" else None)
    page.goto(f"{base_url}/r/{open_round}/child")
    navigations.clear()
    press(page, button(page, TEXTS.get("consent_yes", "child")))
    assert page.evaluate("document.activeElement.tagName") == "H1"  # focus moved to the question
    page.locator("textarea#answer").fill("fair enough")
    press(page, button(page, "Send"))
    before = submission(page)
    # A double tap sends the answer once. Both taps in one task of the page, so the second
    # comes while the first is on its way however fast the server answers (a real
    # dblclick here raced a local server that answered before the second click).
    page.locator("button[name=choice]").first.evaluate("b => { b.click(); b.click(); }")
    wait_for_next_page(page, before)
    assert navigations == [] and posts == ["fetch"] * 3
    assert not [m for m in console if "Content Security Policy" in m or "Error" in m]
    with rt.transaction() as s:
        assert len(list(store.live_answers(s, store.get_round(s, open_round)))) == 2
    context.close()


@pytest.mark.parametrize("width", [320, 375])
def test_question_page_fits_a_small_phone_with_big_targets(
    rt, open_round, base_url, browser, width
):
    context = browser.new_context(
        viewport={"width": width, "height": 640}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    console = []
    page.on("console", lambda msg: console.append(msg.text))
    page.goto(f"{base_url}/r/{open_round}/child")
    press(page, button(page, TEXTS.get("consent_yes", "child")))
    page.locator("textarea#answer").fill("ok")
    press(page, button(page, "Send"))  # now a yes/no question: big buttons
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scroll
    assert page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)") >= 18
    for each in page.locator("button").all():
        box = each.bounding_box()
        assert box["height"] >= 44 and box["width"] >= 44, each.inner_text()
    page.keyboard.press("Tab")  # from the question (focused when the page came) to a choice
    assert page.evaluate("document.activeElement.name") == "choice"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"  # a visible focus ring
    assert not [m for m in console if "Content Security Policy" in m]
    context.close()
