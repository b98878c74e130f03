"""The ceiling for benchmark (a): a bare Flask endpoint doing one INSERT per request, on the
same stack as the product (gunicorn, SQLAlchemy session per request, psycopg 3, PostgreSQL).

Also the floor: a bare endpoint running only the SQL that storing one answer needs, as the
product runs it (see ``surveys.store.apply_inbound``): lock the respondent's row found by
round code and resume key, claim the delivery key, insert the answer, update the
conversation state. No CSRF check, conversation engine, analysis, encryption or page: what
it costs above the ceiling is the database work alone.
"""

import os

from flask import Flask, request
from sqlalchemy import JSON, bindparam, text

from surveys.db import make_engine, session_factory

app = Flask(__name__)
_sessions = session_factory(make_engine(os.environ["DATABASE_URL"]))

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
            return "duplicate", 200
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
