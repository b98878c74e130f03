"""``yjvoice review``: bulk review decisions from the command line.

``yjvoice review --round CODE --approve-unflagged`` approves every written answer still to
review that is not with the safeguarding lead (flagged answers, and answers with a
safeguarding case, are left alone and counted). ``--as-quotes`` also chooses them as quotes,
for a service that publishes every answer after redaction; ``--dry-run`` only counts.
Registered on the main group by ``register(group)``.
"""

from __future__ import annotations

import click
from sqlalchemy import func, select

from surveys.services import review
from surveys.storage import store
from surveys.storage.models import Answer
from yjvoice.context import ready_runtime


def register(group: click.Group) -> None:
    """Add the ``review`` command to a click group."""
    group.add_command(review_command)


@click.command("review")
@click.option("--round", "code", required=True, help="The round's invite code.")
@click.option(
    "--approve-unflagged",
    is_flag=True,
    help="Approve every written answer still to review, except those with the safeguarding lead.",
)
@click.option(
    "--as-quotes",
    is_flag=True,
    help="With --approve-unflagged: also choose those answers as quotes for the plan.",
)
@click.option("--dry-run", is_flag=True, help="Say what would change; change nothing.")
def review_command(code: str, approve_unflagged: bool, as_quotes: bool, dry_run: bool) -> None:
    """Review a round's answers in bulk (flagged answers are never touched)."""
    if not approve_unflagged:
        raise click.UsageError("say what to do: --approve-unflagged")
    rt = ready_runtime()
    with rt.transaction() as session:
        try:
            rnd = store.get_round(session, code)
        except store.RoundNotFound:
            raise click.ClickException(f"no round has the code {code!r}") from None
        if dry_run:
            pending = session.scalar(
                select(func.count())
                .select_from(Answer)
                .where(*review.visible_conditions(rnd), Answer.review_status == "pending")
            )
            hidden = review.hidden_count(session, rnd)
            click.echo(
                f"Would approve {pending} answers in round {rnd.code}"
                + (" as quotes" if as_quotes else "")
                + f"; {_hidden(hidden)}"
            )
            return
        result = review.approve_unflagged(session, rnd, as_quotes=as_quotes)
        click.echo(
            f"Approved {result.approved} answers in round {rnd.code}"
            + (f" ({result.quotes} chosen as quotes)" if as_quotes else "")
            + f"; {_hidden(result.hidden)}"
        )


def _hidden(n: int) -> str:
    if n == 0:
        return "no answers are with the safeguarding lead."
    verb = "is" if n == 1 else "are"
    return f"{n} answer{'' if n == 1 else 's'} {verb} with the safeguarding lead and left alone."
