"""A view's changes are stored when its transaction block ends, and not at all if it raises."""

from __future__ import annotations

import pytest

from surveys.storage import store
from web.transactions import transaction

# Commit and rollback are storage: PostgreSQL too (see tests/conftest.py).
pytestmark = pytest.mark.backends("sqlite", "postgres")


def round_status(rt, code: str) -> str:
    with rt.transaction() as session:
        return store.get_round(session, code).status


def test_a_block_that_ends_stores_its_changes(app, rt, open_round):
    with app.test_request_context(), transaction() as session:
        store.set_status(session, open_round, "closed")
    assert round_status(rt, open_round) == "closed"


def test_a_block_left_by_return_stores_its_changes(app, rt, open_round):
    def close() -> str:
        with transaction() as session:
            return store.set_status(session, open_round, "closed").status

    with app.test_request_context():
        assert close() == "closed"
    assert round_status(rt, open_round) == "closed"


def test_a_block_that_raises_stores_nothing_and_the_session_goes_on(app, rt, open_round):
    with app.test_request_context():
        with pytest.raises(store.RoundInvalid), transaction() as session:
            store.set_status(session, open_round, "closed")
            raise store.RoundInvalid("refused after the change")
        with transaction() as session:  # the request's session is usable again
            assert store.get_round(session, open_round).status == "open"
    assert round_status(rt, open_round) == "open"
