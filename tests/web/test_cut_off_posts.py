"""A form post cut off before its body is complete is refused whole, on a real server.

The fault (issue 14, item 1): gunicorn hands the app whatever bytes arrived before the
phone's connection dropped; the shortened answer was stored, and the page script's full
retry (same submission id) was thrown away as a duplicate. Each case here sends the post
through a raw socket with the declared Content-Length and 45 bytes missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode

import pytest

from surveys.storage.models import Inbound
from tests.live import LiveClient, plain_gunicorn, raw_request, server_env
from tests.web.conftest import count, form_of, live_answers
from tests.web.test_public import Visitor

# A real server process per test: on PostgreSQL, as in production, to keep the suite quick.
pytestmark = pytest.mark.backends("postgres")


ANSWER = (
    "They kept me waiting for hours at the police station and nobody told me why it took so long"
)
SERVERS = [
    pytest.param("yjvoice serve", marks=pytest.mark.server("serve_server")),
    "stock gunicorn gthread",
]


@pytest.fixture
def live_server(request, db_url, tmp_path) -> Iterator[str]:
    """Yield the base URL of the server a case names: the shared `yjvoice serve`
    (``serve_server``, tests/web/conftest.py), or a stock gunicorn of the case's own."""
    shared = request.node.get_closest_marker("server")
    if shared:
        yield request.getfixturevalue(shared.args[0])
        return
    with plain_gunicorn(server_env(db_url, tmp_path)) as base:
        yield base


def walk_to_a_written_question(v: Visitor) -> None:
    """Press the first choice on each page until the page asks for written words."""
    v.open()
    for _ in range(20):
        choices = [(n, val) for n, val, _ in form_of(v.html).buttons if n == "choice"]
        if not choices and not (v.question or "@").startswith("@"):
            return
        v.post(choice=choices[0][1])
    raise AssertionError("no written question reached")


def cut_off_post(base: str, v: Visitor, fields: dict[str, str], missing: int) -> bytes:
    """Post the form by hand with `missing` bytes of its body never sent; return the reply."""
    body = urlencode(fields).encode()
    cookies = "; ".join(f"{k}={val}" for k, val in v.client.http.cookies.items())
    port = int(base.rsplit(":", 1)[1])
    head = (
        f"POST {v.path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\nCookie: {cookies}\r\n\r\n"
    ).encode()
    return raw_request(port, head + body[:-missing])


@pytest.mark.parametrize("server", SERVERS)
def test_cut_off_answer_is_refused_and_its_full_retry_is_stored(
    server, rt, open_round, db_url, live_server
):
    base = live_server
    client = LiveClient(base)
    v = Visitor(client, f"/r/{open_round}/child")
    walk_to_a_written_question(v)
    fields = {**form_of(v.html).hidden, "answer": ANSWER}
    before = live_answers(rt)

    reply = cut_off_post(base, v, fields, missing=45)

    assert reply.startswith(b"HTTP/1.1 400"), reply[:200]
    assert live_answers(rt) == before, "nothing of the cut-off post is stored"
    key = f"web:{fields['submission']}"
    assert count(rt, Inbound, key=key) == 0, "its submission id is still free"

    # The page script's retry: the same form, whole this time.
    r = client.post(v.path, data=fields)
    assert r.status_code == 303
    assert live_answers(rt)[-1][1] == ANSWER
    assert count(rt, Inbound, key=key) == 1
    client.close()
