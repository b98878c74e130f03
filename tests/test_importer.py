"""Importing answers from CSV and Excel: checked first, stored all or nothing, analysed like
live answers, never twice. Pure preview tests need no database; commits run on SQLite and
PostgreSQL."""

from __future__ import annotations

import io
import warnings

import click
import openpyxl
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from surveys.services import importer, safeguarding
from surveys.services.importer import ImportFileError, ImportRefused
from surveys.storage import store
from surveys.storage.models import Answer, Respondent, SafeguardingCase
from tests.conftest import TEST_SECRET
from yjvoice import cli_import

ROUND = {
    "priorities": ["policing", "remands", "education"],
    "audiences": ["child", "parent", "staff", "partner"],
}
HEADER = ["audience", "priority", "question", "answer", "respondent"]
DISCLOSURE = "my dad hits me when hes drunk"


def csv_bytes(rows, header=HEADER, encoding="utf-8", delimiter=","):
    lines = [delimiter.join(header)] + [delimiter.join(_quote(c) for c in r) for r in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def _quote(cell: str) -> str:
    if any(ch in cell for ch in ',;"\n'):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def xlsx_bytes(rows, header=HEADER, *, sheets=None) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Answers"
    ws.append(header)
    for r in rows:
        ws.append(r)
    for name, extra in (sheets or {}).items():
        other = wb.create_sheet(name)
        for r in extra:
            other.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def check(data, catalogue, filename="answers.csv", **kw):
    return importer.preview(data, catalogue, filename=filename, **{**ROUND, **kw})


GOOD_ROWS = [
    ["child", "policing", "policing.opinion", "They was fair with me. Ask for John Smith.", "Q1"],
    ["Young person", "Policing", "What do you think of the police round here?", "rubbish", "Q2"],
    ["child", "policing", "policing.stop_search", "Yes", "Q1"],
    ["child", "Education", "education.experience", DISCLOSURE, "Q1"],
    ["parent", "policing", "policing.opinion", "They treat him like a criminal", ""],
    ["staff", "", "policing.talk", "More youth workers at the station", ""],
]


# ---- the preview: pure ------------------------------------------------------------------------
def test_clean_csv_previews_every_row_matched_to_the_round(catalogue):
    p = check(csv_bytes(GOOD_ROWS), catalogue)
    assert p.ok and p.problems == ()
    assert [r.row for r in p.rows] == [2, 3, 4, 5, 6, 7]
    first, by_words, yes = p.rows[0], p.rows[1], p.rows[2]
    assert (first.audience, first.priority, first.question_id) == (
        "child",
        "policing",
        "policing.opinion",
    )
    assert by_words.question_id == "policing.opinion" and by_words.audience == "child"
    assert (yes.choice, yes.text) == ("yes", "Yes")
    assert p.rows[5].priority == "policing"  # a blank priority is taken from the question
    assert p.respondent_count == 4  # Q1, Q2 and two unlabelled rows
    assert p.by_audience() == {"child": 4, "parent": 1, "staff": 1}
    assert p.encoding == "utf-8" and p.kind == "csv"


def test_rows_that_do_not_fit_are_reported_with_row_numbers(catalogue):
    rows = [
        ["child", "policing", "policing.opinion", "fine", ""],
        ["alien", "policing", "policing.opinion", "x", ""],
        ["child", "spaceflight", "policing.opinion", "x", ""],
        ["child", "policing", "policing.nothing_like_this", "x", ""],
        ["child", "diversion", "diversion.second_chance", "yes", ""],
        ["child", "education", "policing.opinion", "x", ""],
        ["child", "policing", "policing.stop_search", "maybe", ""],
        ["partner", "policing", "policing.stop_search", "Yes", ""],
        ["child", "policing", "", "x", ""],
    ]
    p = check(csv_bytes(rows), catalogue)
    assert not p.ok
    by_row = {pr.row: pr for pr in p.problems}
    assert set(by_row) == {3, 4, 5, 6, 7, 8, 9, 10}
    assert "unknown audience 'alien'" in by_row[3].message and by_row[3].column == "audience"
    assert "unknown priority 'spaceflight'" in by_row[4].message
    assert "unknown question 'policing.nothing_like_this'" in by_row[5].message
    assert "'Diversion' is not part of this round" in by_row[6].message
    assert "belongs to 'Policing', not 'Education'" in by_row[7].message
    assert "is not one of: Yes, No" in by_row[8].message
    assert "not asked of partners" in by_row[9].message
    assert "question is empty" in by_row[10].message
    assert str(p.problems[0]).startswith("Row 3: ")


def test_audience_outside_the_round_is_a_problem(catalogue):
    p = check(
        csv_bytes([["staff", "policing", "policing.opinion", "x", ""]]),
        catalogue,
        audiences=["child", "parent"],
    )
    assert "audience 'staff' is not part of this round" in p.problems[0].message


def test_rating_and_choice_answers_accept_key_or_label(catalogue):
    rows = [
        ["child", "", "general.rating", "very good", "a"],
        ["parent", "general", "general.rating", "Poor", "b"],
        ["child", "", "general.rating", "ok", "c"],
    ]
    p = check(csv_bytes(rows), catalogue)
    assert p.ok, p.problems
    assert [(r.choice, r.text) for r in p.rows] == [
        ("very_good", "Very good"),
        ("poor", "Poor"),
        ("ok", "OK"),
    ]


def test_blank_answers_are_skipped_and_listed(catalogue):
    rows = [
        ["child", "policing", "policing.opinion", "", "a"],
        ["child", "policing", "policing.talk", "nicer", "a"],
        ["", "", "", "", ""],
    ]
    p = check(csv_bytes(rows), catalogue)
    assert p.ok and p.skipped == (2,) and len(p.rows) == 1


def test_only_blank_answers_is_nothing_to_import(catalogue):
    p = check(csv_bytes([["child", "policing", "policing.opinion", "", ""]]), catalogue)
    assert not p.ok and "nothing to import" in p.problems[0].message


def test_answer_longer_than_the_question_allows_is_a_problem(catalogue):
    p = check(csv_bytes([["child", "policing", "policing.opinion", "x" * 2001, ""]]), catalogue)
    assert "2,001 characters long" in p.problems[0].message


def test_one_label_is_one_person(catalogue):
    rows = [
        ["child", "policing", "policing.opinion", "a", "P7"],
        ["parent", "policing", "policing.talk", "b", "p7"],
        ["child", "policing", "policing.opinion", "c", " P7 "],
    ]
    p = check(csv_bytes(rows), catalogue)
    messages = {pr.row: pr.message for pr in p.problems}
    assert "is a child in row 2 but a parent here" in messages[3]
    assert "already answered this question in row 2" in messages[4]


@pytest.mark.parametrize(
    "header",
    [
        ["Audience", "Priority area", "Question text", "Response"],
        ["AUDIENCE", "priority", "question_id", "Answer text", "Respondent label"],
    ],
)
def test_column_names_are_matched_loosely(catalogue, header):
    row = ["child", "policing", "policing.opinion", "ok"] + ([""] * (len(header) - 4))
    assert check(csv_bytes([row], header=header), catalogue).ok


def test_missing_columns_are_named(catalogue):
    data = csv_bytes([["child", "policing", "x"]], header=["audience", "priority", "answer"])
    with pytest.raises(ImportFileError, match="Missing column: question") as exc:
        check(data, catalogue)
    assert "'audience', 'priority', 'answer'" in str(exc.value)


def test_two_columns_meaning_the_same_are_refused(catalogue):
    data = csv_bytes([["child"] * 5], header=["audience", "who", "priority", "question", "answer"])
    with pytest.raises(ImportFileError, match="both mean 'audience'"):
        check(data, catalogue)


def test_unrecognised_columns_are_noted_not_imported(catalogue):
    data = csv_bytes(
        [["child", "policing", "policing.opinion", "ok", "Tuesday"]],
        header=["audience", "priority", "question", "answer", "Start time"],
    )
    p = check(data, catalogue)
    assert p.ok and any("'Start time'" in n for n in p.notes)


@pytest.mark.parametrize("data", [b"", b"   \r\n  \n"])
def test_empty_file_is_refused(catalogue, data):
    with pytest.raises(ImportFileError, match="empty"):
        check(data, catalogue)


def test_header_only_file_has_nothing_to_import(catalogue):
    p = check(csv_bytes([]), catalogue)
    assert not p.ok and "header row only" in p.problems[0].message


def test_windows_1252_csv_is_read_with_a_note(catalogue):
    data = csv_bytes(
        [["parent", "policing", "policing.opinion", "It cost me £40 – café", ""]], encoding="cp1252"
    )
    p = check(data, catalogue)
    assert p.ok and p.encoding == "cp1252"
    assert p.rows[0].text == "It cost me £40 – café"
    assert any("not UTF-8" in n for n in p.notes)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_csv_with_a_byte_order_mark_is_read(catalogue, encoding):
    data = csv_bytes(
        [["child", "policing", "policing.opinion", "Zoë said ok", ""]], encoding=encoding
    )
    p = check(data, catalogue)
    assert p.ok and p.rows[0].text == "Zoë said ok" and not p.notes


def test_utf16_without_a_marker_is_refused_clearly(catalogue):
    data = csv_bytes([["child", "policing", "policing.opinion", "ok", ""]], encoding="utf-16-le")
    with pytest.raises(ImportFileError, match="UTF-16 without a marker") as exc:
        check(data, catalogue)
    assert "CSV UTF-8" in str(exc.value)


def test_mixed_encodings_name_the_first_bad_line(catalogue):
    good = csv_bytes([["child", "policing", "policing.opinion", "Zoë", ""]])
    bad = "child,policing,policing.talk,café\r\n".encode("cp1252")
    with pytest.raises(ImportFileError, match="until line 3"):
        check(good + bad, catalogue)


def test_chosen_encoding_that_does_not_fit_is_refused(catalogue):
    data = csv_bytes([["child", "policing", "policing.opinion", "café", ""]], encoding="cp1252")
    with pytest.raises(ImportFileError, match="Line 2 of the file cannot be read as UTF-8"):
        check(data, catalogue, encoding="utf-8")
    assert check(data, catalogue, encoding="cp1252").rows[0].text == "café"


def test_binary_file_is_not_taken_for_a_csv(catalogue):
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    with pytest.raises(ImportFileError):
        check(png, catalogue, filename="photo.csv")


def test_semicolon_separated_csv_is_read(catalogue):
    data = csv_bytes(
        [["child", "policing", "policing.opinion", "fine, really"]],
        header=HEADER[:4],
        delimiter=";",
    )
    p = check(data, catalogue)
    assert p.ok and p.rows[0].text == "fine, really"


UNCLOSED = {
    # The quote never closes: the rest of the file would be one cell.
    "at the end": 'child,policing,policing.opinion,"they were fair,Q1\r\n'
    "child,policing,policing.talk,more youth workers,Q2\r\n",
    # It closes at the end of a later row: that row would vanish into this one's answer.
    "in a later row": 'child,policing,policing.opinion,"they were fair,Q1\r\n'
    'child,policing,policing.talk,more youth workers",Q2\r\n'
    "parent,policing,policing.opinion,ok,Q3\r\n",
    # It closes where a later row opens a quote of its own.
    "at a later quote": 'child,policing,policing.opinion,"they were fair,Q1\r\n'
    'child,policing,policing.talk,"more youth workers",Q2\r\n',
}


@pytest.mark.parametrize("where", list(UNCLOSED))
def test_an_unclosed_quote_is_refused_with_its_row_number(catalogue, where):
    data = (",".join(HEADER) + "\r\n" + UNCLOSED[where]).encode()
    with pytest.raises(ImportFileError, match=r"^Row 2 opens a quote mark .* rows after it"):
        check(data, catalogue)


def test_an_answer_written_over_several_lines_is_one_cell(catalogue):
    answer = "They stopped me.\nThen let me go, no reason.\nParents, teachers, friends, nobody"
    row = ["child", "policing", "policing.opinion", answer, "Q1", "Tuesday"]
    p = check(csv_bytes([row], header=[*HEADER, "Start time"]), catalogue)
    assert p.ok and p.rows[0].text == answer


def test_file_of_50_mb_is_refused_with_a_clear_message(catalogue):
    data = b"a" * importer.MAX_IMPORT_BYTES
    with pytest.raises(ImportFileError, match="smaller than 50 MB"):
        check(data, catalogue)


def test_xlsx_reads_like_csv(catalogue):
    p = check(xlsx_bytes(GOOD_ROWS), catalogue, filename="answers.xlsx")
    assert p.ok and p.kind == "xlsx"
    assert [r.text for r in p.rows] == [r.text for r in check(csv_bytes(GOOD_ROWS), catalogue).rows]


def test_xlsx_numbers_and_other_sheets(catalogue):
    rows = [["child", "policing", "policing.opinion", 42, 7]]
    data = xlsx_bytes(rows, sheets={"Notes": [["nothing", "here"]]})
    p = check(data, catalogue, filename="a.xlsx")
    assert p.ok and p.rows[0].text == "42" and p.rows[0].label == "7"
    assert any("only 'Answers' was read" in n for n in p.notes)


def test_xlsx_with_formulas_reports_them_and_never_runs_them(catalogue):
    rows = [
        ["child", "policing", "policing.opinion", "fine", "a"],
        ["child", "policing", "policing.talk", '=HYPERLINK("http://evil.example","x")', "b"],
        ["child", "policing", '="policing."&"talk"', "ok", "c"],
    ]
    data = xlsx_bytes(rows, header=[*HEADER, "total"])
    p = check(data, catalogue, filename="a.xlsx")
    assert not p.ok
    by_row = {pr.row: pr for pr in p.problems}
    assert set(by_row) == {3, 4}
    assert by_row[3].column == "answer" and "formula" in by_row[3].message
    assert "=HYPERLINK" in by_row[3].message
    assert by_row[4].column == "question"
    assert all("HYPERLINK" not in r.text for r in p.rows)


def test_xlsx_formula_in_an_unused_column_is_only_noted(catalogue):
    rows = [["child", "policing", "policing.opinion", "fine", "a", "=1+1"]]
    p = check(xlsx_bytes(rows, header=[*HEADER, "total"]), catalogue, filename="a.xlsx")
    assert p.ok and any("formula" in n for n in p.notes)


def test_xlsx_missing_columns_are_named(catalogue):
    data = xlsx_bytes([["child", "x"]], header=["audience", "answer"])
    with pytest.raises(ImportFileError, match="Missing column: question"):
        check(data, catalogue, filename="a.xlsx")


@pytest.mark.parametrize(
    "data, name, message",
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512, "old.xls", "old Excel file"),
        (b"PK\x03\x04not really a zip", "broken.xlsx", "not an Excel workbook we can read"),
        (b"audience,priority\n", "named.xlsx", "named .xlsx but is not an Excel workbook"),
    ],
)
def test_files_that_are_not_workbooks_are_refused(catalogue, data, name, message):
    with pytest.raises(ImportFileError, match=message):
        check(data, catalogue, filename=name)


