"""``yjvoice import``: bring answers from a CSV or Excel file into a round.

Reads the whole file first and reports every row that does not fit (with its row number);
only a file with no problems is stored, all of it in one transaction (with any new local
questions it needs). ``--dry-run`` stops after the check. Answer text is never printed or
logged; problems quote only the short cells (audience, priority, question, a choice).

Question wordings that are not a question's id or exact wording are mapped with
``--new-questions`` (each becomes a new local question under its priority) or a mapping file
(``--map``; ``--write-map`` writes one to edit, with the closest questions suggested).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import yaml

from surveys.core.vocabulary import AUDIENCES
from surveys.services import importer
from surveys.storage import store
from yjvoice.context import actor, ready_runtime

MAX_PROBLEMS_SHOWN = 50
MAX_MAP_BYTES = 1024 * 1024
MAP_HELP = """\
# Where each question of {name} goes, for: yjvoice import --map {map_name}
# Each wording maps to one of:
#   a question id        its answers go to that question (e.g. policing.opinion)
#   new                  a new local question, under the file's priority for it, else the
#                        "priority" below (kept for these answers; never asked)
#   new: <priority key>  a new local question under that priority
#   skip                 its answers are not imported
"""


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
@click.option(
    "--audience",
    type=click.Choice(AUDIENCES),
    help="Who answered, when the file has no audience column (a Microsoft Forms export).",
)
@click.option(
    "--priority",
    metavar="KEY",
    help="The priority new local questions go under when the file gives none (e.g. policing).",
)
@click.option(
    "--new-questions",
    is_flag=True,
    help="Make each question wording that is not a question's id or exact wording a new "
    "local question under its priority (the file's, else --priority). New questions are "
    "kept for these answers and never asked.",
)
@click.option(
    "--map",
    "map_path",
    type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path),
    help="A YAML file saying where each question wording goes: a question id, 'new', "
    "'new: <priority>' or 'skip' (write one with --write-map).",
)
@click.option(
    "--write-map",
    "write_map",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the mapping this import would use, with the closest questions suggested, "
    "to edit and pass to --map; import nothing.",
)
def import_answers(
    code: str,
    path: Path,
    dry_run: bool,
    encoding: str | None,
    audience: str | None,
    priority: str | None,
    new_questions: bool,
    map_path: Path | None,
    write_map: Path | None,
) -> None:
    """Import answers from paper, Microsoft Forms or a text-message round (CSV or XLSX).

    A file has a row per answer (columns question and answer, and as needed audience,
    priority and respondent) or, as Microsoft Forms exports it, a row per person and a
    column per question (its Email and Name columns are never imported). Questions may be
    worded any way: map each wording to a question or to a new local question with
    --new-questions or --map.

    Every answer goes through redaction, sentiment, priority, themes and the safeguarding
    check, like one given online. Importing the same file again stores nothing twice.
    """
    size = path.stat().st_size
    if size >= importer.MAX_IMPORT_BYTES:
        raise click.ClickException(importer.too_big_message(size))
    data = path.read_bytes()
    choices = _choices(map_path, audience, priority, new_questions or write_map is not None)
    rt = ready_runtime()
    with rt.transaction() as session:
        try:
            rnd = store.get_round(session, code)
        except store.RoundNotFound:
            raise click.ClickException(f"no round has the code {code!r}") from None
        if choices.priority is not None and choices.priority not in (*rnd.priorities, "general"):
            raise click.ClickException(
                f"--priority {choices.priority!r} is not one of round {rnd.code}'s priorities: "
                f"{', '.join(rnd.priorities)}"
            )
        try:
            preview = importer.preview_for_round(
                data, rnd, rt.catalogue, filename=path.name, encoding=encoding, choices=choices
            )
        except importer.ImportFileError as exc:
            raise click.ClickException(f"{path.name}: {exc}") from None
        if write_map is not None:
            _write_map(write_map, path, preview, choices)
            click.echo(f"Wrote {write_map}: edit it, then import with --map {write_map}.")
            return
        titles = {b.key: b.title for b in rt.catalogue.banks}
        _report(preview, titles)
        if not preview.ok:
            raise click.ClickException(
                f"nothing was imported: {len(preview.problems)} problem(s) to fix in {path.name}"
            )
        if dry_run:
            click.echo("Dry run: nothing was imported.")
            return
        try:
            result = importer.import_checked(
                session, rnd, preview, secret=rt.settings.secret_key, actor=actor(), base=rt.banks
            )
        except importer.ImportRefused as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(
        f"Imported {result.answers} answers from {result.respondents} new respondents into "
        f"round {rnd.code}."
        + (f" {result.duplicates} already imported, skipped." if result.duplicates else "")
        + (f" {result.superseded} earlier answers replaced." if result.superseded else "")
    )
    if result.questions:
        click.echo(
            f"Created {len(result.questions)} local questions, kept for these answers (not "
            f"asked): {', '.join(result.questions)}."
        )
    if result.flagged:
        click.echo(
            f"{result.flagged} answers may be disclosures of harm: they are in the safeguarding "
            "queue for the safeguarding lead now."
        )
    if result.answers:
        click.echo(
            "Written answers are read once more by the background worker (yjvoice worker, or "
            "yjvoice jobs run --once); any possible concern it finds joins the queue then."
        )


def _choices(
    map_path: Path | None, audience: str | None, priority: str | None, new_questions: bool
) -> importer.Choices:
    """Return the lead's choices from the flags and the mapping file (flags win)."""
    targets: dict[str, importer.Target] = {}
    if map_path is not None:
        doc = _read_map(map_path)
        audience = audience or doc.get("audience")
        priority = priority or doc.get("priority")
        for words, value in (doc.get("questions") or {}).items():
            try:
                targets[importer.fold(str(words))] = importer.Target.parse(value)
            except ValueError as exc:
                raise click.ClickException(f"{map_path.name}: {words!r}: {exc}") from None
        if audience is not None and audience not in AUDIENCES:
            raise click.ClickException(
                f"{map_path.name}: audience {audience!r} is not one of {', '.join(AUDIENCES)}"
            )
    return importer.Choices(
        targets=targets, priority=priority, audience=audience, new_questions=new_questions
    )


