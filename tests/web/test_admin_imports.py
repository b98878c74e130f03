"""Import in the workbench: upload, preview, confirm; lead only; CSRF on every POST; bad files
refused with clear messages and nothing stored. On SQLite and PostgreSQL."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pytest

from surveys.services import importer
from surveys.storage.models import Answer, Respondent, SafeguardingCase
from tests.test_importer import DISCLOSURE, GOOD_ROWS, csv_bytes, xlsx_bytes
from tests.web.conftest import count, hidden_fields


def page_text(res) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", res.get_data(as_text=True))).split())


def token_of(client, url: str) -> str:
    return hidden_fields(client.get(url).get_data(as_text=True))["csrf_token"]


def multipart(fields: dict[str, str], files: dict[str, tuple[bytes, str]]) -> tuple[bytes, str]:
    """Encode a form by hand: the test client spools big bodies to a file it never closes."""
    boundary = "yjv-test-boundary-7d2f1c"
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            f"{value}\r\n".encode()
        )
    for name, (data, filename) in files.items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        )
        parts += [head.encode(), data, b"\r\n"]
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def upload(client, code, data: bytes, name="answers.csv", *, csrf=True, encoding=""):
    url = f"/admin/rounds/{code}/import"
    fields = {"encoding": encoding}
    if csrf:
        fields["csrf_token"] = token_of(client, url)
    body, content_type = multipart(fields, {"file": (data, name)})
    return client.post(url, data=body, content_type=content_type)


def confirm(client, code, token, action="import", *, csrf=True):
    url = f"/admin/rounds/{code}/import/confirm"
    form = {"token": token, "action": action}
    if csrf:
        form["csrf_token"] = token_of(client, f"/admin/rounds/{code}/import")
    return client.post(url, data=form)


class _Selects(HTMLParser):
    """Read a form's selects as the browser would send them (the selected option)."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self.options: dict[str, list[str]] = {}
        self._name: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "select":
            self._name = a.get("name")
            self.options[self._name] = []
        elif tag == "option" and self._name is not None:
            self.options[self._name].append(a.get("value", ""))
            if "selected" in a or self._name not in self.values:
                self.values[self._name] = a.get("value", "")
                if "selected" in a:
                    self.values[self._name + "\x00chosen"] = "1"

    def handle_endtag(self, tag):
        if tag == "select":
            self._name = None


