"""Downloading every export from the workbench in real headless Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.export.conftest import NEVER, build_round
from tests.web.test_admin_browser_review import click, sign_in
from tests.web.test_admin_exports import text_of
from tests.web.test_browser import axe_problems, base_url  # noqa: F401  (a fixture)

pytestmark = pytest.mark.browser


def test_lead_downloads_each_export(rt, staff, base_url, browser):  # noqa: F811
    code = build_round(rt)
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, bypass_csp=True, accept_downloads=True
    )
    page = context.new_page()
    try:
        sign_in(page, base_url, staff["lead"])
        click(page, page.get_by_role("link", name="Export", exact=True))
        if f"/admin/rounds/{code}/export" not in page.url:  # more than one round: pick it
            click(page, page.get_by_role("link", name="Plan 2027/28 consultation"))
        assert page.get_by_role("heading", name="Export the plan's tables").is_visible()
        problems = axe_problems(page)
        for fmt, label in (("docx", "Word"), ("xlsx", "Excel"), ("csv", "CSV"), ("md", "Markdown")):
            with page.expect_download() as info:
                page.get_by_role("link", name=f"{label} (.{fmt})").click()
            download = info.value
            assert download.suggested_filename.endswith(f".{fmt}")
            data = Path(download.path()).read_bytes()
            text = text_of(fmt, data)
            assert "They should listen before they shout." in text
            assert not [bad for bad in NEVER if bad in text]
        assert problems == []
    finally:
        context.close()
