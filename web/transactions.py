"""The request's transaction: ``with transaction() as session:`` commits, or rolls back.

Views read through ``web.db()`` (the request's session, opened on first use and closed on
teardown) and change things inside one ``with transaction():`` block: it commits when the
block ends, however it ends (a ``return`` included), and rolls back if it raises, then lets
the exception go on to the view's ``except`` or to ``web.errors``. Its shape is
``Runtime.transaction``'s, so a use case that takes a transaction factory (say
``conversation.run``) takes either.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from web import db


@contextmanager
def transaction() -> Iterator[Session]:
    """Yield the request's session; commit when the block ends, roll back if it raises."""
    session = db()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