def test_openpyxl_warnings_do_not_escape(catalogue):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check(xlsx_bytes(GOOD_ROWS), catalogue, filename="a.xlsx")


# ---- committing: SQLite and PostgreSQL --------------------------------------------------------
def _import(rt, code, data, filename="answers.csv"):
    with rt.transaction() as s:
        rnd = store.get_round(s, code)
        p = importer.preview_for_round(data, rnd, rt.catalogue, filename=filename)
        return importer.commit(s, rnd, p, secret=TEST_SECRET)


def _count(rt, model, *where):
    with rt.transaction() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def test_import_stores_every_row_analysed_like_a_live_answer(rt, open_round):
    result = _import(rt, open_round, csv_bytes(GOOD_ROWS))
    assert (result.answers, result.respondents, result.duplicates) == (6, 4, 0)
    assert result.flagged == 1 and len(result.cases) == 1
    with rt.transaction() as s:
        answers = s.scalars(select(Answer).order_by(Answer.id)).all()
        assert {a.channel for a in answers} == {"import"}
        assert {(a.review_status, a.is_quote, a.superseded) for a in answers} == {
            ("pending", False, False)
        }
        first = answers[0]
        assert first.redacted == "They was fair with me. Ask for [name]."
        assert first.sentiment is not None and first.priority_guess is not None
        assert first.themes is not None
        assert answers[2].choice == "yes" and answers[2].text == "Yes"
        flagged = [a for a in answers if a.flagged]
        assert [a.text for a in flagged] == [DISCLOSURE]
        case = s.scalar(select(SafeguardingCase))
        assert case.answer_id == flagged[0].id and case.status == "new"
        assert "physical_abuse" in case.categories
        people = s.scalars(select(Respondent)).all()
        assert {p.channel for p in people} == {"import"}
        assert all(p.completed_at is not None for p in people)
        q1 = {
            a.respondent_id
            for a in answers
            if a.question_id in ("policing.stop_search", "education.experience")
        }
        assert len(q1) == 1 and answers[0].respondent_id in q1


