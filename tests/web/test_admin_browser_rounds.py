"""The lead signs in, creates and opens a round and prints a poster, in real headless Chromium.

Debian's headless Chromium (see ``tests/web/conftest.py``) driven by Playwright; axe-core
from ``node_modules``. Every admin page this area adds is checked by axe (no serious or
critical violations) and loaded once more under the real CSP to prove it needs no inline
script or style. Skipped locally when Chromium or axe is missing; under CI=true they must
exist.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from surveys.services import accounts
from surveys.storage import store
from tests.web.conftest import STAFF_PASSWORD
from tests.web.test_browser import axe_problems, base_url  # noqa: F401  (a fixture)

pytestmark = pytest.mark.browser

DESKTOP = {"viewport": {"width": 1280, "height": 900}}


def click(page, locator) -> None:
    """Click a link or button and wait for the page it leads to."""
    with page.expect_navigation():
        locator.click()


def sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/admin/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    click(page, page.get_by_role("button", name="Sign in"))


def pdf_pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?!s)", pdf))


def test_lead_signs_in_creates_and_opens_a_round_and_prints_a_poster(rt, staff, base_url, browser):  # noqa: F811
    context = browser.new_context(**DESKTOP, bypass_csp=True)  # bypass only to inject axe
    page = context.new_page()
    problems: dict[str, list[str]] = {}
    visited: list[str] = []

    def check(name: str) -> None:
        visited.append(page.url)
        problems[name] = axe_problems(page)

    page.goto(f"{base_url}/admin/login")
    assert "cannot sign in to the account for 15 minutes" in page.locator("main").inner_text()
    check("login")
    sign_in(page, base_url, staff["lead"])
    assert page.url == f"{base_url}/admin/"

    click(page, page.get_by_role("link", name="New round"))
    check("new round")
    page.get_by_label("Title").fill("Have your say 2027")
    page.get_by_label("Policing").check()
    page.get_by_label("Education").check()
    page.get_by_label("Partners and board members").uncheck()
    closes = date.today() + timedelta(days=28)
    page.get_by_label("Closing date (optional)").fill(closes.isoformat())
    page.get_by_label("Save as a draft").check()
    click(page, page.get_by_role("button", name="Create round"))
    assert "created as a draft" in page.locator("main").inner_text()
    check("round page (draft)")
    code = re.search(r"/admin/rounds/([A-Z0-9]+)$", page.url).group(1)

    click(page, page.get_by_role("button", name="Open round"))
    main = page.locator("main").inner_text()
    assert f"Round {code} is open" in main and "taking answers now" in main
    check("round page (open)")
    with rt.transaction() as s:
        rnd = store.get_round(s, code)
        assert (rnd.status, rnd.priorities, rnd.audiences, rnd.closes_on) == (
            "open",
            ["policing", "education"],
            ["child", "parent", "staff"],
            closes,
        )

    click(page, page.get_by_role("link", name="Links, QR code and text for young people"))
    assert page.locator("main svg[role=img]").count() == 1
    assert f"/r/{code}/child" in page.locator("#sms").input_value()
    check("kit")

    click(page, page.get_by_role("link", name="Open the A4 poster for young people"))
    assert page.locator("h1").inner_text() == "Have your say"
    check("poster")
    page.emulate_media(media="print")
    assert page.locator("nav.screen-only").is_hidden()
    assert pdf_pages(page.pdf(format="A4", print_background=True)) == 1
    page.emulate_media(media="screen")

    page.goto(f"{base_url}/admin/users")
    check("users")
    click(page, page.get_by_role("link", name="Add a user"))
    check("add user")
    page.get_by_label("Email").fill("new.reviewer@yjs.example.org")
    page.get_by_label("Role").select_option("reviewer")
    page.get_by_label("First password").fill("kettle orbit lantern pebble")
    click(page, page.get_by_role("button", name="Add user"))
    assert "Account added" in page.locator("main").inner_text()
    with rt.transaction() as s:
        assert accounts.find_user(s, "new.reviewer@yjs.example.org").role == "reviewer"
    click(page, page.get_by_role("link", name="Manage new.reviewer@yjs.example.org"))
    check("manage user")
    page.goto(f"{base_url}/admin/account/password")
    check("own password")
    context.close()

    # The same pages under the real CSP: nothing inline is blocked.
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
