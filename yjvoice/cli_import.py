"""``yjvoice import``: bring answers from a CSV or Excel file into a round.

Reads the whole file first and reports every row that does not fit (with its row number);
only a file with no problems is stored, all of it in one transaction. ``--dry-run`` stops
after the check. Answer text is never printed or logged; problems quote only the short cells
(audience, priority, question, a choice).
"""

from __future__ import annotations

from pathlib import Path

import click

from surveys.services import importer
from surveys.storage import store
from yjvoice.context import actor, ready_runtime

MAX_PROBLEMS_SHOWN = 50


def register(group: click.Group) -> None:
    """Add the ``import`` command to the ``yjvoice`` group."""
    group.add_command(import_answers)


@click.command(name="import")
@click.option("--round", "code", required=True, help="The round's invite code.")
@click.option(
    "--file",
    "path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path),
    help="A .csv or .xlsx file with columns audience, priority, question, answer "
    "(and optionally respondent).",
)
@click.option("--dry-run", is_flag=True, help="Check the file and show what would be imported.")
@click.option(
    "--encoding",
    type=click.Choice(sorted(importer.ENCODINGS)),
    help="The CSV file's encoding, when the automatic guess is wrong.",
)
def import_answers(code: str, path: Path, dry_run: bool, encoding: str | None) -> None:
    """Import answers from paper, Microsoft Forms or a text-message round (CSV or XLSX).

    Every answer goes through redaction, sentiment, priority, themes and the safeguarding
    check, like one given online. Importing the same file again stores nothing twice.
    """
    size = path.stat().st_size
    if size >= importer.MAX_IMPORT_BYTES:
        raise click.ClickException(importer.too_big_message(size))
    data = path.read_bytes()
    rt = ready_runtime()
    with rt.transaction() as session:
        try:
            rnd = store.get_round(session, code)
        except store.RoundNotFound:
            raise click.ClickException(f"no round has the code {code!r}") from None
        try:
            preview = importer.preview_for_round(
                data, rnd, rt.catalogue, filename=path.name, encoding=encoding
            )
        except importer.ImportFileError as exc:
            raise click.ClickException(f"{path.name}: {exc}") from None
        _report(preview)
        if not preview.ok:
            raise click.ClickException(
                f"nothing was imported: {len(preview.problems)} problem(s) to fix in {path.name}"
            )
        if dry_run:
            click.echo("Dry run: nothing was imported.")
            return
        try:
            result = importer.import_checked(
                session, rnd, preview, secret=rt.settings.secret_key, actor=actor()
            )
        except importer.ImportRefused as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(
        f"Imported {result.answers} answers from {result.respondents} new respondents into "
        f"round {rnd.code}."
        + (f" {result.duplicates} already imported, skipped." if result.duplicates else "")
        + (f" {result.superseded} earlier answers replaced." if result.superseded else "")
    )
    if result.flagged:
        click.echo(
            f"{result.flagged} answers may be disclosures of harm: they are in the safeguarding "
            "queue for the safeguarding lead now."
        )


def _report(preview: importer.Preview) -> None:
    where = f" ({preview.encoding})" if preview.encoding else ""
    click.echo(f"Read {preview.filename}: {preview.kind.upper()}{where}.")
    for note in preview.notes:
        click.echo(f"Note: {note}")
    if preview.rows:
        audiences = ", ".join(f"{n} {a}" for a, n in sorted(preview.by_audience().items()))
        click.echo(
            f"{len(preview.rows)} answers from {preview.respondent_count} respondents "
            f"({audiences})."
        )
    if preview.skipped:
        shown = ", ".join(str(n) for n in preview.skipped[:20])
        more = "…" if len(preview.skipped) > 20 else ""
        click.echo(f"{len(preview.skipped)} rows have no answer and are skipped: {shown}{more}")
    for problem in preview.problems[:MAX_PROBLEMS_SHOWN]:
        click.echo(str(problem), err=True)
    hidden = len(preview.problems) - MAX_PROBLEMS_SHOWN
    if hidden > 0:
        click.echo(f"... and {hidden} more problems.", err=True)