def test_reimporting_the_same_file_stores_nothing_twice(rt, open_round):
    data = csv_bytes(GOOD_ROWS)
    _import(rt, open_round, data)
    again = _import(rt, open_round, data)
    assert (again.answers, again.respondents, again.duplicates, again.flagged) == (0, 0, 6, 0)
    assert _count(rt, Answer) == 6 and _count(rt, Respondent) == 4
    assert _count(rt, SafeguardingCase) == 1
    # The same rows in an Excel file are the same answers too.
    assert _import(rt, open_round, xlsx_bytes(GOOD_ROWS), "a.xlsx").answers == 0


def test_identical_unlabelled_rows_are_different_people_and_still_imported_once(rt, open_round):
    rows = [["child", "policing", "policing.opinion", "dunno", ""]] * 3
    assert _import(rt, open_round, csv_bytes(rows)).answers == 3
    assert _import(rt, open_round, csv_bytes(rows)).duplicates == 3
    assert _count(rt, Respondent) == 3


def test_a_changed_answer_from_the_same_label_replaces_the_earlier_one(rt, open_round):
    _import(rt, open_round, csv_bytes([["child", "policing", "policing.opinion", "bad", "K1"]]))
    res = _import(
        rt,
        open_round,
        csv_bytes(
            [
                ["child", "policing", "policing.opinion", "good", "K1"],
                ["child", "policing", "policing.talk", "nicer", "K1"],
            ]
        ),
    )
    assert (res.answers, res.respondents, res.superseded) == (2, 0, 1)
    with rt.transaction() as s:
        live = s.execute(select(Answer.text).where(Answer.superseded.is_(False))).scalars().all()
        assert sorted(live) == ["good", "nicer"]
        assert s.scalar(select(func.count(func.distinct(Answer.respondent_id)))) == 1


