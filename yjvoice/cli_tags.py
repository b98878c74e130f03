"""Command-line filters: ``yjvoice sentiment``, ``yjvoice classify`` and ``yjvoice themes``.

``sentiment`` and ``classify`` read UTF-8 text on stdin, one answer per line, and write
exactly one line per input line, in order (``LABEL<TAB>SCORE`` and
``PRIORITY_KEY<TAB>CONFIDENCE``). ``themes`` reads all the answers, then prints the themes
with their counts and member line numbers (``--json`` for data a lead can edit). Bad lines
(empty, huge, binary, HTML, emoji) never stop a run: undecodable bytes are replaced and
reported on stderr by line number only, never the text. Input that cannot be read at all
is a clear error on stderr.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import BinaryIO

import click

from surveys.analysis import clustering as themes_mod
from surveys.analysis import priorities as classify_mod
from surveys.analysis import sentiment as sentiment_mod
from yjvoice.stdin_lines import lines as read_lines

# Characters that some readers treat as line breaks; an output line must stay one line.
_BREAKS = str.maketrans({c: " " for c in "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"})


def _stdin() -> BinaryIO:
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:
        raise click.ClickException("cannot read standard input: it is not a byte stream")
    return stream


def _run(process: Callable[[str], str]) -> None:
    out = sys.stdout.buffer
    for _number, text in read_lines(_stdin()):
        out.write((process(text).translate(_BREAKS) + "\n").encode("utf-8", errors="replace"))
    out.flush()


@click.command("sentiment")
@click.option(
    "--engine",
    type=click.Choice(sentiment_mod.ENGINES),
    default="best",
    show_default=True,
    help="textblob and vader are peers; best is ours.",
)
@click.option(
    "--neutral-band",
    type=click.FloatRange(0.0, 1.0),
    default=None,
    help="Scores within ±band are neutral (default: the engine's own).",
)
def sentiment_command(engine: str, neutral_band: float | None) -> None:
    """Read answers on stdin, one per line; print `LABEL<TAB>SCORE` for each."""

    def process(text: str) -> str:
        result = sentiment_mod.score(text, engine, neutral_band=neutral_band)
        return f"{result.label}\t{result.score:.4f}"

    _run(process)


@click.command("classify")
@click.option(
    "--engine",
    type=click.Choice(classify_mod.ENGINES),
    default="lexicon",
    show_default=True,
    help="embeddings: zero-shot, the answer's nearest priority description (MiniLM).",
)
def classify_command(engine: str) -> None:
    """Read answers on stdin, one per line; print `PRIORITY_KEY<TAB>CONFIDENCE` for each."""

    def process(text: str) -> str:
        result = classify_mod.classify(text, engine=engine)
        return f"{result.priority}\t{result.confidence:.3f}"

    _run(process)


def _quote(text: str, limit: int = 120) -> str:
    text = " ".join(text.translate(_BREAKS).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@click.command("themes")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the themes as JSON (labels, key phrases, member line numbers).",
)
@click.option(
    "--themes",
    "n_themes",
    type=click.IntRange(1, 20),
    default=None,
    help="Force this many themes (default: 3 to 8, chosen from the answers).",
)
def themes_command(as_json: bool, n_themes: int | None) -> None:
    """Read answers on stdin, one per line; print themes with counts and line numbers."""
    numbers: list[int] = []
    answers: list[str] = []
    for number, text in read_lines(_stdin()):
        if text.strip():  # an empty line is no answer, but keeps its line number
            numbers.append(number)
            answers.append(text)
    found = themes_mod.find_themes(answers, n_themes=n_themes)
    codebook: dict[str, list[int]] = {}
    for number, text in zip(numbers, answers, strict=True):
        for key in themes_mod.tag_codebook(text):
            codebook.setdefault(key, []).append(number)
    if as_json:
        payload = {
            "answers": len(answers),
            "themes": [
                {
                    **t.to_dict(),
                    "lines": [numbers[i] for i in t.members],
                    "representative_lines": [numbers[i] for i in t.representatives],
                }
                for t in found
            ],
            "codebook": {k: {"count": len(v), "lines": v} for k, v in codebook.items()},
        }
        click.echo(json.dumps(payload, ensure_ascii=False))
        return
    if not answers:
        click.echo("no answers")
        return
    for t in found:
        click.echo(f"theme {t.id}: {t.label} ({t.count} answer{'s' if t.count != 1 else ''})")
        click.echo("  lines: " + ", ".join(str(numbers[i]) for i in t.members))
        for i in t.representatives:
            click.echo(f"  e.g. line {numbers[i]}: {_quote(answers[i])}")
    if codebook:
        labels = {c.key: c.label for c in themes_mod.load_codebook()}
        click.echo("codebook:")
        for key, lines in sorted(codebook.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            click.echo(
                f"  {labels.get(key, key)}: {len(lines)} (lines "
                + ", ".join(map(str, lines[:20]))
                + (", …" if len(lines) > 20 else "")
                + ")"
            )


def register(group: click.Group) -> None:
    """Add the ``sentiment``, ``classify`` and ``themes`` filters to the ``yjvoice`` group."""
    group.add_command(sentiment_command)
    group.add_command(classify_command)
    group.add_command(themes_command)