def mapping_form(res) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Return the mapping page's fields as it would submit them, and each select's options."""
    parser = _Selects()
    html_text = res.get_data(as_text=True)
    parser.feed(html_text)
    values = {k: v for k, v in parser.values.items() if "\x00" not in k}
    return {**hidden_fields(html_text), **values}, parser.options


def submit_mapping(client, code, res, **changes):
    """Send the mapping page back with its defaults, changed as given."""
    fields, _ = mapping_form(res)
    fields.update(changes)
    return client.post(f"/admin/rounds/{code}/import/map", data=fields)


def pending_token(res) -> str:
    return hidden_fields(res.get_data(as_text=True))["token"]


def pending_files(app) -> list:
    folder = app.config["YJV_SETTINGS"].instance_path / "imports"
    return sorted(folder.glob("*")) if folder.exists() else []


def test_lead_uploads_previews_and_confirms(rt, app, as_role, open_round):
    lead = as_role("lead")
    assert "Import" in page_text(lead.get("/admin/import"))
    res = upload(lead, open_round, csv_bytes(GOOD_ROWS))
    assert res.status_code == 200
    text = page_text(res)
    assert "6 answers from 4 respondents" in text and "Import 6 answers" in text
    assert count(rt, Answer) == 0  # the preview stores nothing
    assert len(pending_files(app)) == 2
    done = confirm(lead, open_round, pending_token(res))
    assert done.status_code == 200
    text = page_text(done)
    assert "6 answers from answers.csv are now in Test round" in text
    assert "1 answer may be a disclosure of harm" in text
    assert count(rt, Answer) == 6 and count(rt, Respondent) == 4
    assert count(rt, SafeguardingCase) == 1
    assert pending_files(app) == []  # the upload is deleted once stored


def test_confirming_twice_stores_once(rt, as_role, open_round):
    lead = as_role("lead")
    token = pending_token(upload(lead, open_round, csv_bytes(GOOD_ROWS)))
    assert confirm(lead, open_round, token).status_code == 200
    again = confirm(lead, open_round, token)
    assert again.status_code == 410 and "expired or was already imported" in page_text(again)
    assert count(rt, Answer) == 6


def test_uploading_the_same_file_again_stores_nothing_twice(rt, as_role, open_round):
    lead = as_role("lead")
    for _ in range(2):
        confirm(lead, open_round, pending_token(upload(lead, open_round, csv_bytes(GOOD_ROWS))))
    assert count(rt, Answer) == 6


def test_excel_upload(rt, as_role, open_round):
    lead = as_role("lead")
    res = upload(lead, open_round, xlsx_bytes(GOOD_ROWS), "answers.xlsx")
    assert res.status_code == 200 and "XLSX" in page_text(res)
    confirm(lead, open_round, pending_token(res))
    assert count(rt, Answer) == 6


def test_cancel_deletes_the_upload(rt, app, as_role, open_round):
    lead = as_role("lead")
    token = pending_token(upload(lead, open_round, csv_bytes(GOOD_ROWS)))
    res = confirm(lead, open_round, token, action="cancel")
    assert res.status_code == 303 and pending_files(app) == []
    assert confirm(lead, open_round, token).status_code == 410
    assert count(rt, Answer) == 0


def test_rows_that_do_not_fit_are_listed_and_nothing_can_be_imported(rt, app, as_role, open_round):
    rows = [
        *GOOD_ROWS,
        ["alien", "policing", "policing.opinion", "x", ""],
        ["child", "Space", "policing.opinion", "x", ""],
    ]
    res = upload(as_role("lead"), open_round, csv_bytes(rows))
    assert res.status_code == 422
    text = page_text(res)
    assert "2 problems to fix" in text
    assert "8 audience unknown audience 'alien'" in text
    assert "9 priority unknown priority 'Space'" in text
    assert "token" not in hidden_fields(res.get_data(as_text=True))
    assert pending_files(app) == [] and count(rt, Answer) == 0


def test_an_unknown_wording_leads_to_the_mapping_page_and_its_problems_after(
    rt, app, as_role, open_round
):
    rows = [*GOOD_ROWS, ["alien", "policing", "policing.opinion", "x", ""]]
    rows.append(["child", "policing", "What do you make of the new custody suite?", "x", ""])
    lead = as_role("lead")
    res = upload(lead, open_round, csv_bytes(rows))
    assert res.status_code == 200 and "Match the questions" in page_text(res)
    mapped = submit_mapping(lead, open_round, res)
    assert mapped.status_code == 422
    text = page_text(mapped)
    assert "1 problem to fix" in text and "8 audience unknown audience 'alien'" in text
    assert "Change how the questions are matched" in text
    assert count(rt, Answer) == 0


def test_xlsx_with_formulas_is_refused_row_by_row(rt, as_role, open_round):
    rows = [["child", "policing", "policing.opinion", "=1+1", "a"]]
    res = upload(as_role("lead"), open_round, xlsx_bytes(rows), "sums.xlsx")
    assert res.status_code == 422
    assert "the answer cell is a formula ('=1+1')" in page_text(res)
    assert count(rt, Answer) == 0


@pytest.mark.parametrize(
    "data, name, message",
    [
        (csv_bytes(GOOD_ROWS, encoding="utf-16-le"), "a.csv", "UTF-16 without a marker"),
        (
            csv_bytes([["child", "x"]], header=["audience", "answer"]),
            "a.csv",
            "Missing column: question",
        ),
        (b"", "empty.csv", "The file is empty"),
        (b"\xd0\xcf\x11\xe0" + b"\0" * 100, "old.xls", "old Excel file (.xls)"),
    ],
)
def test_bad_files_get_a_clear_message(rt, as_role, open_round, data, name, message):
    res = upload(as_role("lead"), open_round, data, name)
    assert res.status_code == 422
    assert message in page_text(res)
    assert count(rt, Answer) == 0


def test_chosen_encoding_is_used(rt, as_role, open_round):
    data = csv_bytes(
        [["parent", "policing", "policing.opinion", "£40 café", ""]], encoding="cp1252"
    )
    lead = as_role("lead")
    wrong = upload(lead, open_round, data, encoding="utf-8")
    assert wrong.status_code == 422 and "cannot be read as UTF-8" in page_text(wrong)
    right = upload(lead, open_round, data, encoding="cp1252")
    assert right.status_code == 200 and "£40 café" in page_text(right)


def test_a_50_mb_upload_is_refused_with_a_clear_message(rt, app, as_role, open_round):
    res = upload(as_role("lead"), open_round, b"x" * importer.MAX_IMPORT_BYTES)
    assert res.status_code == 413
    text = page_text(res)
    assert "too big to import: files must be smaller than 50 MB" in text
    assert pending_files(app) == [] and count(rt, Answer) == 0


def test_a_much_bigger_upload_is_refused_before_it_is_read(rt, as_role, open_round):
    res = upload(as_role("lead"), open_round, b"x" * (importer.MAX_IMPORT_BYTES + 2 * 1024 * 1024))
    assert res.status_code == 413
    assert "smaller than 50 MB" in page_text(res)


def test_no_file_chosen(as_role, open_round):
    lead = as_role("lead")
    url = f"/admin/rounds/{open_round}/import"
    body, content_type = multipart({"csrf_token": token_of(lead, url)}, {})
    res = lead.post(url, data=body, content_type=content_type)
    assert res.status_code == 400 and "Choose a CSV or Excel" in page_text(res)


def test_upload_without_csrf_token_is_refused(rt, app, as_role, open_round):
    res = upload(as_role("lead"), open_round, csv_bytes(GOOD_ROWS), csrf=False)
    assert res.status_code == 400 and pending_files(app) == []


def test_confirm_without_csrf_token_is_refused(rt, as_role, open_round):
    lead = as_role("lead")
    token = pending_token(upload(lead, open_round, csv_bytes(GOOD_ROWS)))
    assert confirm(lead, open_round, token, csrf=False).status_code == 400
    assert count(rt, Answer) == 0


def test_a_preview_belongs_to_its_round_and_its_lead(rt, app, as_role, open_round, staff):
    from surveys.services.accounts import upsert_user
    from surveys.storage import store
    from tests.web.conftest import STAFF_PASSWORD, sign_in

    lead = as_role("lead")
    token = pending_token(upload(lead, open_round, csv_bytes(GOOD_ROWS)))
    with rt.transaction() as s:
        other = store.open_round(
            s,
            rt.catalogue,
            title="Other",
            priorities=["policing"],
            audiences=["child", "parent", "staff"],
        ).code
        upsert_user(s, "lead2@yjs.example.org", STAFF_PASSWORD, role="lead")
    assert confirm(lead, other, token).status_code == 410
    second = app.test_client()
    sign_in(second, "lead2@yjs.example.org")
    assert confirm(second, open_round, token).status_code == 410
    assert count(rt, Answer) == 0
    assert confirm(lead, open_round, token).status_code == 200


@pytest.mark.parametrize("role", ["reviewer", "safeguarding", "viewer"])
def test_only_the_lead_can_import(rt, as_role, open_round, role):
    client = as_role(role)
    assert client.get("/admin/import").status_code == 403
    assert client.get(f"/admin/rounds/{open_round}/import").status_code == 403
    token = hidden_fields(client.get("/admin/login", follow_redirects=True).get_data(as_text=True))[
        "csrf_token"
    ]
    body, content_type = multipart({"csrf_token": token}, {"file": (csv_bytes(GOOD_ROWS), "a.csv")})
    res = client.post(f"/admin/rounds/{open_round}/import", data=body, content_type=content_type)
    assert res.status_code == 403
    assert count(rt, Answer) == 0


def test_unknown_round_is_404(as_role):
    assert as_role("lead").get("/admin/rounds/NOPE42/import").status_code == 404


def test_import_pages_have_no_inline_script_or_style(as_role, open_round):
    lead = as_role("lead")
    pages = [
        lead.get("/admin/import"),
        lead.get(f"/admin/rounds/{open_round}/import"),
        upload(lead, open_round, csv_bytes(GOOD_ROWS)),
    ]
    for res in pages:
        body = res.get_data(as_text=True)
        assert "<script" not in body and "style=" not in body and "<style" not in body


def test_the_disclosure_is_never_logged(rt, as_role, open_round, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    lead = as_role("lead")
    confirm(lead, open_round, pending_token(upload(lead, open_round, csv_bytes(GOOD_ROWS))))
    assert DISCLOSURE not in caplog.text and "John Smith" not in caplog.text


# ---- matching the questions of any survey -------------------------------------------------------
def test_a_forms_export_is_matched_previewed_and_imported_with_its_new_questions(
    rt, app, as_role, open_round
):
    from surveys.storage.models import LocalQuestion
    from tests.test_import_mapping import FORMS_HEADER, FORMS_ROWS, MEDWAY

    lead = as_role("lead")
    res = upload(lead, open_round, csv_bytes(FORMS_ROWS, header=FORMS_HEADER), "Form1.csv")
    assert res.status_code == 200
    text = page_text(res)
    assert "Match the questions" in text and "a column per question" in text
    assert "Columns of personal details were dropped, never imported: 'Email', 'Name'" in text
    assert "kai.b" not in text and "Brennan" not in text
    fields, options = mapping_form(res)
    medway = next(k for k in fields if k.startswith("to-") and "q:policing.opinion" in options[k])
    # The closest question is offered first after new/skip, and chosen for the lead.
    assert options[medway][:3] == ["new", "skip", "q:policing.opinion"]
    assert fields[medway] == "q:policing.opinion"
    assert fields["audience"] == ""  # the file has no audience column: the lead must say
    no_audience = submit_mapping(lead, open_round, res)
    assert no_audience.status_code == 422 and "no audience column" in page_text(no_audience)
    school = next(
        k
        for k in fields
        if k.startswith("to-")
        and "school" in fields[k] + "".join(options[k])
        and k != medway
        and fields[k] != "q:remands.ever"
    )
    # Choose young people, and new questions for the Medway and school wordings.
    res2 = submit_mapping(lead, open_round, res, audience="child", **{medway: "new", school: "new"})
    assert res2.status_code == 200
    text = page_text(res2)
    assert "2 new local questions" in text and MEDWAY in text
    assert "6 answers from 3 respondents" in text
    assert count(rt, Answer) == 0 and count(rt, LocalQuestion) == 0  # nothing yet
    done = confirm(lead, open_round, pending_token(res2))
    assert done.status_code == 200, page_text(done)
    assert count(rt, Answer) == 6 and count(rt, LocalQuestion) == 2
    assert pending_files(app) == []


def test_mapping_to_a_question_of_another_audience_is_refused_on_the_preview(
    rt, as_role, open_round
):
    from surveys.storage.models import LocalQuestion
    from tests.test_import_mapping import MEDWAY

    lead = as_role("lead")
    res = upload(lead, open_round, csv_bytes([["parent", "policing", MEDWAY, "fair", ""]]))
    fields, _ = mapping_form(res)
    key = next(k for k in fields if k.startswith("to-"))
    mapped = submit_mapping(lead, open_round, res, **{key: "q:general.training"})
    assert mapped.status_code == 422
    assert "is not asked of parents or carers" in page_text(mapped)
    assert "Import 1 answers" not in page_text(mapped)
    assert count(rt, Answer) == 0 and count(rt, LocalQuestion) == 0


def test_a_huge_workbook_upload_is_refused_with_a_clear_message(rt, app, as_role, open_round):
    from tests.test_import_mapping import million_columns

    res = upload(as_role("lead"), open_round, million_columns(), "huge.xlsx")
    assert res.status_code == 422 and "zip bomb" in page_text(res)
    assert pending_files(app) == [] and count(rt, Answer) == 0


def test_an_expired_mapping_token_is_gone(as_role, open_round):
    assert as_role("lead").get(f"/admin/rounds/{open_round}/import/map?token=x").status_code == 410


def test_the_mapping_page_has_no_inline_script_or_style(as_role, open_round):
    from tests.test_import_mapping import FORMS_HEADER, FORMS_ROWS

    lead = as_role("lead")
    res = upload(lead, open_round, csv_bytes(FORMS_ROWS, header=FORMS_HEADER), "Form1.csv")
    body = res.get_data(as_text=True)
    assert "<script" not in body and "style=" not in body and "<style" not in body
    assert body.count("<select") == 1 + 2 * 3  # who answered, then two per question


def test_the_preview_links_back_to_the_mapping_with_the_choices_kept(rt, as_role, open_round):
    from tests.test_import_mapping import MEDWAY

    lead = as_role("lead")
    res = upload(lead, open_round, csv_bytes([["child", "policing", MEDWAY, "fair", "a"]]))
    fields, _ = mapping_form(res)
    key = next(k for k in fields if k.startswith("to-"))
    preview = submit_mapping(lead, open_round, res, **{key: "skip"})
    assert preview.status_code == 422  # nothing left to import
    assert "Every question is left out" in page_text(preview)
    link = re.search(r'href="([^"]*/import/map\?token=[^"]+)"', preview.get_data(as_text=True))
    again = lead.get(html.unescape(link.group(1)))
    assert again.status_code == 200
    assert mapping_form(again)[0][key] == "skip"  # the lead's choice, not the default
    assert count(rt, Answer) == 0