def _read_map(path: Path) -> dict[str, Any]:
    if path.stat().st_size > MAX_MAP_BYTES:
        raise click.ClickException(f"{path.name}: a mapping file is at most 1 MB")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise click.ClickException(f"{path.name}: save the mapping file as UTF-8") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise click.ClickException(f"{path.name}{where}: not a YAML mapping file") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("questions", {}), dict):
        raise click.ClickException(
            f"{path.name}: a mapping file has 'questions:' then a line per wording "
            '("wording": question id, new or skip); write one with --write-map'
        )
    unknown = set(doc) - {"questions", "priority", "audience"}
    if unknown:
        raise click.ClickException(
            f"{path.name}: unknown key {sorted(unknown)[0]!r} (use questions, priority, audience)"
        )
    return doc


def _write_map(out: Path, path: Path, preview: importer.Preview, choices: importer.Choices) -> None:
    """Write the mapping the preview used, each wording's suggestion in a comment."""
    lines = [MAP_HELP.format(name=path.name, map_name=out.name).rstrip("\n")]
    if choices.priority:
        lines.append(f"priority: {choices.priority}")
    if choices.audience:
        lines.append(f"audience: {choices.audience}")
    lines.append("questions:")
    written: set[str] = set()
    for w in preview.wordings:
        if importer.fold(w.text) in written:
            continue
        written.add(importer.fold(w.text))
        target = w.target or importer.Target(importer.NEW, priority=w.new_priority)
        s = w.suggestion
        note = ""
        if s is not None and not s.exact:
            note = f"  # closest: {s.question_id} ({s.percent}%)"
        elif w.target is None:
            note = "  # choose: no question is close"
        lines.append(f"  {json.dumps(w.text, ensure_ascii=False)}: {target}{note}")
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _report(preview: importer.Preview, titles: dict[str, str]) -> None:
    where = f" ({preview.encoding})" if preview.encoding else ""
    layout = "a column per question" if preview.layout == importer.WIDE else "a row per answer"
    click.echo(f"Read {preview.filename}: {preview.kind.upper()}{where}, {layout}.")
    for note in preview.notes:
        click.echo(f"Note: {note}")
    for w in preview.wordings:
        click.echo(f"  {_shown(w.text)} -> {_where(w, titles)}")
    if preview.new_questions:
        click.echo(
            f"{len(preview.new_questions)} new local questions will be created (kept for these "
            "answers, never asked)."
        )
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


def _shown(text: str, limit: int = 70) -> str:
    return json.dumps(text if len(text) <= limit else text[: limit - 1] + "…", ensure_ascii=False)


def _where(w: importer.Wording, titles: dict[str, str]) -> str:
    t = w.target
    if t is None:
        near = f" (closest: {w.suggestion.question_id})" if w.suggestion else ""
        return f"not mapped{near}"
    if t.kind == importer.SKIP:
        return "not imported"
    if t.kind == importer.NEW:
        prio = t.priority or w.new_priority
        return f"a new local question under {titles.get(prio or '', prio or '?')}"
    s = w.suggestion
    how = ""
    if s is not None and s.question_id == t.question_id:
        how = " (exact)" if s.exact else f" (closest, {s.percent}%)"
    return f"{t.question_id}{how}"
