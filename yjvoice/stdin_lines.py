"""Reading the analysis filters' input: UTF-8 lines from standard input, never a crash."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

import click


def lines(stream: BinaryIO) -> Iterator[tuple[int, str]]:
    """Yield (line number, text) for each input line; warn once about undecodable bytes."""
    warned = False
    try:
        for number, raw in enumerate(stream, start=1):
            if raw.endswith(b"\n"):
                raw = raw[:-1]
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode("utf-8", errors="replace")
                if not warned:
                    click.echo(
                        f"warning: line {number} is not valid UTF-8; undecodable bytes were "
                        "replaced (further such lines are not reported)",
                        err=True,
                    )
                    warned = True
            yield number, text.replace("\x00", "\ufffd")
    except OSError as exc:
        raise click.ClickException(f"cannot read standard input: {exc}") from None
