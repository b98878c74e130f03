"""Sign-in limits hold across worker processes, per real address, without locking the owner
out (issue 14, item 4).

The faults: each gunicorn worker counted failures alone (two workers allowed 20 a minute
instead of 10); behind a proxy every user shared one address; five wrong passwords locked
the safeguarding lead out for 15 minutes at anyone's will. Here `yjvoice serve` runs its
two workers counting in the real Redis, and clients come from distinct loopback addresses.
The server is ``limits_server`` (tests/web/conftest.py), shared with the form limit tests.
"""

from __future__ import annotations

import time

import pytest

from surveys.services.accounts import upsert_user
from tests.live import from_address
from tests.web.conftest import STAFF_PASSWORD, hidden_fields

# A real server process: on PostgreSQL, as in production, to keep the suite quick.
pytestmark = pytest.mark.backends("postgres")


LEAD = "safeguarding.lead@yjs.example.org"


def sign_in(client, email: str, password: str) -> int:
    page = client.get("/admin/login")
    token = hidden_fields(page.text)["csrf_token"]
    data = {"csrf_token": token, "email": email, "password": password}
    return client.post("/admin/login", data=data).status_code


def test_two_workers_share_one_count_of_failed_sign_ins_per_address(rt, db_url, limits_server):
    base = limits_server
    statuses = []
    for i in range(12):
        with from_address(base, "127.0.0.11") as c:  # new connections: both workers
            statuses.append(sign_in(c, f"nobody{i}@yjs.example.org", "wrong password!!"))
    assert statuses == [401] * 10 + [429] * 2, "10 failures a minute from one address"
    with from_address(base, "127.0.0.12") as other:
        assert sign_in(other, "nobody@yjs.example.org", "wrong password!!") == 401


def test_an_attacker_cannot_lock_the_lead_out(rt, db_url, limits_server):
    with rt.transaction() as s:
        upsert_user(s, LEAD, STAFF_PASSWORD, role="safeguarding")
    base = limits_server
    with from_address(base, "127.0.0.13") as attacker:
        for _ in range(5):
            assert sign_in(attacker, LEAD, "guess guess guess") == 401
        # That address is refused on this account now, even with the right password.
        assert sign_in(attacker, LEAD, STAFF_PASSWORD) == 401
    time.sleep(1.1)  # after five failures the account waits one second between tries
    with from_address(base, "127.0.0.14") as lead:
        assert sign_in(lead, LEAD, STAFF_PASSWORD) == 302
