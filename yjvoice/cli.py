"""The ``yjvoice`` command line: set up, run rounds, serve the web form and bot, export."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from surveys.core import engine
from surveys.core.vocabulary import AUDIENCES, CONSOLE
from surveys.export.plan import NoApprovedQuotes
from surveys.export.suppression import MIN_GROUP
from surveys.runtime import Runtime, initialise
from surveys.services import assessing, conversation, exporting
from surveys.services.accounts import AccountError
from surveys.storage import store
from yjvoice.context import actor as cli_actor
from yjvoice.context import require_schema as _require_schema
from yjvoice.context import runtime as _runtime

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from surveys.storage.models import Round

log = logging.getLogger("yjvoice")
DEMO_TITLE = "Demo: have your say on the youth justice plan"


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _round_info(rt: Runtime, rnd: Round) -> dict[str, Any]:
    return {
        "id": rnd.id,
        "code": rnd.code,
        "title": rnd.title,
        "status": rnd.status,
        "closes_on": rnd.closes_on.isoformat() if rnd.closes_on else None,
        "rolling": bool(rnd.rolling),
        "priorities": list(rnd.priorities),
        "audiences": list(rnd.audiences),
        "languages": list(rnd.languages),
        "web_path": f"/r/{rnd.code}",
        "web_url": rt.web_link(rnd.code),
        "telegram_start": f"/start {rnd.code}",
        "telegram_link": rt.settings.telegram_link(rnd.code),
        # The text to send the service's number (SMS_NUMBER) to join by text message.
        "sms_start": rnd.code,
        "sms_number": rt.settings.sms.number,
    }


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log more (ids only, never answer text).")
def main(verbose: bool) -> None:
    """YJ Voice: consult young people, parents, staff and partners for the youth justice plan.

    Settings come from the environment: DATABASE_URL (default: SQLite in ./instance),
    SECRET_KEY, TELEGRAM_TOKEN, TELEGRAM_API_URL, TELEGRAM_WEBHOOK_SECRET, PUBLIC_BASE_URL,
    SMS_PROVIDER and its keys (see README).
    """
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@main.command()
@click.option("--admin-email", help="Create (or reset) a lead account with this email.")
@click.option("--admin-password", help="Password for --admin-email (at least 12 characters).")
def init(admin_email: str | None, admin_password: str | None) -> None:
    """Create or upgrade the database schema and load the question banks (safe to rerun)."""
    if bool(admin_email) != bool(admin_password):
        raise click.UsageError("--admin-email and --admin-password go together")
    rt = _runtime()
    try:
        count = initialise(rt, admin_email=admin_email, admin_password=admin_password)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Database ready; {count} question banks loaded.")
    if admin_email:
        click.echo(f"Lead account ready: {admin_email.strip().lower()}")


@main.group(name="round")
def round_() -> None:
    """Open, close and list consultation rounds."""


@round_.command(name="open")
@click.option("--title", required=True, help="What the round is called, e.g. 'Plan 2027/28'.")
@click.option(
    "--priorities",
    required=True,
    help="'all' or comma-separated priority keys, e.g. policing,education.",
)
@click.option(
    "--audiences",
    default="child,parent,staff,partner",
    show_default=True,
    help="Comma-separated: child, parent, staff, partner.",
)
@click.option(
    "--languages",
    default="en",
    show_default=True,
    help="Comma-separated, in the order people see them: en (English), cy (Cymraeg). "
    "'cy,en' offers Welsh first.",
)
@click.option("--closes", "closes", help="Closing date, YYYY-MM-DD (optional).")
@click.option(
    "--rolling",
    is_flag=True,
    help="Open all year with no closing date (end-of-intervention feedback); the round "
    "page shows its results by month.",
)
@click.option("--draft", is_flag=True, help="Create it as a draft, not taking answers yet.")
@click.option("--json", "as_json", is_flag=True, help="End with one JSON line about the round.")
def round_open(
    title: str,
    priorities: str,
    audiences: str,
    languages: str,
    closes: str | None,
    rolling: bool,
    draft: bool,
    as_json: bool,
) -> None:
    """Open a round and print the web link and Telegram deep link to hand out.

    Priorities may be national priorities or the service's own (``yjvoice questions list``).
    """
    rt = _runtime()
    prios = list(rt.catalogue.priority_keys) if priorities.strip() == "all" else _csv(priorities)
    try:
        closes_on = date.fromisoformat(closes) if closes else None
    except ValueError:
        raise click.BadParameter("use YYYY-MM-DD", param_hint="--closes") from None
    _require_schema(rt)
    try:
        with rt.transaction() as session:
            rnd = store.open_round(
                session,
                rt.catalogue,
                title=title,
                priorities=prios,
                audiences=_csv(audiences),
                closes_on=closes_on,
                status="draft" if draft else "open",
                languages=_csv(languages),
                rolling=rolling,
            )
            info = _round_info(rt, rnd)
    except store.RoundInvalid as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Round {info['code']} is {info['status']}: {info['title']}")
    if info["rolling"]:
        click.echo("  Rolling:       no closing date; results by month on the round's page")
    click.echo(f"  Web link:      {info['web_url']}")
    click.echo(
        f"  Telegram:      send the bot  {info['telegram_start']}"
        + (f"  ({info['telegram_link']})" if info["telegram_link"] else "")
    )
    if rt.settings.sms.enabled:
        to = f" to {info['sms_number']}" if info["sms_number"] else ""
        click.echo(f"  Text message:  text {info['sms_start']}{to}")
    for aud in info["audiences"]:
        click.echo(f"  For {aud + ':':9}  {info['web_url']}/{aud}")
    if as_json:
        click.echo(json.dumps(info))


def _set_status(code: str, status: str) -> None:
    rt = _runtime()
    _require_schema(rt)
    try:
        with rt.transaction() as session:
            rnd = store.set_status(session, code, status)
            click.echo(f"Round {rnd.code} is {rnd.status}.")
    except store.RoundNotFound:
        raise click.ClickException(f"no round has the code {code!r}") from None


@round_.command(name="close")
@click.argument("code")
def round_close(code: str) -> None:
    """Close a round: it stops taking answers (answers so far are kept)."""
    _set_status(code, "closed")


@round_.command(name="reopen")
@click.argument("code")
def round_reopen(code: str) -> None:
    """Reopen a closed or draft round."""
    _set_status(code, "open")


@round_.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="One JSON array of rounds.")
def round_list(as_json: bool) -> None:
    """List rounds, newest first."""
    rt = _runtime()
    _require_schema(rt)
    with rt.transaction() as session:
        infos = [_round_info(rt, r) for r in store.list_rounds(session)]
    if as_json:
        click.echo(json.dumps(infos))
        return
    if not infos:
        click.echo("No rounds yet. Open one with: yjvoice round open --title ... --priorities all")
    for i in infos:
        closes = f" closes {i['closes_on']}" if i["closes_on"] else ""
        closes = " rolling" if i["rolling"] else closes
        click.echo(
            f"{i['code']}  {i['status']:<6}{closes}  {i['title']}  "
            f"({len(i['priorities'])} priorities; {','.join(i['audiences'])}; "
            f"{','.join(i['languages'])})"
        )


@main.command()
@click.option("--round", "code", required=True, help="The round's invite code.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(list(exporting.FORMATS)),
    help="docx (Word, the default), xlsx (Excel), csv (the quotes; with --all every "
    "answer, the default then) or md (Markdown).",
)
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="With --format csv: every live answer, raw text included (for the lead's own "
    "analysis; never for publication). Flagged answers' words are withheld.",
)
@click.option(
    "--include-flagged",
    is_flag=True,
    help="With --all: include flagged answers' words too (for the safeguarding lead only; "
    "recorded in the audit log).",
)
@click.option(
    "--min-group",
    type=click.IntRange(min=2),
    default=MIN_GROUP,
    show_default=True,
    help="Hide any number about a group smaller than this ('fewer than N').",
)
@click.option(
    "--lang",
    type=click.Choice(["en", "cy"]),
    default="en",
    show_default=True,
    help="The plan's language: cy prints Welsh headings, questions and labels (Word, "
    "Markdown and Excel); quotes are printed as given, and an English plan adds the lead's English "
    "translation of a Welsh quote.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="File to write ('-' for standard output; csv and md only).",
)
def export(
    code: str,
    fmt: str | None,
    everything: bool,
    include_flagged: bool,
    min_group: int,
    lang: str,
    out: Path,
) -> None:
    """Export the plan's tables: approved quotes per priority, ratings, actions, method.

    Only approved, redacted, unflagged answers are printed; numbers about small groups are
    hidden. With --format csv --all: one row per answer, as given (not for publication).
    """
    fmt = fmt or ("csv" if everything else "docx")
    if everything and fmt != "csv":
        raise click.UsageError("--all goes with --format csv")
    if include_flagged and not everything:
        raise click.UsageError("--include-flagged goes with --all")
    to_stdout = str(out) == "-"
    if to_stdout and fmt in ("docx", "xlsx"):
        raise click.UsageError(f"a {fmt} file cannot go to standard output; give --out FILE")
    if not to_stdout:
        _check_writable(out)
    rt = _runtime()
    _require_schema(rt)
    with rt.transaction() as session:
        try:
            rnd = store.get_round(session, code)
        except store.RoundNotFound:
            raise click.ClickException(f"no round has the code {code!r}") from None
        if everything:
            n = _write_out(
                out,
                "w",
                lambda fh: exporting.export_answers(
                    session,
                    rnd,
                    rt.catalogue,
                    fh,
                    actor=cli_actor(),
                    include_flagged=include_flagged,
                ),
            )
            click.echo(f"Wrote {n} answers to {out}", err=to_stdout)
            return
        mode = "wb" if exporting.FORMATS[fmt].binary else "w"
        try:
            plan = _write_out(
                out,
                mode,
                lambda fh: exporting.export_plan(
                    session,
                    rnd,
                    rt.catalogue,
                    fmt,
                    fh,
                    actor=cli_actor(),
                    min_group=min_group,
                    lang=lang,
                ),
            )
        except NoApprovedQuotes as exc:
            raise click.ClickException(str(exc)) from None
        unread = assessing.being_read(session, rnd)
    hidden = len(plan.suppressed)
    click.echo(
        f"Wrote {plan.quote_count} quotes in {len(plan.sections)} priorities to {out}"
        + (f"; {hidden} small numbers not shown (see the appendix)" if hidden else "")
        + (
            f"; {unread} answers still being read for safeguarding concerns were left out"
            if unread
            else ""
        ),
        err=to_stdout,
    )


def _check_writable(out: Path) -> None:
    folder = out.parent if str(out.parent) else Path(".")
    if out.is_dir():
        raise click.ClickException(f"cannot write {out}: it is a folder")
    if not folder.is_dir():
        raise click.ClickException(f"cannot write {out}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise click.ClickException(f"cannot write {out}: permission denied")


def _write_out(out: Path, mode: str, write: Callable[[IO[Any]], Any]) -> Any:
    """Write through a temporary file beside the target, so a failure leaves no half file."""
    if str(out) == "-":
        return write(sys.stdout.buffer if "b" in mode else sys.stdout)
    tmp = out.with_name(out.name + ".part")
    try:
        if "b" in mode:
            with tmp.open("wb") as fh:
                result = write(fh)
        else:
            with tmp.open("w", encoding="utf-8", newline="") as fh:
                result = write(fh)
        tmp.replace(out)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise click.ClickException(f"cannot write {out}: {exc.strerror or exc}") from None
        raise
    return result


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def web(host: str, port: int) -> None:
    """Serve the web form and admin pages (development server; `yjvoice serve` in production)."""
    from web import create_app

    rt = _runtime()
    _require_schema(rt)
    create_app().run(host=host, port=port, debug=False, use_reloader=False)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
def serve(host: str, port: int) -> None:
    """Serve the web form and admin pages with the production server, as docker compose does.

    gunicorn with 2 worker processes of 4 threads each; a request gets a thread only once
    it has fully arrived (slow clients hold none). Put nginx in front for TLS (README).
    """
    from web.server import command

    rt = _runtime()
    _require_schema(rt)
    rt.close()
    argv = command(host, port)
    sys.stdout.flush()
    # gunicorn takes this process over, so signals (stop, reload) reach it directly.
    os.execv(argv[0], argv)  # noqa: S606 - our own interpreter, our own fixed arguments


@main.command()
def bot() -> None:
    """Run the Telegram bot by long polling (needs TELEGRAM_TOKEN)."""
    from bot.app import run_polling

    rt = _runtime()
    if not rt.settings.telegram_token:
        raise click.ClickException("TELEGRAM_TOKEN is not set (get one from @BotFather)")
    _require_schema(rt)
    from surveys.jobs import broker

    broker.configure(rt.settings, rt.sessions)  # ...handed to the worker on commit
    run_polling(rt)


def _print_replies(replies: tuple[engine.Reply, ...]) -> None:
    for r in replies:
        click.echo()
        click.echo(r.text)
        if r.help and r.kind == "prompt":
            click.echo(f"  ({r.help})")
        for i, (_, label) in enumerate(r.choices, start=1):
            click.echo(f"  {i}. {label}")
        if r.progress:
            click.echo(f"  [question {r.progress[0]} of {r.progress[1]}]")


@main.command()
@click.option("--round", "code", required=True, help="The round's invite code.")
@click.option("--audience", type=click.Choice(AUDIENCES), help="Answer as this audience.")
def chat(code: str, audience: str | None) -> None:
    """Answer a round in the terminal: the same conversation as the web and Telegram."""
    rt = _runtime()
    _require_schema(rt)
    try:
        with rt.transaction() as session:
            rnd = store.get_round(session, code)
            resp, first = conversation.start(
                session, rnd, rt.context, channel=CONSOLE, audience=audience
            )
            rid = resp.id
    except store.RoundNotFound:
        raise click.ClickException(f"no round has the code {code!r}") from None
    except store.RoundClosed:
        raise click.ClickException("that round is not open") from None
    _print_replies(first.replies)
    click.echo("\n(Type a number or words. help, skip, back, stop work any time. Ctrl-D ends.)")
    while True:
        try:
            line = input("> ")
        except EOFError:
            click.echo()
            break
        inbound = engine.Inbound(text=line)

        def work(session: Session, i: engine.Inbound = inbound) -> conversation.Turn:
            return conversation.apply(session, rt.context, rid, i, key=f"{CONSOLE}:{uuid.uuid4()}")

        turn = conversation.run(rt.transaction, work)
        _print_replies(turn.replies)
        if turn.problem or turn.completed or engine.command_of(inbound) == "stop":
            break


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Set up and print the link, but do not serve.")
def demo(host: str, port: int, no_serve: bool) -> None:
    """Quick start: set up SQLite, load the banks, open a demo round and serve the web form."""
    rt = _runtime()
    initialise(rt)
    with rt.transaction() as session:
        rnd = next(
            (r for r in store.list_rounds(session) if r.title == DEMO_TITLE and store.is_open(r)),
            None,
        )
        if rnd is None:
            rnd = store.open_round(
                session,
                rt.catalogue,
                title=DEMO_TITLE,
                priorities=rt.catalogue.priority_keys,
                audiences=AUDIENCES,
                languages=("en", "cy"),  # offered in Welsh too: every page has the link
            )
        code = rnd.code
    base = f"http://{host}:{port}"
    click.echo(f"Database: {rt.settings.database_url}")
    click.echo(f"Demo round {code} is open.")
    click.echo(f"  Answer it as a young person:   {base}/r/{code}/child")
    click.echo(f"  ... as a parent or carer:      {base}/r/{code}/parent")
    click.echo(f"  ... or choose who you are:     {base}/r/{code}")
    click.echo(f"  Yn Gymraeg (in Welsh):         {base}/r/{code}/child?lang=cy")
    click.echo(f"  In the terminal instead:       yjvoice chat --round {code}")
    click.echo(
        f"  Export answers:                yjvoice export --round {code} --format csv "
        "--all --out answers.csv"
    )
    click.echo(
        f"  The lead's workbench:          {base}/admin  (first create a lead: "
        "yjvoice user add --email you@example.org --role lead)"
    )
    if no_serve:
        return
    from web import create_app

    click.echo(f"Serving on {base}  (Ctrl-C stops)")
    # Background jobs (alerts, themes for a whole round) need a worker: run one alongside.
    import subprocess

    worker = subprocess.Popen([sys.executable, "-m", "yjvoice", "worker", "--workers", "1"])
    try:
        create_app().run(host=host, port=port, debug=False, use_reloader=False)
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=40)
        except subprocess.TimeoutExpired:
            worker.kill()


def _register_filters() -> None:
    # The analysis filters (redact, safeguard, sentiment, classify, themes) read stdin;
    # `user`, `import`, `review` and `questions` are the workbench's command-line side.
    from yjvoice import (
        cli_admin,
        cli_alerts,
        cli_import,
        cli_jobs,
        cli_questions,
        cli_retention,
        cli_review,
        cli_sms,
        cli_tags,
        cli_text,
    )

    cli_text.register(main)
    cli_tags.register(main)
    cli_admin.register(main)
    cli_import.register(main)
    cli_review.register(main)
    cli_retention.register(main)
    cli_alerts.register(main)
    cli_sms.register(main)
    cli_jobs.register(main)
    cli_questions.register(main)


_register_filters()
