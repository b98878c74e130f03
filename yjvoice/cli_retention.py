"""``yjvoice purge`` (retention) and ``yjvoice keys rotate|generate`` (encryption at rest)."""

from __future__ import annotations

import json

import click

from surveys.services import audit, retention
from surveys.storage import crypto
from yjvoice.context import actor, ready_runtime


@click.command(name="purge")
@click.option(
    "--days",
    type=click.IntRange(min=1),
    help="Keep raw text this many days after a round closes (default: RETENTION_DAYS, 90).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object of counts.")
def purge_command(days: int | None, as_json: bool) -> None:
    """Empty the raw text of answers whose round closed long ago (safe to run twice).

    Redacted text, tags, themes and approved quotes stay; each run that purges something
    is recorded in the audit log.
    """
    rt = ready_runtime()
    days = days or rt.settings.retention_days
    with rt.transaction() as session:
        counts = retention.purge(session, days=days, actor=actor())
    if as_json:
        click.echo(json.dumps({**counts.as_dict(), "days": days}))
        return
    click.echo(
        f"Purged the raw text of {counts.answers} answers and {counts.contacts} contact "
        f"details in {counts.rounds} rounds closed more than {days} days ago."
    )


@click.group(name="keys")
def keys_group() -> None:
    """Manage the keys that encrypt raw answer text at rest (ANSWER_KEYS)."""


@keys_group.command(name="generate")
def keys_generate() -> None:
    """Print a new key: put it FIRST in ANSWER_KEYS, then run `yjvoice keys rotate`."""
    from cryptography.fernet import Fernet

    click.echo(Fernet.generate_key().decode("ascii"))


@keys_group.command(name="rotate")
@click.option("--batch", type=click.IntRange(min=1), default=500, show_default=True)
@click.option(
    "--after",
    type=click.IntRange(min=0),
    default=0,
    help="Start after this row id (to resume a stopped run; a re-run also skips "
    "rows already done).",
)
def keys_rotate(batch: int, after: int) -> None:
    """Re-encrypt every answer's raw text under the newest key in ANSWER_KEYS.

    Then the older keys can be removed from ANSWER_KEYS.
    """
    rt = ready_runtime()

    def progress(table: str, res: crypto.RotateResult) -> None:
        click.echo(
            f"{table}: {res.scanned} read, {res.rewritten} re-encrypted (last id {res.last_id})",
            err=True,
        )

    results = crypto.rotate(rt.database.begin, batch=batch, after=after, progress=progress)
    details = {f"{t}_rewritten": r.rewritten for t, r in results.items()}
    with rt.transaction() as session:
        audit.record(session, "keys_rotated", actor=actor(), details=details)
    for table, res in results.items():
        click.echo(f"{table}: {res.rewritten} of {res.scanned} rows re-encrypted.")


def register(group: click.Group) -> None:
    """Add ``purge`` and ``keys`` to the ``yjvoice`` group."""
    group.add_command(purge_command)
    group.add_command(keys_group)
