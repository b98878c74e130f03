"""`yjvoice export`: every format, and clear errors without a traceback."""

import csv
import io

import pytest
from click.testing import CliRunner
from docx import Document
from openpyxl import load_workbook

from tests.conftest import TEST_SECRET
from tests.export.conftest import NEVER, PLANTED
from tests.export.helpers import docx_text
from yjvoice.cli import main


@pytest.fixture
def cli(db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("YJVOICE_INSTANCE", str(tmp_path / "instance"))
    runner = CliRunner()

    def run(*args, ok=True):
        result = runner.invoke(main, list(args), catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return run


@pytest.mark.parametrize("fmt", ["docx", "xlsx", "csv", "md"])
def test_export_writes_each_format(cli, built_round, tmp_path, fmt):
    out = tmp_path / f"plan.{fmt}"
    res = cli("export", "--round", built_round.lower(), "--format", fmt, "--out", str(out))
    assert "Wrote 11 quotes in 6 priorities" in res.output
    assert "small numbers not shown" in res.output
    if fmt == "docx":
        text = docx_text(Document(out))
    elif fmt == "xlsx":
        wb = load_workbook(out)
        text = "\n".join(str(c.value) for ws in wb for r in ws.iter_rows() for c in r)
    else:
        text = out.read_text(encoding="utf-8")
    assert "They should listen before they shout." in text
    for needle in NEVER + PLANTED:
        assert needle not in text, needle
    assert not (tmp_path / f"plan.{fmt}.part").exists()


def test_min_group_changes_what_is_hidden(cli, built_round, tmp_path):
    out = tmp_path / "q.csv"
    cli("export", "--round", built_round, "--format", "csv", "--min-group", "3", "--out", str(out))
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    parents = {r["n_respondents"] for r in rows if r["audience"] == "Parents / carers"}
    assert parents == {"3"}
    cli("export", "--round", built_round, "--format", "csv", "--out", str(out))
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert {r["n_respondents"] for r in rows if r["audience"] == "Parents / carers"} == {
        "fewer than 10"
    }


def test_markdown_and_csv_can_go_to_standard_output(cli, built_round):
    res = cli("export", "--round", built_round, "--format", "md", "--out", "-")
    assert res.stdout.startswith("# Voice of children and families")


def test_all_still_exports_every_answer(cli, built_round, tmp_path):
    out = tmp_path / "all.csv"
    res = cli("export", "--round", built_round, "--all", "--out", str(out))
    assert "Wrote 54 answers" in res.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    # Every answer has its row; a flagged one's words only when the safeguarding lead asks.
    assert len(rows) == 54 and "Tyler Brookes hurts me at home" not in out.read_text("utf-8")
    cli("export", "--round", built_round, "--all", "--include-flagged", "--out", str(out))
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len(rows) == 54 and "Tyler Brookes hurts me at home" in {r["answer"] for r in rows}


@pytest.mark.parametrize(
    "args, message",
    [
        (["--round", "NOPE"], "no round has the code 'NOPE'"),
        (["--round", "{code}", "--out", "{tmp}/missing/plan.docx"], "does not exist"),
        (["--round", "{code}", "--out", "{tmp}"], "is a directory"),
        (["--round", "{code}", "--format", "docx", "--out", "-"], "cannot go to standard output"),
        (["--round", "{code}", "--format", "md", "--all"], "--all goes with --format csv"),
        (["--round", "{code}", "--min-group", "1"], "--min-group"),
    ],
)
def test_clear_errors_without_a_traceback(cli, built_round, tmp_path, args, message):
    args = [a.format(code=built_round, tmp=tmp_path) for a in args]
    if "--out" not in args:
        args += ["--out", str(tmp_path / "plan.out")]
    res = cli("export", *args, ok=False)
    assert res.exit_code != 0
    assert message in res.output and "Traceback" not in res.output


def test_a_round_without_approved_quotes_is_refused_with_a_reason(cli, rt, open_round, tmp_path):
    out = tmp_path / "plan.docx"
    res = cli("export", "--round", open_round, "--out", str(out), ok=False)
    assert res.exit_code == 1
    assert "No quotes have been approved yet" in res.output and "Traceback" not in res.output
    assert not out.exists()


def test_a_failed_write_is_reported_and_leaves_no_file(cli, built_round, tmp_path):
    out = tmp_path / "plan.docx"
    (tmp_path / "plan.docx.part").mkdir()  # the temporary file cannot be created
    res = cli("export", "--round", built_round, "--out", str(out), ok=False)
    assert res.exit_code == 1 and "cannot write" in res.output
    assert "Traceback" not in res.output and not out.exists()
