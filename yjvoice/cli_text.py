"""Command-line text filters: ``yjvoice redact`` and ``yjvoice safeguard``.

Each reads UTF-8 text on stdin, one item per line, and writes exactly one line per
input line, in order. Bad lines (empty, huge, binary, HTML, emoji) never stop the
run: undecodable bytes are replaced and reported on stderr by line number only
(never the text). Input that cannot be read at all is a clear error on stderr.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import click

from surveys.analysis import assess as assess_mod
from surveys.analysis import disclosure as safeguard_mod
from surveys.analysis import pipeline
from surveys.analysis import redact as redact_mod
from yjvoice.stdin_lines import lines as read_lines

# Characters that some readers treat as line breaks; an output line must stay one line.
_BREAKS = str.maketrans({c: " " for c in "\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"})


def _one_line(text: str) -> str:
    return text.translate(_BREAKS)


def _json_line(obj: object) -> str:
    out = json.dumps(obj, ensure_ascii=False)
    return out.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").replace("\x85", "\\u0085")


def _run(process: Callable[[str], str]) -> None:
    stdin = getattr(sys.stdin, "buffer", None)
    if stdin is None:
        raise click.ClickException("cannot read standard input: it is not a byte stream")
    stdout = sys.stdout.buffer
    for _number, text in read_lines(stdin):
        stdout.write((process(text) + "\n").encode("utf-8", errors="replace"))
    stdout.flush()


def _load_redact_config(path: Path | None) -> redact_mod.RedactConfig:
    try:
        if path is None:
            return redact_mod.default_config()
        return redact_mod.RedactConfig.from_yaml(path)
    except redact_mod.ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _load_lexicon(path: Path | None) -> safeguard_mod.Lexicon:
    try:
        if path is None:
            return safeguard_mod.default_lexicon()
        return safeguard_mod.Lexicon.from_yaml(path)
    except safeguard_mod.LexiconError as exc:
        raise click.ClickException(str(exc)) from None


@click.command("redact")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help='Print {"text", "spans": [{"start", "end", "category", "original"}]}.',
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Redaction allow/deny lists (YAML); default: the built-in generic lists.",
)
def redact_command(as_json: bool, config_path: Path | None) -> None:
    """Anonymise answers read from stdin, one per line: names, schools, places, contacts."""
    config = _load_redact_config(config_path)

    def process(text: str) -> str:
        result = redact_mod.redact(text, config=config)
        if as_json:
            return _json_line(redact_mod.to_json(result))
        return _one_line(result.text)

    _run(process)


@click.command("safeguard")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help='Print {"flag", "tier", "score", "categories", "matches": [...], "trigger"}.',
)
@click.option(
    "--lexicon",
    "lexicon_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Safeguarding lexicon (YAML) for the hard flag; default: the built-in lexicon.",
)
def safeguard_command(as_json: bool, lexicon_path: Path | None) -> None:
    """Flag answers read from stdin that may disclose harm: prints `flag CATS` or `ok`.

    Two tiers, both printed as `flag`: the lexicon's hard flag, and the learned recall
    net's possible concern (which also takes answers not written in English, category
    `not_read_automatically`). `--json` tells them apart: "tier" is "flag" or "possible"
    (null when ok), "score" the net's score (0..1) for the answer's top sentence.
    """
    lexicon = _load_lexicon(lexicon_path)

    def process(text: str) -> str:
        hard = safeguard_mod.check(text, lexicon=lexicon)
        learned = assess_mod.assess(text)
        found = pipeline.safeguarding(hard, learned)
        flagged = bool(found.get("flagged"))
        categories = found.get("flag_categories", [])
        if as_json:
            trigger = found.get("flag_trigger") or []
            return _json_line(
                {
                    "flag": flagged,
                    "tier": found.get("flag_tier"),
                    "score": found.get("flag_score"),
                    "categories": categories,
                    "matches": [m.as_dict() for m in hard.matches],
                    "trigger": [{"start": a, "end": b, "text": text[a:b]} for a, b in trigger],
                }
            )
        if flagged:
            return "flag\t" + ",".join(categories)
        return "ok"

    _run(process)


def register(group: click.Group) -> None:
    """Add the ``redact`` and ``safeguard`` filters to the main ``yjvoice`` group."""
    group.add_command(redact_command)
    group.add_command(safeguard_command)