def test_labels_are_never_stored(rt, open_round):
    label = "Questionnaire of Jayden Okafor"
    _import(rt, open_round, csv_bytes([["child", "policing", "policing.opinion", "ok", label]]))
    with rt.transaction() as s:
        resp = s.scalar(select(Respondent))
        held = (resp.resume_key, resp.state, resp.id, resp.withdraw_hash)
        stored = " ".join(str(v) for v in held)
        assert "Jayden" not in stored and "Okafor" not in stored
        assert len(resp.resume_key) == 64


def test_rows_that_do_not_fit_mean_nothing_is_imported(rt, open_round):
    rows = [*GOOD_ROWS, ["child", "nowhere", "policing.opinion", "x", ""]]
    with pytest.raises(ImportRefused) as exc:
        _import(rt, open_round, csv_bytes(rows))
    assert [p.row for p in exc.value.problems] == [8]
    assert _count(rt, Answer) == 0 and _count(rt, Respondent) == 0


def test_a_failure_midway_leaves_nothing_half_imported(rt, open_round):
    calls = []

    def failing(text, **kwargs):
        calls.append(text)
        if len(calls) == 4:
            raise RuntimeError("analysis engine fell over")
        from surveys.analysis.pipeline import analyse

        return analyse(text, **kwargs)

    with pytest.raises(RuntimeError), rt.transaction() as s:
        rnd = store.get_round(s, open_round)
        p = importer.preview_for_round(csv_bytes(GOOD_ROWS), rnd, rt.catalogue)
        importer.commit(s, rnd, p, secret=TEST_SECRET, analyse=failing)
    assert _count(rt, Answer) == 0 and _count(rt, Respondent) == 0
    assert _count(rt, SafeguardingCase) == 0


