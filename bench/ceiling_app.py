"""The ceiling for benchmark (a): a bare Flask endpoint doing one INSERT per request, on the
same stack as the product (gunicorn, SQLAlchemy session per request, psycopg 3, PostgreSQL).

Also the floor: a bare endpoint running only the SQL that storing one answer needs, as the
product runs it (see ``surveys.services.conversation.apply``): lock the respondent's row found by
round code and resume key, claim the delivery key, insert the answer, update the
conversation state. No CSRF check, conversation engine, analysis, encryption or page: what
it costs above the ceiling is the database work alone.

And the optimistic floor: the same work as two statements in autocommit mode, the least a
different design could do (the product does not work this way): read the respondent
without a lock, then one statement that updates the state only if its version is still the
one read, claims the key and inserts the answer. A lost race or a duplicate makes that
statement change nothing (or fail on the key), so a real implementation would re-read and
retry; no transaction, so no BEGIN and COMMIT round trips.
"""

import os

from flask import Flask, request
from sqlalchemy import JSON, bindparam, text

from surveys.storage.db import make_engine, session_factory

app = Flask(__name__)
_engine = make_engine(os.environ["DATABASE_URL"])
_sessions = session_factory(_engine)
_autocommit = session_factory(_engine.execution_options(isolation_level="AUTOCOMMIT"))

_LOCK = text(
    "SELECT r.id, r.round_id, r.state FROM respondents r JOIN rounds ro ON ro.id = r.round_id "
    "WHERE ro.code = :code AND r.channel = 'web' AND r.resume_key = :key FOR UPDATE OF r"
)
_CLAIM = text(
    "INSERT INTO inbound (key, respondent_id, created_at) VALUES (:key, :rid, now()) "
    "ON CONFLICT (key) DO NOTHING RETURNING key"
)
_ANSWER = text(
    "INSERT INTO answers (round_id, respondent_id, priority, question_id, audience, channel, "
    "text, inbound_key, superseded, created_at, flagged, review_status, is_quote) "
    "VALUES (:round_id, :rid, 'general', 'bench', 'child', 'web', :text, :key, false, now(), "
    "false, 'pending', false) RETURNING id"
)
_STATE = text(
    "UPDATE respondents SET state = :state, state_version = state_version + 1, "
    "updated_at = now() WHERE id = :rid"
).bindparams(bindparam("state", type_=JSON))


_READ = text(
    "SELECT r.id, r.state, r.state_version FROM respondents r "
    "JOIN rounds ro ON ro.id = r.round_id "
    "WHERE ro.code = :code AND r.channel = 'web' AND r.resume_key = :key"
)
_WRITE = text(
    "WITH u AS (UPDATE respondents SET state = :state, state_version = state_version + 1, "
    "updated_at = now() WHERE id = :rid AND state_version = :version RETURNING id, round_id), "
    "c AS (INSERT INTO inbound (key, respondent_id, created_at) SELECT :key, id, now() FROM u "
    "RETURNING key), "
    "a AS (INSERT INTO answers (round_id, respondent_id, priority, question_id, audience, "
    "channel, text, inbound_key, superseded, created_at, flagged, review_status, is_quote) "
    "SELECT u.round_id, u.id, 'general', 'bench', 'child', 'web', :text, c.key, false, now(), "
    "false, 'pending', false FROM u, c RETURNING id) "
    "SELECT id FROM a"
).bindparams(bindparam("state", type_=JSON))


@app.get("/healthz")
def healthz() -> str:
    """Answer the readiness probe."""
    return "ok"


@app.post("/insert")
def insert() -> str:
    """Store one answer."""
    with _sessions.begin() as session:
        session.execute(
            text("INSERT INTO bench_ceiling (answer) VALUES (:a)"),
            {"a": request.form.get("answer", "")},
        )
    return "ok"


@app.post("/answer-sql")
def answer_sql() -> tuple[str, int]:
    """Store one answer with the product's SQL and nothing else."""
    key = "bench:" + request.form.get("submission", "")
    with _sessions.begin() as session:
        row = session.execute(
            _LOCK, {"code": request.form.get("code", ""), "key": request.form.get("key", "")}
        ).first()
        if row is None:
            return "no such respondent", 404
        if session.execute(_CLAIM, {"key": key, "rid": row.id}).first() is None:
            return "duplicate: stored before", 409
        session.execute(
            _ANSWER,
            {
                "round_id": row.round_id,
                "rid": row.id,
                "key": key,
                "text": request.form.get("answer", ""),
            },
        )
        session.execute(_STATE, {"rid": row.id, "state": row.state})
    return "ok", 200


@app.post("/answer-sql-optimistic")
def answer_sql_optimistic() -> tuple[str, int]:
    """Store one answer with two autocommit statements (see the module's docstring)."""
    form = request.form
    with _autocommit() as session:
        key = {"code": form.get("code", ""), "key": form.get("key", "")}
        row = session.execute(_READ, key).first()
        if row is None:
            return "no such respondent", 404
        params = {
            "rid": row.id,
            "version": row.state_version,
            "state": row.state,
            "key": "bench:" + form.get("submission", ""),
            "text": form.get("answer", ""),
        }
        if session.execute(_WRITE, params).first() is None:
            return "changed meanwhile: read again and retry", 409
    return "ok", 200
