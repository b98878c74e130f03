"""Importing any survey: question wordings mapped to questions or to new local questions,
the wide layout Microsoft Forms exports, spreadsheets too big to open refused before they
are opened, and the published plan's quotes imported and exported as a plan again.

Pure previews need no database; storing runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import click
import openpyxl
import pytest
from click.testing import CliRunner
from docx import Document
from sqlalchemy import func, select

from surveys.services import exporting, importer
from surveys.services.importer import Choices, ImportFileError, ImportRefused, Target
from surveys.services.importer.files import LIMITS, check_workbook
from surveys.services.importer.mapping import word_overlap
from surveys.services.review import decisions
from surveys.storage import store
from surveys.storage.models import Answer, AuditEvent, LocalQuestion, Respondent
from tests.conftest import TEST_SECRET
from tests.export.helpers import docx_text
from tests.test_importer import csv_bytes
from yjvoice import cli_import

PUBLISHED = Path(__file__).parent / "data" / "imports" / "published_plan_quotes.csv"
PLAN_PRIORITIES = [
    "over_represented_groups",
    "policing",
    "prevention",
    "education",
    "restorative_approaches_and_victims",
    "serious_violence_and_exploitation",
    "remands",
]
#: Planted in the published quotes: none may reach the plan.
PLANTED = ["07700 900461", "Hartley", "14 Acacia Road", "j.barker@example.org", "Okonkwo"]
DISCLOSURE = "he said he will hurt my mum"
ROUND = {"priorities": ["policing", "remands", "education"], "audiences": ["child", "parent"]}
MEDWAY = "What do you think of the police in Medway?"
FORMS_HEADER = [
    "ID",
    "Start time",
    "Completion time",
    "Email",
    "Name",
    MEDWAY,
    "What is school like for you at the moment?",
    "Have you ever been remanded?",
]
FORMS_ROWS = [
    ["1", "9/1/26 10:02", "9/1/26 10:09", "anonymous", "", "Fair enough really", "Rubbish", "No"],
    ["2", "9/1/26 11:15", "9/1/26 11:20", "kai.b@school.example", "Kai Brennan", "", "ok", "Yes"],
    ["3", "9/2/26 16:40", "9/2/26 16:44", "anonymous", "", "They shout too much", "", ""],
]


def check(data, catalogue, choices=None, filename="answers.csv", **kw):
    return importer.preview(data, catalogue, filename=filename, choices=choices, **{**ROUND, **kw})


def xlsx_of(header, rows) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(header)
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# ---- wordings mapped: pure ---------------------------------------------------------------------
def test_a_published_plans_wording_is_refused_until_mapped_and_names_the_closest(catalogue):
    data = csv_bytes([["child", "policing", MEDWAY, "They was fair with me", ""]])
    p = check(data, catalogue)
    assert not p.ok
    (problem,) = p.problems
    assert problem.row == 2 and problem.column == "question"
    assert f"unknown question '{MEDWAY}'" in problem.message
    assert "closest is policing.opinion" in problem.message
    assert "new local question" in problem.message


def test_new_questions_map_every_unknown_wording_under_its_priority(catalogue):
    rows = [
        ["child", "policing", MEDWAY, "They was fair with me", "a"],
        ["child", "policing", MEDWAY.upper(), "They shout", "b"],  # the same wording
        ["child", "policing", "policing.opinion", "ok", "c"],  # an id: the bank question
        ["child", "", "What would you change about school?", "smaller classes", "d"],
    ]
    p = check(csv_bytes(rows), catalogue, Choices(new_questions=True, priority="education"))
    assert p.ok, p.problems
    assert [(n.priority, n.text, n.audiences) for n in p.new_questions] == [
        ("policing", MEDWAY, ("child",)),
        ("education", "What would you change about school?", ("child",)),
    ]
    assert [r.question_id for r in p.rows] == ["", "", "policing.opinion", ""]
    assert p.rows[0].new == p.rows[1].new == p.new_questions[0].key
    assert p.needs_mapping


def test_ids_and_exact_wordings_in_any_case_need_no_mapping(catalogue):
    rows = [
        ["child", "policing", "WHAT DO YOU THINK OF THE POLICE ROUND HERE", "ok", ""],
        ["child", "policing", "policing.opinion", "fine", ""],
    ]
    p = check(csv_bytes(rows), catalogue, Choices(new_questions=True, suggestions=True))
    assert p.ok and not p.needs_mapping
    assert {r.question_id for r in p.rows} == {"policing.opinion"}
    assert all(w.suggestion.exact for w in p.wordings)


def test_suggestions_choose_a_close_question_and_only_one_the_answers_fit(catalogue):
    rows = [
        ["child", "policing", MEDWAY, "They was fair", ""],
        # Worded as a yes/no question, answered in words: a new question keeps the words.
        ["child", "remands", "Have you ever been remanded?", "Yes, for six weeks", ""],
    ]
    p = check(csv_bytes(rows), catalogue, Choices(new_questions=True, suggestions=True))
    assert p.ok, p.problems
    medway, remanded = p.wordings
    assert medway.suggestion.question_id == "policing.opinion" and medway.suggestion.chosen
    assert medway.target == Target("question", "policing.opinion")
    assert remanded.suggestion.exact and not remanded.suggestion.fits
    assert remanded.target.kind == "new"
    assert [n.text for n in p.new_questions] == ["Have you ever been remanded?"]


def test_word_overlap_ignores_case_punctuation_and_small_words():
    assert word_overlap("What do you think of the POLICE?", "police: what do you think") == 1.0
    assert 0 < word_overlap(MEDWAY, "What do you think of the police round here?") < 1
    assert word_overlap("How is school?", "Have you been remanded?") == 0.0


def test_explicit_choices_by_wording_win_and_skip_leaves_a_column_out(catalogue):
    rows = [
        ["child", "policing", MEDWAY, "They was fair", ""],
        ["child", "education", "Which school do you go to?", "St Anne's", ""],
    ]
    choices = Choices(
        targets={
            importer.fold(MEDWAY): Target("new", priority="policing"),
            importer.fold("Which school do you go to?"): Target("skip"),
        }
    )
    p = check(csv_bytes(rows), catalogue, choices)
    assert p.ok and len(p.rows) == 1 and p.rows[0].new
    assert [w.text for w in p.skipped_wordings] == ["Which school do you go to?"]


@pytest.mark.parametrize(
    "target, message",
    [
        (Target("question", "working_with_families.supported"), "not part of this round"),
        (Target("question", "policing.nothing"), "there is no question 'policing.nothing'"),
        (Target("new", priority="diversion"), "cannot go under 'Diversion'"),
    ],
)
def test_a_mapping_that_cannot_fit_is_a_clear_problem(catalogue, target, message):
    data = csv_bytes([["child", "policing", MEDWAY, "fine", ""]])
    p = check(data, catalogue, Choices(targets={importer.fold(MEDWAY): target}))
    assert not p.ok and message in p.problems[0].message


def test_a_wording_mapped_to_a_question_of_another_audience_is_refused(catalogue):
    rows = [
        ["parent", "policing", MEDWAY, "They treat him like a criminal", ""],
        ["child", "policing", MEDWAY, "fair", ""],
    ]
    # general.training is asked of staff and partners only.
    choices = Choices(targets={importer.fold(MEDWAY): Target("question", "general.training")})
    p = check(csv_bytes(rows), catalogue, choices)
    messages = [pr.message for pr in p.problems]
    assert not p.ok and len(messages) == 2
    assert "general.training' is not asked of parents or carers" in messages[0]
    assert "not asked of young people" in messages[1]


def test_a_wording_far_too_long_cannot_become_a_question(catalogue):
    long_wording = " ".join(["word"] * 300) + "?"
    p = check(
        csv_bytes([["child", "policing", long_wording, "fine", ""]]),
        catalogue,
        Choices(new_questions=True),
    )
    assert not p.ok and "too long to become a question" in p.problems[0].message


def test_a_file_without_audiences_needs_one_chosen(catalogue):
    data = csv_bytes([["policing", MEDWAY, "fair"]], header=["priority", "question", "answer"])
    p = check(data, catalogue, Choices(new_questions=True))
    assert not p.ok and "no audience column: choose who answered" in p.problems[0].message
    p = check(data, catalogue, Choices(new_questions=True, audience="child"))
    assert p.ok and p.rows[0].audience == "child"
    p = check(data, catalogue, Choices(new_questions=True, audience="staff"))
    assert "Staff are not part of this round" in p.problems[0].message


# ---- the wide layout (Microsoft Forms) ---------------------------------------------------------
@pytest.mark.parametrize("kind", ["csv", "xlsx", "utf-16", "cp1252"])
def test_a_microsoft_forms_export_is_read_a_column_per_question(catalogue, kind):
    rows = [list(r) for r in FORMS_ROWS]
    rows[0][5] = "Fair enough, £5 fine, café"  # not plain ASCII
    if kind == "xlsx":
        data, name = xlsx_of(FORMS_HEADER, rows), "Form1.xlsx"
    else:
        encoding = {"csv": "utf-8-sig", "utf-16": "utf-16", "cp1252": "cp1252"}[kind]
        data, name = csv_bytes(rows, header=FORMS_HEADER, encoding=encoding), "Form1.csv"
    p = check(data, catalogue, Choices(new_questions=True, audience="child"), filename=name)
    assert p.ok, p.problems
    assert p.layout == "wide" and not p.audience_column
    assert [(r.row, r.text) for r in p.rows] == [
        (2, "Fair enough, £5 fine, café"),
        (2, "Rubbish"),
        (2, "No"),
        (3, "ok"),
        (3, "Yes"),
        (4, "They shout too much"),
    ]
    assert p.respondent_count == 3  # the ID column: a row is one person
    assert p.rows[2].question_id == "remands.ever" and p.rows[2].choice == "no"
    assert [n.text for n in p.new_questions] == [
        MEDWAY,
        "What is school like for you at the moment?",
    ]
    # Email and Name are never read, and the preview says so.
    assert p.dropped == ("Email", "Name")
    assert any("personal details were dropped" in n and "'Email'" in n for n in p.notes)
    held = " ".join(f"{r.text} {r.label}" for r in p.rows)
    assert "kai.b" not in held and "Brennan" not in held
    assert any("'Start time'" in n for n in p.notes)


def test_a_wide_file_without_an_id_is_a_person_per_row(catalogue):
    header = [MEDWAY, "Have you ever been remanded?"]
    data = csv_bytes([["fair", "No"], ["rude", "Yes"]], header=header)
    p = check(data, catalogue, Choices(new_questions=True, audience="child"))
    assert p.ok and p.respondent_count == 2


def test_a_file_that_mixes_the_two_layouts_is_refused(catalogue):
    header = ["audience", "question", "answer", "What do you think of school?"]
    with pytest.raises(ImportFileError, match="mixes the two layouts"):
        check(csv_bytes([["child", "policing.opinion", "ok", "fine"]], header=header), catalogue)


def test_a_question_column_without_answers_is_named(catalogue):
    data = csv_bytes([["child", "policing.opinion"]], header=["audience", "question"])
    with pytest.raises(ImportFileError, match="Missing column: answer"):
        check(data, catalogue)


def test_a_header_of_forms_columns_only_has_no_questions(catalogue):
    data = csv_bytes([["1", "x@y.z"]], header=["ID", "Email"])
    with pytest.raises(ImportFileError, match="Missing columns: question, answer"):
        check(data, catalogue)


# ---- spreadsheets too big to open --------------------------------------------------------------
def _xlsx_with_sheet(sheet_data: bytes, dimension: bytes = b"A1") -> bytes:
    """Return a real workbook whose first sheet's rows are replaced by ``sheet_data``."""
    base = zipfile.ZipFile(io.BytesIO(xlsx_of(["question", "answer"], [["q", "a"]])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for item in base.infolist():
            data = base.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                head, rest = data.split(b"<sheetData>")
                head = head.replace(
                    b'<dimension ref="A1:B2"/>', b'<dimension ref="%s"/>' % dimension
                )
                tail = rest.split(b"</sheetData>", 1)[1]
                data = head + b"<sheetData>" + sheet_data + b"</sheetData>" + tail
            z.writestr(item, data)
    return out.getvalue()


def million_columns() -> bytes:
    """The issue's file: about 115 KB, a million cells in its first row."""
    return _xlsx_with_sheet(
        b'<row r="1">' + b'<c t="inlineStr"><is><t>x</t></is></c>' * 1_000_000 + b"</row>"
    )


def test_a_million_column_workbook_is_refused_before_it_is_opened(catalogue):
    data = million_columns()
    assert len(data) < 200_000
    with pytest.raises(ImportFileError, match="zip bomb") as exc:
        check(data, catalogue, filename="huge.xlsx")
    assert "was not opened" in str(exc.value)


def test_more_columns_than_allowed_are_refused_from_the_sheet_itself(catalogue):
    # Distinct values compress poorly, so the ratio passes: the count must catch it.
    cells = b"".join(
        b'<c t="inlineStr"><is><t>question number %d</t></is></c>' % i for i in range(250)
    )
    with pytest.raises(ImportFileError, match="more than 200 columns") as exc:
        check(_xlsx_with_sheet(b'<row r="1">' + cells + b"</row>"), catalogue, filename="a.xlsx")
    assert "the sheet has 201" in str(exc.value)


def test_a_far_away_cell_counts_as_every_column_before_it(catalogue):
    row = b'<row r="1"><c r="A1" t="inlineStr"><is><t>question</t></is></c>'
    row += b'<c r="XFD1" t="inlineStr"><is><t>answer</t></is></c></row>'
    with pytest.raises(ImportFileError, match="the sheet has 16,384"):
        check(_xlsx_with_sheet(row), catalogue, filename="a.xlsx")


def test_a_declared_size_over_the_limits_is_refused(catalogue):
    data = _xlsx_with_sheet(b"", dimension=b"A1:XFD1048576")
    with pytest.raises(ImportFileError, match="more than 50,000 rows") as exc:
        check(data, catalogue, filename="a.xlsx")
    assert "says it has 1,048,575" in str(exc.value)


def test_rows_far_down_the_sheet_are_refused(catalogue):
    row = b'<row r="1"><c t="inlineStr"><is><t>question</t></is></c></row><row r="60000"/>'
    with pytest.raises(ImportFileError, match="more than 50,000 rows"):
        check(_xlsx_with_sheet(row), catalogue, filename="a.xlsx")


def test_a_zip_bomb_part_is_refused_by_its_ratio():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/sharedStrings.xml", b"<sst>" + b"a" * (20 * 1024 * 1024) + b"</sst>")
    with pytest.raises(ImportFileError, match="zip bomb"):
        check_workbook(out.getvalue())


def test_a_csv_with_too_many_columns_is_refused(catalogue):
    header = [f"Question {i}?" for i in range(LIMITS["columns"] + 1)]
    with pytest.raises(ImportFileError, match="more than 200 columns"):
        check(csv_bytes([["x"] * len(header)], header=header), catalogue)


def test_an_ordinary_workbook_passes_the_size_checks():
    check_workbook(xlsx_of(FORMS_HEADER, FORMS_ROWS * 100))


# ---- storing: SQLite and PostgreSQL ------------------------------------------------------------
def _count(rt, model):
    with rt.transaction() as s:
        return s.scalar(select(func.count()).select_from(model))


def _preview(rt, code, data, choices, filename="answers.csv"):
    with rt.transaction() as s:
        rnd = store.get_round(s, code)
        return importer.preview_for_round(
            data, rnd, rt.catalogue, filename=filename, choices=choices
        )


def _import(rt, code, data, choices, filename="answers.csv", **kw):
    with rt.transaction() as s:
        rnd = store.get_round(s, code)
        p = importer.preview_for_round(data, rnd, rt.catalogue, filename=filename, choices=choices)
        return importer.import_checked(
            s, rnd, p, secret=TEST_SECRET, actor="test", base=rt.banks, **kw
        )


def test_an_import_creates_its_new_questions_with_its_answers_and_once(rt, open_round):
    data = csv_bytes(FORMS_ROWS, header=FORMS_HEADER)
    choices = Choices(new_questions=True, audience="child")
    result = _import(rt, open_round, data, choices)
    assert (result.answers, result.respondents) == (6, 3)
    assert result.questions == (
        "policing.local_think_police_medway",
        "education.local_school_like_moment",
    )
    cat = rt.catalogue
    medway = cat.question("policing.local_think_police_medway")
    assert medway.text_for("child") == MEDWAY
    # Kept for these answers: never asked in a live round.
    assert "policing.local_think_police_medway" not in {
        q.id for q in cat.questions_for(["policing"], "child")
    }
    with rt.transaction() as s:
        texts = s.scalars(select(Answer.text).order_by(Answer.id)).all()
        assert "Fair enough really" in texts and not any("kai" in t.lower() for t in texts)
        events = s.scalars(select(AuditEvent.action)).all()
        assert events.count("question_added") == 2 and "import" in events
    # The same file again finds the questions it created: nothing is stored twice.
    again = _import(rt, open_round, data, choices)
    assert (again.answers, again.duplicates, again.questions) == (0, 6, ())
    assert _count(rt, LocalQuestion) == 2 and _count(rt, Answer) == 6


def test_a_failure_midway_leaves_neither_questions_nor_answers(rt, open_round):
    calls = []

    def failing(text, **kwargs):
        calls.append(text)
        if len(calls) == 3:
            raise RuntimeError("analysis engine fell over")
        from surveys.analysis.pipeline import analyse

        return analyse(text, **kwargs)

    data = csv_bytes(FORMS_ROWS, header=FORMS_HEADER)
    with pytest.raises(RuntimeError):
        _import(
            rt, open_round, data, Choices(new_questions=True, audience="child"), analyse=failing
        )
    assert _count(rt, LocalQuestion) == 0 and _count(rt, Answer) == 0
    assert _count(rt, Respondent) == 0
    assert "policing.local_think_police_medway" not in {q.id for q in rt.catalogue.retired}


def test_an_id_taken_meanwhile_gives_the_new_question_a_fresh_one(rt, open_round):
    data = csv_bytes([["child", "policing", MEDWAY, "fair", ""]])
    choices = Choices(new_questions=True)
    p = _preview(rt, open_round, data, choices)
    with rt.transaction() as s:  # meanwhile, the builder takes the wording's id
        from surveys.services import questions

        questions.add_question(
            s,
            rt.banks,
            priority="policing",
            spec={"type": "text", "text": {"child": "Police in Medway?"}},
            name="policing.local_think_police_medway",
        )
    with rt.transaction() as s:
        rnd = store.get_round(s, open_round)
        result = importer.import_checked(s, rnd, p, secret=TEST_SECRET, actor="test", base=rt.banks)
    # A fresh id is chosen for it: the import is whole, with a question of its own.
    assert result.questions == ("policing.local_think_police_medway_2",)
    assert _count(rt, Answer) == 1


def test_committing_new_questions_needs_the_packaged_catalogue(rt, open_round):
    data = csv_bytes([["child", "policing", MEDWAY, "fair", ""]])
    p = _preview(rt, open_round, data, Choices(new_questions=True))
    with pytest.raises(ValueError), rt.transaction() as s:
        importer.commit(s, store.get_round(s, open_round), p, secret=TEST_SECRET)
    with pytest.raises(ImportRefused), rt.transaction() as s:
        bad = _preview(rt, open_round, data, Choices())
        importer.commit(s, store.get_round(s, open_round), bad, secret=TEST_SECRET)
    assert _count(rt, Answer) == 0


# ---- the acceptance path: a published plan's quotes, in and out again ---------------------------
def test_a_published_plans_quotes_imported_make_the_plan_again(rt, tmp_path, jobs_immediate):
    with rt.transaction() as s:
        code = store.open_round(
            s, rt.catalogue, title="Plan 2026", priorities=PLAN_PRIORITIES, audiences=["child"]
        ).code
    data = PUBLISHED.read_bytes()
    quotes = [r["answer"] for r in csv.DictReader(io.StringIO(data.decode()))]
    assert len(quotes) == 40

    # Every wording is the plan's own: refused as it is, imported as new local questions.
    assert not _preview(rt, code, data, Choices()).ok
    result = _import(rt, code, data, Choices(new_questions=True))
    assert result.answers == 40 and len(result.questions) == 13
    assert result.flagged >= 1  # the disclosure is with the safeguarding lead

    with rt.transaction() as s:
        approval = decisions.approve_unflagged(s, store.get_round(s, code), as_quotes=True)
    # Every quote is approved, or left with the safeguarding lead: the planted disclosure
    # (the lexicon, at import) and any possible concern the worker's reading raised; those
    # false alarms on published quotes stay rare.
    assert approval.quotes + approval.hidden == 40
    assert result.flagged <= approval.hidden <= result.flagged + 2

    out = tmp_path / "plan.docx"
    with rt.transaction() as s, out.open("wb") as fh:
        exporting.export_plan(s, store.get_round(s, code), rt.catalogue, "docx", fh, actor="t")
    doc = Document(out)
    sections = [p.text for p in doc.paragraphs if p.style.name == "Heading 1"]
    titles = [rt.catalogue.bank(k).title for k in PLAN_PRIORITIES]
    assert [t.split(". ", 1)[1] for t in sections if ". " in t] == titles
    text = docx_text(doc)
    assert text.count("compiled for this plan)") == 7  # a count line per priority
    for planted in PLANTED:
        assert planted not in text
    assert DISCLOSURE not in text and "Tyrone" not in text
    # The quotes as printed: their opening words (no identifier in them), redacted or not.
    printed = [q for q in quotes if " ".join(q.split()[:4]) in text]
    assert len(printed) >= 0.8 * len(quotes), len(printed)
    # The questions are printed with the plan's own wording.
    assert "What do you think of the police in Medway?" in text


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


@pytest.mark.backends("sqlite")
def test_cli_refuses_unknown_wordings_then_imports_them_as_new_questions(
    yjv, rt, open_round, tmp_path
):
    path = tmp_path / "Form1.csv"
    path.write_bytes(csv_bytes(FORMS_ROWS, header=FORMS_HEADER))
    res = yjv("import", "--round", open_round, "--file", str(path), "--audience", "child")
    assert res.exit_code == 1
    assert f"unknown question '{MEDWAY}'" in res.output and _count(rt, Answer) == 0
    res = yjv(
        "import",
        "--round",
        open_round,
        "--file",
        str(path),
        "--audience",
        "child",
        "--priority",
        "policing",
        "--new-questions",
    )
    assert res.exit_code == 0, res.output
    assert "a column per question" in res.output
    assert "personal details were dropped" in res.output
    assert f'"{MEDWAY}" -> a new local question under Policing' in res.output
    assert "Created 2 local questions" in res.output
    assert "kai.b" not in res.output and "Fair enough" not in res.output
    assert _count(rt, Answer) == 6 and _count(rt, LocalQuestion) == 2


@pytest.mark.backends("sqlite")
def test_cli_writes_a_mapping_file_to_edit_and_imports_with_it(yjv, rt, open_round, tmp_path):
    path = tmp_path / "Form1.xlsx"
    path.write_bytes(xlsx_of(FORMS_HEADER, FORMS_ROWS))
    mapping = tmp_path / "map.yaml"
    base = ["import", "--round", open_round, "--file", str(path), "--audience", "child"]
    res = yjv(*base, "--write-map", str(mapping))
    assert res.exit_code == 0, res.output
    written = mapping.read_text()
    assert f'"{MEDWAY}": new: policing  # closest: policing.opinion' in written
    assert '"Have you ever been remanded?": remands.ever' in written
    assert _count(rt, Answer) == 0
    edited = written.replace(f'"{MEDWAY}": new: policing', f'"{MEDWAY}": policing.opinion').replace(
        '"What is school like for you at the moment?": new: education',
        '"What is school like for you at the moment?": skip',
    )
    mapping.write_text(edited)
    res = yjv(*base, "--map", str(mapping))
    assert res.exit_code == 0, res.output
    assert "Imported 4 answers" in res.output and _count(rt, LocalQuestion) == 0


@pytest.mark.backends("sqlite")
@pytest.mark.parametrize(
    "content, message",
    [
        ("questions: [unclosed", "not a YAML mapping file"),
        ("- a list", "a mapping file has 'questions:'"),
        ("questions:\n  'What?': 42\n", "maps to a question id, 'new'"),
        ("colour: blue\n", "unknown key 'colour'"),
        ("audience: aliens\n", "audience 'aliens' is not one of"),
    ],
)
def test_cli_a_bad_mapping_file_is_a_clear_error(yjv, rt, open_round, tmp_path, content, message):
    path = tmp_path / "a.csv"
    path.write_bytes(csv_bytes([["child", "policing", MEDWAY, "ok", ""]]))
    mapping = tmp_path / "map.yaml"
    mapping.write_text(content)
    res = yjv("import", "--round", open_round, "--file", str(path), "--map", str(mapping))
    assert res.exit_code == 1 and message in res.output and "Traceback" not in res.output


@pytest.mark.backends("sqlite")
def test_cli_a_priority_outside_the_round_is_refused(yjv, rt, open_round, tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(csv_bytes([["child", "policing", MEDWAY, "ok", ""]]))
    res = yjv("import", "--round", open_round, "--file", str(path), "--priority", "diversion")
    assert res.exit_code == 1 and "not one of round" in res.output


@pytest.mark.backends("sqlite")
def test_cli_a_huge_workbook_is_refused_with_a_message(yjv, rt, open_round, tmp_path):
    path = tmp_path / "huge.xlsx"
    path.write_bytes(million_columns())
    res = yjv("import", "--round", open_round, "--file", str(path))
    assert res.exit_code == 1 and "zip bomb" in res.output and "Traceback" not in res.output


def test_a_question_column_of_thousands_of_wordings_is_refused(catalogue):
    rows = [["child", "policing", f"Question number {i}?", "ok", ""] for i in range(250)]
    with pytest.raises(ImportFileError, match="more than 200 different questions"):
        check(csv_bytes(rows), catalogue, Choices(new_questions=True))
