"""Command-line account management: ``yjvoice user add|list|disable|enable|password|unlock``.

Passwords are read without echo from a terminal, or from one line of standard input with
``--password-stdin`` (for scripts); they are never printed or logged. The same rules as
the workbench apply: at least 12 characters, not a common password, always one active lead.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from surveys.core.vocabulary import ROLES
from surveys.runtime import Runtime
from surveys.services import accounts, audit
from yjvoice.context import actor, ready_runtime

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from surveys.storage.models import User


def _interactive() -> bool:
    """Return True when a person at a terminal can be asked for the password."""
    return sys.stdin.isatty()


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
        password = password[:-1] if password.endswith("\r") else password
        if not password:
            raise click.UsageError("--password-stdin: standard input had no password line")
        return password
    if not _interactive():
        raise click.UsageError(
            "no terminal to ask for the password on: pass it on standard input with "
            "--password-stdin"
        )
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _state(user: User) -> str:
    if not user.active:
        return "disabled"
    return "locked" if accounts.is_locked(user) else "active"


@click.group(name="user")
def user_group() -> None:
    """Add, list and disable the staff accounts that sign in to the workbench."""


@user_group.command(name="add")
@click.option("--email", required=True, help="Their work email; they sign in with it.")
@click.option(
    "--role",
    required=True,
    type=click.Choice(ROLES),
    help="lead (everything), reviewer, safeguarding or viewer.",
)
@click.option(
    "--password-stdin",
    "from_stdin",
    is_flag=True,
    help="Read the password from one line of standard input instead of asking.",
)
def user_add(email: str, role: str, from_stdin: bool) -> None:
    """Add a staff account (asks for its first password without showing it)."""
    rt = ready_runtime()
    password = _read_password(from_stdin)
    try:
        with rt.transaction() as session:
            user = accounts.create_user(session, email, password, role)
            shown = (user.email, user.role)
            audit.record(
                session,
                "user_created",
                actor=actor(),
                target=f"user:{user.id}",
                details={"role": user.role},
            )
    except accounts.AccountError as exc:
        hint = ""
        if "already an account" in str(exc):
            hint = "; to set a new password use `yjvoice user password EMAIL`"
        raise click.ClickException(f"{exc}{hint}") from None
    click.echo(f"Added {shown[1]} account {shown[0]}.")


@user_group.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="One JSON array instead of a table.")
def user_list(as_json: bool) -> None:
    """List every account: email, role, state (active, locked, disabled), last sign-in."""
    rt = ready_runtime()
    with rt.transaction() as session:
        rows: list[dict[str, Any]] = [
            {
                "email": u.email,
                "role": u.role,
                "state": _state(u),
                "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None,
            }
            for u in accounts.list_users(session)
        ]
    if as_json:
        click.echo(json.dumps(rows))
        return
    if not rows:
        click.echo("No accounts yet: add one with `yjvoice user add --email E --role lead`.")
        return
    width = max(len(r["email"]) for r in rows)
    for r in rows:
        last = (r["last_login_at"] or "never")[:16].replace("T", " ")
        click.echo(f"{r['email']:<{width}}  {r['role']:<12}  {r['state']:<8}  {last}")


def _change(
    email: str,
    change: Callable[[Session, User], object],
    done: str,
    rt: Runtime | None = None,
    action: str | None = None,
) -> None:
    rt = rt or ready_runtime()
    try:
        with rt.transaction() as session:
            user = accounts.find_user(session, email)
            if user is None:
                raise accounts.AccountError(f"no account has the email {email.strip()!r}")
            change(session, user)
            shown = user.email
            if action:
                audit.record(
                    session,
                    action,
                    actor=actor(),
                    target=f"user:{user.id}",
                    details={"role": user.role, "active": user.active},
                )
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(done.format(email=shown))


@user_group.command(name="disable")
@click.argument("email")
def user_disable(email: str) -> None:
    """Disable an account: it is signed out everywhere and cannot sign in."""
    _change(
        email,
        lambda s, u: accounts.set_active(s, u, False),
        "Disabled {email}; it is signed out everywhere.",
        action="user_disable",
    )


@user_group.command(name="enable")
@click.argument("email")
def user_enable(email: str) -> None:
    """Let a disabled account sign in again."""
    _change(
        email,
        lambda s, u: accounts.set_active(s, u, True),
        "Enabled {email}.",
        action="user_enable",
    )


@user_group.command(name="unlock")
@click.argument("email")
def user_unlock(email: str) -> None:
    """Lift the 15-minute lock that follows 5 wrong passwords."""
    _change(email, lambda s, u: accounts.unlock(u), "Unlocked {email}.", action="user_unlock")


@user_group.command(name="password")
@click.argument("email")
@click.option(
    "--password-stdin",
    "from_stdin",
    is_flag=True,
    help="Read the password from one line of standard input instead of asking.",
)
def user_password(email: str, from_stdin: bool) -> None:
    """Set a new password for an account (it is signed out everywhere, and unlocked)."""
    rt = ready_runtime()  # fail on a missing schema before asking for a password
    password = _read_password(from_stdin)
    _change(
        email,
        lambda s, u: accounts.set_password(s, u, password),
        "New password set for {email}; it is signed out everywhere.",
        rt,
        action="user_password",
    )


def register(group: click.Group) -> None:
    """Add the ``user`` commands to the ``yjvoice`` group."""
    group.add_command(user_group)
