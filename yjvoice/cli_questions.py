"""``yjvoice questions``: a service's own priorities and questions from the command line.

The same use cases as the workbench's question builder (``surveys.services.questions``):
``list`` what the service has written, ``export`` a priority as a bank file (YAML, the
packaged banks' format) and ``import`` one back, all or nothing: a question that has been
asked is saved as a new version, and the command says so.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from surveys.services import questions
from surveys.services.questions import QuestionInvalid
from yjvoice.context import actor, ready_runtime


class _DryRun(Exception):
    """Raised inside the transaction of ``import --dry-run`` so nothing is kept."""


def register(group: click.Group) -> None:
    """Add the ``questions`` group to the ``yjvoice`` group."""
    group.add_command(questions_group)


@click.group(name="questions")
def questions_group() -> None:
    """The service's own priorities, consultations and questions (bank files in YAML)."""


@questions_group.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="One JSON array of priorities.")
def questions_list(as_json: bool) -> None:
    """List the local priorities and consultations, and own questions under national ones."""
    rt = ready_runtime()
    out = []
    with rt.transaction() as session:
        for bank in questions.local_banks(session):
            rows = questions.questions_under(session, bank.key)
            out.append(
                {
                    "key": bank.key,
                    "kind": bank.kind,
                    "title": bank.title,
                    "questions": [r.qid for r in rows],
                    "open_rounds": [r.code for r in questions.open_rounds_asking(session, bank.key)]
                    if rows
                    else [],
                }
            )
        for b in rt.banks.banks:
            rows = questions.questions_under(session, b.key)
            if rows:
                out.append(
                    {
                        "key": b.key,
                        "kind": "national",
                        "title": b.title,
                        "questions": [r.qid for r in rows],
                        "open_rounds": [
                            r.code for r in questions.open_rounds_asking(session, b.key)
                        ],
                    }
                )
    if as_json:
        click.echo(json.dumps(out))
        return
    if not out:
        click.echo(
            "No questions of the service's own yet. Write them in the workbench (Questions), "
            "or upload a bank file with: yjvoice questions import FILE"
        )
    for item in out:
        asked = f"; open rounds {', '.join(item['open_rounds'])}" if item["open_rounds"] else ""
        click.echo(
            f"{item['key']}  {item['kind']:<12}  {item['title']}  "
            f"({len(item['questions'])} questions{asked})"
        )
        for qid in item["questions"]:
            click.echo(f"    {qid}")


@questions_group.command(name="export")
@click.argument("priority")
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the bank file here (default: standard output).",
)
def questions_export(priority: str, out: Path | None) -> None:
    """Write a priority's own questions as a bank file (YAML, the packaged banks' format)."""
    rt = ready_runtime()
    with rt.transaction() as session:
        try:
            text = questions.export_bank(session, rt.banks, priority)
        except LookupError:
            raise click.ClickException(
                f"{priority!r} has no questions of the service's own to export "
                "(see: yjvoice questions list)"
            ) from None
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(f"Wrote {priority} to {out}.", err=True)


@questions_group.command(name="import")
@click.argument(
    "path", metavar="FILE", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--kind",
    type=click.Choice(list(questions.KINDS)),
    default=questions.PRIORITY,
    show_default=True,
    help="What a new local priority in the file is: a priority of the plan, or a one-off "
    "consultation.",
)
@click.option("--dry-run", is_flag=True, help="Check the file and say what would change.")
def questions_import(path: Path, kind: str, dry_run: bool) -> None:
    """Read a bank file into the service's questions: all of it, or nothing.

    A question that has been asked (an open round asks it, or it has answers) is saved as
    a new version; its answers keep the wording they answered.
    """
    if path.stat().st_size > questions.MAX_FILE_BYTES:
        raise click.ClickException(
            f"{path.name}: the file is over {questions.MAX_FILE_BYTES // 1024} KB: "
            "that is not a bank of questions"
        )
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise click.ClickException(f"{path.name}: the file is not text in UTF-8") from None
    rt = ready_runtime()
    try:
        with rt.transaction() as session:
            done = questions.import_bank(
                session, rt.banks, text, filename=path.name, kind=kind, actor=actor()
            )
            if dry_run:
                raise _DryRun
    except QuestionInvalid as exc:
        raise click.ClickException(f"{exc} Nothing was changed.") from None
    except _DryRun:
        click.echo(f"{done.summary()} (dry run: nothing was changed)")
        return
    click.echo(done.summary())
    for message in done.messages:
        click.echo(f"  {message}")