def test_flagged_import_tells_the_case_hooks_in_the_same_transaction(rt, open_round):
    seen = []

    def hook(session, case):
        seen.append((case.id, case.answer_id, session.in_transaction()))

    with safeguarding.case_hook(hook):
        result = _import(rt, open_round, csv_bytes(GOOD_ROWS))
    assert [s[0] for s in seen] == list(result.cases) and seen[0][2]


def test_import_works_on_a_closed_round(rt, open_round):
    with rt.transaction() as s:
        store.set_status(s, open_round, "closed")
    assert _import(rt, open_round, csv_bytes(GOOD_ROWS[:1])).answers == 1


# ---- the command line -------------------------------------------------------------------------
@pytest.fixture
def yjv(db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("YJVOICE_INSTANCE", str(tmp_path / "instance"))

    @click.group()
    def group():
        """A stand-in for the yjvoice group."""

    cli_import.register(group)
    runner = CliRunner()

    def run(*args):
        return runner.invoke(group, list(args), catch_exceptions=False)

    return run


def test_cli_dry_run_shows_what_would_be_imported_and_stores_nothing(yjv, rt, open_round, tmp_path):
    path = tmp_path / "answers.csv"
    path.write_bytes(csv_bytes(GOOD_ROWS))
    res = yjv("import", "--round", open_round, "--file", str(path), "--dry-run")
    assert res.exit_code == 0, res.output
    assert "6 answers from 4 respondents" in res.output and "Dry run" in res.output
    assert DISCLOSURE not in res.output  # answer text is never printed
    assert _count(rt, Answer) == 0


def test_cli_imports_then_skips_a_second_time(yjv, rt, open_round, tmp_path):
    path = tmp_path / "answers.xlsx"
    path.write_bytes(xlsx_bytes(GOOD_ROWS))
    res = yjv("import", "--round", open_round.lower(), "--file", str(path))
    assert res.exit_code == 0, res.output
    assert "Imported 6 answers from 4 new respondents" in res.output
    assert "safeguarding queue" in res.output
    again = yjv("import", "--round", open_round, "--file", str(path))
    assert "Imported 0 answers" in again.output and "6 already imported" in again.output
    assert _count(rt, Answer) == 6


def test_a_disclosure_imported_from_the_command_line_alerts_the_safeguarding_lead(
    yjv, rt, open_round, tmp_path, monkeypatch
):
    from surveys.notify import alerts
    from surveys.storage.models import AlertMessage

    monkeypatch.setenv("SAFEGUARDING_ALERT_EMAILS", "dsl@example.org")
    path = tmp_path / "answers.csv"
    path.write_bytes(csv_bytes(GOOD_ROWS))
    try:
        assert yjv("import", "--round", open_round, "--file", str(path)).exit_code == 0
    finally:
        alerts.uninstall()  # the command installed the hook for this process
    with rt.transaction() as s:
        recipients = s.scalars(select(AlertMessage.recipient)).all()
    assert recipients == ["dsl@example.org"]  # queued with the case, as in the workbench


def test_cli_reports_problems_with_row_numbers_and_fails(yjv, rt, open_round, tmp_path):
    path = tmp_path / "answers.csv"
    path.write_bytes(csv_bytes([*GOOD_ROWS, ["teacher", "policing", "policing.opinion", "x", ""]]))
    res = yjv("import", "--round", open_round, "--file", str(path))
    assert res.exit_code == 1
    assert "Row 8: unknown audience 'teacher'" in res.output
    assert "nothing was imported" in res.output
    assert _count(rt, Answer) == 0


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "The file is empty"),
        (b"audience,answer\nchild,x\n", "Missing column: question"),
    ],
)
def test_cli_file_errors_are_clear(yjv, rt, open_round, tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    res = yjv("import", "--round", open_round, "--file", str(path))
    assert res.exit_code == 1 and message in res.output and "Traceback" not in res.output


def test_cli_unknown_round(yjv, rt, tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(csv_bytes(GOOD_ROWS))
    res = yjv("import", "--round", "NOPE99", "--file", str(path))
    assert res.exit_code == 1 and "no round has the code" in res.output
