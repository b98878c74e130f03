"""What every ``yjvoice`` command needs before it works: a runtime, a schema, an actor.

``yjvoice.cli`` and each ``cli_*`` module take these from here, so no command module has
to import another (``cli`` imports the ``cli_*`` modules to register their commands).
"""

from __future__ import annotations

import getpass

import click

from surveys.config import ConfigError
from surveys.core.catalogue import BankError
from surveys.runtime import Runtime


def runtime() -> Runtime:
    """Return the runtime, its banks checked; closed when the command ends."""
    from surveys.notify import alerts

    try:
        rt = Runtime()
        rt.banks  # noqa: B018 - validate the banks now, with a clear message if bad
    except (ConfigError, BankError) as exc:
        raise click.ClickException(str(exc)) from None
    # Any command may open a safeguarding case (an import, a console chat, a job): every
    # case queues its alerts, whichever command opened it.
    alerts.install(rt.settings)
    click.get_current_context().call_on_close(rt.close)
    return rt


def require_schema(rt: Runtime) -> None:
    """Stop the command with a clear message when the database is not set up yet."""
    from surveys.storage.db import schema_is_current

    if not schema_is_current(rt.database):
        raise click.ClickException("the database is not set up yet: run `yjvoice init` first")


def ready_runtime() -> Runtime:
    """Return the runtime of a command that needs the database set up."""
    rt = runtime()
    require_schema(rt)
    return rt


def actor() -> str:
    """Return the audit log's label for whoever runs a command (the OS account)."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no login name (some containers)
        return "cli"
