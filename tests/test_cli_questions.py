"""``yjvoice questions``: list, export and import a service's own questions from the shell.

What a command prints is the same on either database (SQLite only, as tests/test_cli.py);
the import, which writes, also runs on PostgreSQL.
"""

from __future__ import annotations

import json

import pytest
import yaml

from tests.test_cli import cli  # noqa: F401  (fixture)

pytestmark = pytest.mark.backends("sqlite")

BANK = {
    "key": "renaming",
    "title": {"en": "Renaming the service", "cy": "Ailenwi'r gwasanaeth"},
    "order": 20,
    "description": "What young people think the youth justice service should be called.",
    "questions": [
        {"id": "renaming.call", "type": "text", "text": {"child": "What should we call the YOT?"}},
        {
            "id": "renaming.like",
            "type": "choice",
            "text": {"child": "Do you like the name YOT?"},
            "options": [{"key": "yes", "label": "Yes"}, {"key": "no", "label": "No"}],
        },
        {
            "id": "renaming.why",
            "type": "text",
            "text": {"child": "Tell us why."},
            "show_if": {"question": "renaming.like", "in": ["no"]},
        },
    ],
}


def write(tmp_path, doc, name="renaming.yaml") -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return str(path)


def test_the_questions_commands_have_help(cli):  # noqa: F811
    for args in (
        ["questions"],
        ["questions", "list"],
        ["questions", "export"],
        ["questions", "import"],
    ):
        assert "Usage:" in cli(*args, "--help").output


@pytest.mark.backends("sqlite", "postgres")  # the one test of the command's writes on PostgreSQL
def test_import_list_export_round_trip(cli, tmp_path):  # noqa: F811
    cli("init")
    out = cli("questions", "import", write(tmp_path, BANK), "--kind", "consultation").output
    assert "Questions of 'renaming' read from the file: 3 added." in out
    listed = json.loads(cli("questions", "list", "--json").output)
    assert listed == [
        {
            "key": "renaming",
            "kind": "consultation",
            "title": "Renaming the service",
            "questions": ["renaming.call", "renaming.like", "renaming.why"],
            "open_rounds": [],
        }
    ]
    assert "renaming  consultation" in cli("questions", "list").output
    exported = tmp_path / "out.yaml"
    cli("questions", "export", "renaming", "-o", str(exported))
    doc = yaml.safe_load(exported.read_text(encoding="utf-8"))
    assert [q["id"] for q in doc["questions"]] == ["renaming.call", "renaming.like", "renaming.why"]
    assert yaml.safe_load(cli("questions", "export", "renaming").output) == doc
    # the same file again changes nothing
    assert "3 unchanged" in cli("questions", "import", str(exported)).output


def test_import_of_an_asked_question_makes_a_new_version_and_says_so(cli, tmp_path):  # noqa: F811
    cli("init")
    cli("questions", "import", write(tmp_path, BANK))
    info = json.loads(
        cli(
            "round", "open", "--title", "Name", "--priorities", "renaming", "--json"
        ).output.splitlines()[-1]
    )
    changed = json.loads(json.dumps(BANK))
    changed["questions"][0]["text"] = {"child": "What name would you give the YOT?"}
    out = cli("questions", "import", write(tmp_path, changed, "v2.yaml")).output
    assert "1 saved as new versions" in out
    assert f"Saved as a new version, renaming.call.v2, because round {info['code']} is open" in out


def test_dry_run_changes_nothing(cli, tmp_path):  # noqa: F811
    cli("init")
    out = cli("questions", "import", write(tmp_path, BANK), "--dry-run").output
    assert "3 added" in out and "dry run: nothing was changed" in out
    assert "No questions of the service's own yet" in cli("questions", "list").output


BAD = {
    "not yaml": ("key: [unclosed\n  - {", "bad.yaml: not valid YAML"),
    "duplicate id": (
        yaml.safe_dump({**BANK, "questions": [BANK["questions"][0], BANK["questions"][0]]}),
        "renaming.call",
    ),
    "follows itself": (
        yaml.safe_dump(
            {
                **BANK,
                "questions": [
                    {
                        **BANK["questions"][0],
                        "show_if": {"question": "renaming.call", "answered": True},
                    }
                ],
            }
        ),
        "renaming.call",
    ),
    "300 words": (
        yaml.safe_dump(
            {
                **BANK,
                "questions": [
                    {**BANK["questions"][0], "text": {"child": " ".join(["word"] * 300)}}
                ],
            }
        ),
        "300 words",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_file_is_a_clear_error_and_changes_nothing(cli, tmp_path, case):  # noqa: F811
    cli("init")
    text, message = BAD[case]
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    res = cli("questions", "import", str(path), ok=False)
    assert res.exit_code == 1
    assert message in res.output and "Nothing was changed" in res.output
    assert "Traceback" not in res.output
    assert "No questions of the service's own yet" in cli("questions", "list").output


def test_export_of_a_priority_without_own_questions_is_a_clear_error(cli):  # noqa: F811
    cli("init")
    res = cli("questions", "export", "policing", ok=False)
    assert res.exit_code == 1 and "no questions of the service's own" in res.output


def test_a_file_not_in_utf8_is_refused(cli, tmp_path):  # noqa: F811
    cli("init")
    path = tmp_path / "latin.yaml"
    path.write_bytes("key: ailenwi\ntitle: Ail\u00e9nwi\n".encode("latin-1"))
    res = cli("questions", "import", str(path), ok=False)
    assert res.exit_code == 1 and "not text in UTF-8" in res.output


def test_a_rolling_round_of_local_questions_opens_from_the_shell(cli, tmp_path):  # noqa: F811
    cli("init")
    cli("questions", "import", write(tmp_path, BANK), "--kind", "consultation")
    out = cli(
        "round", "open", "--title", "Feedback", "--priorities", "renaming", "--rolling", "--json"
    ).output
    info = json.loads(out.splitlines()[-1])
    assert info["rolling"] is True and info["closes_on"] is None
    assert info["priorities"] == ["renaming"]
    assert "no closing date" in out
    assert f"{info['code']}  open   rolling" in cli("round", "list").output
    res = cli(
        "round",
        "open",
        "--title",
        "X",
        "--priorities",
        "renaming",
        "--rolling",
        "--closes",
        "2099-01-01",
        ok=False,
    )
    assert res.exit_code == 1 and "a rolling round has no closing date" in res.output
