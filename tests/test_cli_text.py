"""The command-line filter contract: one output line per input line, in order, never a crash."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yjvoice.cli_text import register


@click.group()
def cli() -> None:
    """Stand-in for the main ``yjvoice`` group."""


register(cli)
runner = CliRunner()


def run(args: list[str], data: bytes | str):
    result = runner.invoke(cli, args, input=data, catch_exceptions=False)
    return result


def out_lines(result) -> list[str]:
    return result.stdout.split("\n")[:-1] if result.stdout else []


def input_line_count(data: bytes) -> int:
    return data.count(b"\n") + (0 if not data or data.endswith(b"\n") else 1)


def test_redact_prints_one_redacted_line_per_answer():
    result = run(["redact"], "me and jayden went to Kingsmead PRU\nHope it helps\n\n")
    assert result.exit_code == 0
    assert out_lines(result) == ["me and [name] went to [school]", "Hope it helps", ""]


def test_redact_json_shape():
    result = run(["redact", "--json"], "ring 07700 900123")
    [line] = out_lines(result)
    obj = json.loads(line)
    assert obj["text"] == "ring [phone]"
    assert obj["spans"] == [
        {
            "start": 5,
            "end": 17,
            "category": "phone",
            "original": "07700 900123",
            "placeholder": "[phone]",
        }
    ]


def test_safeguard_prints_flag_or_ok():
    result = run(["safeguard"], "i want to die\nschool was killing me\nmy dad hits me and my mum")
    assert out_lines(result) == ["flag\tsuicidal", "ok", "flag\tphysical_abuse,domestic_abuse"]


def test_safeguard_json_shape():
    [line] = out_lines(run(["safeguard", "--json"], "kms\n"))
    obj = json.loads(line)
    assert obj["flag"] is True
    assert obj["categories"] == ["suicidal"]
    assert obj["matches"] == [{"category": "suicidal", "phrase": "kms", "start": 0, "end": 3}]


def test_safeguard_json_tells_the_tiers_apart():
    lines = out_lines(
        run(
            ["safeguard", "--json"],
            "kms\nthe man at the shop gives me free stuff and says its our secret\n"
            "the police were fair\nDw i ddim yn hoffi ysgol o gwbl\n",
        )
    )
    hard, possible, ok, welsh = (json.loads(x) for x in lines)
    assert hard["flag"] is True and hard["tier"] == "flag" and 0 <= hard["score"] <= 1
    assert possible["flag"] is True and possible["tier"] == "possible"
    assert possible["categories"] and possible["matches"] == [] and possible["trigger"]
    assert ok["flag"] is False and ok["tier"] is None and ok["score"] < possible["score"]
    assert welsh["flag"] is True and welsh["categories"] == ["not_read_automatically"]


def test_safeguard_prints_flag_for_either_tier():
    result = run(
        ["safeguard"],
        "nobody at home even notices if i come back or not, i been "
        "sleeping at different peoples houses\n",
    )
    assert out_lines(result)[0].startswith("flag\t")


BAD_INPUT = [
    b"",
    b"\n",
    b"\n\n\n",
    b"no newline at end",
    b"\xff\xfe\x00garbage\x80\n\xc3\x28\n",
    b"<script>alert('x')</script><b>Mr Patel</b>\n",
    "😀😀😀\n🔥\n".encode(),
    "mixed Ελληνικά и русский 日本語 and jayden\n".encode(),
    "line\u2028separator and\rcarriage\x0bvt\n".encode(),
    b"a\r\nb\r\n",
    b"x" * 100_000 + b"\n" + b"1" * 100_000 + b"\n",
    ("jayden road " * 9000).encode() + b"\n",
]


@pytest.mark.parametrize("command", ["redact", "safeguard"])
@pytest.mark.parametrize("as_json", [False, True])
@pytest.mark.parametrize("data", BAD_INPUT, ids=range(len(BAD_INPUT)))
def test_bad_input_never_crashes_and_keeps_line_count(command, as_json, data):
    result = run([command, "--json"] if as_json else [command], data)
    assert result.exit_code == 0
    lines = out_lines(result)
    assert len(lines) == input_line_count(data)
    if as_json:
        for line in lines:
            json.loads(line)


def test_invalid_utf8_is_reported_on_stderr_without_the_text():
    result = run(["redact"], b"ok line\nbad \xff secret jayden\n")
    assert "line 2 is not valid UTF-8" in result.stderr
    assert "jayden" not in result.stderr
    assert len(out_lines(result)) == 2


def test_bad_config_is_a_clear_error(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("version: 1\nallow:\n  towns: [x]\n", encoding="utf-8")
    result = run(["redact", "--config", str(config)], "hello\n")
    assert result.exit_code == 1
    assert "bad.yaml:3: unknown key allow.towns" in result.stderr


def test_missing_lexicon_is_a_clear_error(tmp_path):
    result = run(["safeguard", "--lexicon", str(tmp_path / "none.yaml")], "hello\n")
    assert result.exit_code == 1
    assert "cannot read safeguarding lexicon" in result.stderr


def test_config_allow_list_is_used(tmp_path):
    config = tmp_path / "local.yaml"
    config.write_text("version: 1\ndeny:\n  schools: [Moorside]\n", encoding="utf-8")
    result = run(["redact", "--config", str(config)], "i went to moorside\n")
    assert out_lines(result) == ["i went to [school]"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(st.text(max_size=80), st.binary(max_size=40).map(lambda b: b.decode("latin-1"))),
        max_size=8,
    )
)
def test_any_text_gives_one_line_per_input_line(items):
    data = "\n".join(item.replace("\n", " ") for item in items).encode("utf-8", "surrogatepass")
    expected = input_line_count(data)
    for command in (["redact"], ["safeguard", "--json"]):
        result = run(command, data)
        assert result.exit_code == 0
        assert len(out_lines(result)) == expected
