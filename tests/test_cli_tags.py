"""The sentiment, classify and themes command-line filters keep the line contract."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner

from yjvoice import cli_tags

BAD_LINES = [
    b"",
    b"x" * 100_000,
    b"\xff\xfe\x00\x81 binary \xc3",
    "mixed scripts: Привет 你好 مرحبا ok".encode(),
    "😂😂😂".encode(),
    b"<p>the <b>police</b> were <i>nice</i></p><script>x()</script>",
    "line with a \u2028 separator and a \x0b tab".encode(),
    b"trailing carriage return\r",
]


@pytest.fixture()
def run():
    group = click.Group("yjvoice")
    cli_tags.register(group)
    runner = CliRunner()

    def invoke(args: list[str], data: bytes):
        return runner.invoke(group, args, input=data, catch_exceptions=False)

    return invoke


def _out_lines(result) -> list[str]:
    text = result.stdout
    assert text.endswith("\n") or text == ""
    return text.split("\n")[:-1]


def test_register_adds_the_three_commands():
    group = click.Group("yjvoice")
    cli_tags.register(group)
    assert {"sentiment", "classify", "themes"} <= set(group.commands)


@pytest.mark.parametrize("engine", ["best", "vader", "textblob"])
def test_sentiment_prints_label_tab_score_per_line(run, engine):
    result = run(["sentiment", "--engine", engine], b"it was sick\nhate it\nidk\n")
    assert result.exit_code == 0
    lines = _out_lines(result)
    assert len(lines) == 3
    for line in lines:
        label, score = line.split("\t")
        assert label in {"positive", "neutral", "negative"}
        assert -1.0 <= float(score) <= 1.0
    if engine == "best":
        assert [x.split("\t")[0] for x in lines] == ["positive", "negative", "neutral"]


def test_sentiment_neutral_band_option(run):
    result = run(["sentiment", "--neutral-band", "0.95"], b"good\n")
    assert _out_lines(result)[0].startswith("neutral\t")


def test_classify_prints_key_tab_confidence_per_line(run):
    result = run(["classify"], b"stopped and searched again\nidk\nmore youth clubs\n")
    assert result.exit_code == 0
    lines = [x.split("\t") for x in _out_lines(result)]
    assert [k for k, _ in lines] == ["policing", "none", "prevention"]
    assert all(0.0 <= float(c) <= 1.0 for _, c in lines)


@pytest.mark.parametrize(
    "command", [["sentiment"], ["sentiment", "--engine", "textblob"], ["classify"]]
)
def test_bad_lines_never_crash_and_keep_one_output_line_each(run, command):
    data = b"\n".join(BAD_LINES) + b"\n"
    result = run(command, data)
    assert result.exit_code == 0
    assert len(_out_lines(result)) == len(BAD_LINES)
    assert "not valid UTF-8" in result.stderr
    assert "binary" not in result.stderr  # never echo the answer text


def test_last_line_without_newline_still_counts(run):
    result = run(["sentiment"], b"good\nbad")
    assert len(_out_lines(result)) == 2


def test_empty_input_prints_nothing(run):
    assert run(["sentiment"], b"").stdout == ""
    assert run(["classify"], b"").stdout == ""
    assert run(["themes"], b"").stdout.strip() == "no answers"


def test_themes_prints_counts_and_line_numbers(run):
    answers = [
        "more youth clubs",
        "",
        "police stop us for nothing",
        "youth club at night",
        "police should talk to us better",
        "help with school",
        "teachers dont listen",
        "free football",
        "stop and search is too much",
    ]
    result = run(["themes"], ("\n".join(answers) + "\n").encode())
    assert result.exit_code == 0
    assert "theme 1:" in result.stdout and "answers)" in result.stdout
    assert "lines:" in result.stdout
    # Line 2 is empty: it is no answer, and the numbering still counts it.
    numbers = {
        int(n)
        for line in result.stdout.splitlines()
        if line.strip().startswith("lines:")
        for n in line.split(":", 1)[1].split(",")
    }
    assert numbers == {1, 3, 4, 5, 6, 7, 8, 9}


def test_themes_json_is_editable_data(run):
    answers = "\n".join(
        [
            "more youth clubs",
            "police stop us",
            "youth club please",
            "police are rude",
            "help at school",
            "school excluded me",
        ]
    )
    result = run(["themes", "--json"], answers.encode())
    payload = json.loads(result.stdout)
    assert payload["answers"] == 6
    lines = sorted(n for t in payload["themes"] for n in t["lines"])
    assert lines == [1, 2, 3, 4, 5, 6]
    for t in payload["themes"]:
        assert {"id", "label", "count", "members", "key_phrases", "representatives"} <= set(t)
    assert "trust_in_police" in payload["codebook"]


def test_themes_survives_bad_lines(run):
    result = run(["themes", "--json"], b"\n".join(BAD_LINES) + b"\n")
    assert result.exit_code == 0
    json.loads(result.stdout)


def test_unreadable_input_is_a_clear_error(run, monkeypatch):
    class Broken:
        def __iter__(self):
            raise OSError("device not ready")

    monkeypatch.setattr(cli_tags, "_stdin", lambda: Broken())
    for command in (["sentiment"], ["classify"], ["themes"]):
        result = run(command, b"")
        assert result.exit_code != 0
        assert "cannot read standard input" in result.stderr


def test_embeddings_engine_runs_without_any_extra(run):
    result = run(["classify", "--engine", "embeddings"], b"the police stopped me\n")
    assert result.exit_code == 0
    [line] = result.stdout.splitlines()
    key, confidence = line.split("\t")
    assert key == "policing"
    assert 0.0 <= float(confidence) <= 1.0
