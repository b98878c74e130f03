"""Importing a Microsoft Forms export in real headless Chromium, JavaScript off and on: the
upload, the mapping page (checked by axe-core: no serious or critical problem), the preview
and the confirmation."""

# ruff: noqa: F811  (pytest fixtures imported by name, then taken as arguments)
from __future__ import annotations

import pytest

from surveys.storage.models import Answer, LocalQuestion
from tests.test_import_mapping import FORMS_HEADER, FORMS_ROWS, MEDWAY
from tests.test_importer import csv_bytes
from tests.web.conftest import count
from tests.web.test_admin_browser_review import click, sign_in
from tests.web.test_browser import axe_problems, base_url  # noqa: F401  (a fixture)

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("javascript", [False, True], ids=["js-off", "js-on"])
def test_lead_matches_a_forms_export_and_imports_it(
    rt, staff, open_round, base_url, browser, tmp_path, javascript
):
    path = tmp_path / "Form1.csv"
    path.write_bytes(csv_bytes(FORMS_ROWS, header=FORMS_HEADER))
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, java_script_enabled=javascript, bypass_csp=True
    )
    page = context.new_page()
    try:
        sign_in(page, base_url, staff["lead"])
        page.goto(f"{base_url}/admin/rounds/{open_round}/import")
        page.get_by_label("File").set_input_files(str(path))
        click(page, page.get_by_role("button", name="Check the file"))
        assert page.get_by_role("heading", name="Match the questions").is_visible()
        assert page.get_by_text("Columns of personal details were dropped").is_visible()
        problems = axe_problems(page) if javascript else []
        page.get_by_label("Who answered?").select_option("child")
        # Each select is named by its column and its question (aria-labelledby).
        medway = page.get_by_role("combobox", name=f"Goes to {MEDWAY}")
        assert medway.input_value() == "q:policing.opinion"  # the closest, chosen for the lead
        medway.select_option("new")
        under = page.get_by_role("combobox", name=f"Priority for a new question {MEDWAY}")
        assert under.input_value() == "policing"
        click(page, page.get_by_role("button", name="Check the import"))
        assert page.get_by_role("heading", name="Check the import").is_visible()
        assert page.get_by_role("table", name="New local questions the import will create")
        assert count(rt, Answer) == 0
        if javascript:
            problems += axe_problems(page)
        click(page, page.get_by_role("button", name="Import 6 answers"))
        assert page.get_by_role("heading", name="Answers imported").is_visible()
        assert count(rt, Answer) == 6 and count(rt, LocalQuestion) >= 1
        assert problems == []
    finally:
        context.close()
