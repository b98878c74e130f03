"""The public form is rate-limited per client address and per respondent (issue 14, item 3).

The fault: one address created 1,000 respondents in 2.6 s. Here `yjvoice serve` (two
worker processes) counts in the real Redis on 127.0.0.1:6379, as in production; each test
comes from addresses of its own. Clients come from different loopback addresses (127.0.0.2,
...), so no forwarded header is involved: the server sees the real addresses. The server is
``limits_server`` (tests/web/conftest.py), shared with the sign-in limit tests.
"""

from __future__ import annotations

import uuid

import pytest

from surveys.storage.models import Respondent
from tests.live import from_address
from tests.web.conftest import count, hidden_fields

# A real server process: on PostgreSQL, as in production, to keep the suite quick.
pytestmark = pytest.mark.backends("postgres")


def test_a_flood_of_starts_from_one_address_is_refused_beyond_the_limit(
    rt, open_round, db_url, limits_server
):
    base = limits_server  # 20 starts a minute per address, 10 answers per respondent
    flood = from_address(base, "127.0.0.2")
    statuses = []
    for _ in range(100):
        flood.cookies.clear()  # a flood keeps no cookie: each visit starts someone new
        statuses.append(flood.get(f"/r/{open_round}/child").status_code)
    flood.close()
    assert statuses.count(200) == 20, "both workers share one count"
    assert statuses.count(429) == 80
    with from_address(base, "127.0.0.2") as again:
        refused = again.get(f"/r/{open_round}/child")
    assert "wait a few minutes" in refused.text and refused.headers["Retry-After"]

    # A young person on another network is not affected.
    with from_address(base, "127.0.0.3") as other:
        assert other.get(f"/r/{open_round}/child").status_code == 200
    assert count(rt, Respondent) == 21


def test_answers_beyond_the_limit_per_respondent_are_refused_and_not_stored(
    rt, open_round, db_url, limits_server
):
    base = limits_server  # 20 starts a minute per address, 10 answers per respondent
    client = from_address(base, "127.0.0.4")
    page = client.get(f"/r/{open_round}/child")
    fields = hidden_fields(page.text)
    statuses = []
    for _ in range(15):  # "help" changes nothing: only the count can refuse it
        data = {**fields, "submission": str(uuid.uuid4()), "command": "help"}
        statuses.append(client.post(f"/r/{open_round}/child", data=data).status_code)
    assert statuses[:10] == [303] * 10
    assert statuses[10:] == [429] * 5
    client.close()
    # Another respondent on the same address carries on.
    with from_address(base, "127.0.0.4") as fresh:
        page = fresh.get(f"/r/{open_round}/child")
        data = {**hidden_fields(page.text), "command": "help"}
        assert fresh.post(f"/r/{open_round}/child", data=data).status_code == 303
