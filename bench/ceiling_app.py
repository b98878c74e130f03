"""The ceiling for benchmark (a): a bare Flask endpoint doing one INSERT per request, on the
same stack as the product (gunicorn, SQLAlchemy session per request, psycopg 3, PostgreSQL)."""

import os

from flask import Flask, request
from sqlalchemy import text

from surveys.db import make_engine, session_factory

app = Flask(__name__)
_sessions = session_factory(make_engine(os.environ["DATABASE_URL"]))


@app.get("/healthz")
def healthz() -> str:
    """Answer the readiness probe."""
    return "ok"


@app.post("/insert")
def insert() -> str:
    """Store one answer."""
    with _sessions.begin() as session:
        session.execute(text("INSERT INTO bench_ceiling (answer) VALUES (:a)"),
                        {"a": request.form.get("answer", "")})
    return "ok"
