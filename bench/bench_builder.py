"""Benchmark: the question builder's live checks and preview, as a lead types.

Target: a check (or a preview) answered in well under 100 ms of server time, so the page
keeps up with typing (``web/static/builder.js`` waits 500 ms after the last key). Server
time is measured in-process through the WSGI test client (routing, sign-in, CSRF, the
checks with textstat, the catalogue draft, the template), on a SQLite database in a
temporary folder: no network or browser time.

Builds a consultation with three questions, then times ``--repeats`` requests of each
kind after three warm-up requests and prints median and 95th percentile.

    .venv/bin/python bench/bench_builder.py [--repeats 200]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

from surveys.config import Settings  # noqa: E402
from surveys.runtime import Runtime, initialise  # noqa: E402
from surveys.services import accounts, questions  # noqa: E402
from web import create_app  # noqa: E402

PASSWORD = "bench password long enough"
HARD = (
    "Do you think the youth justice service should consider changing its name to something "
    "that reflects participation, and what would you suggest?"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="yjv-bench-builder-"))
    settings = Settings(
        instance_path=folder,
        database_url=f"sqlite:///{folder / 'bench.sqlite3'}",
        secret_key="bench-secret-key-not-for-production-0123456789",
    )
    rt = Runtime(settings)
    initialise(rt)
    with rt.transaction() as s:
        accounts.upsert_user(s, "lead@bench.example.org", PASSWORD, "lead")
        questions.create_bank(
            s,
            rt.banks,
            title="Renaming",
            purpose="A new name.",
            kind="consultation",
            key="renaming",
        )
        for name, spec in (
            ("renaming.call", {"type": "text", "text": {"child": "What should we call the YOT?"}}),
            ("renaming.like", {"type": "yesno", "text": {"child": "Do you like the name YOT?"}}),
            (
                "renaming.why",
                {
                    "type": "text",
                    "text": {"child": "Tell us why."},
                    "show_if": {"question": "renaming.like", "in": ["no"]},
                },
            ),
        ):
            questions.add_question(s, rt.banks, priority="renaming", spec=spec, name=name)
    app = create_app({"YJV_SETTINGS": settings, "TESTING": True})
    client = app.test_client()
    page = client.get("/admin/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    res = client.post(
        "/admin/login",
        data={"csrf_token": token, "email": "lead@bench.example.org", "password": PASSWORD},
    )
    assert res.status_code == 302, res.status_code
    page = client.get("/admin/questions/renaming/edit/renaming.like").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    form = {
        "csrf_token": token,
        "type": "text",
        "text-child-en": HARD,
        "text-parent-en": "What name do you like?",
        "text-child-cy": "Beth ddylen ni alw'r YOT?",
    }
    kinds = {
        "live check (POST /check, JSON)": ("/admin/questions/renaming/check", form),
        "preview of the question being written (POST)": (
            "/admin/questions/renaming/preview",
            {**form, "action": "preview"},
        ),
        "preview of a saved follow-up (GET)": (
            "/admin/questions/renaming/preview?saved=renaming.why",
            None,
        ),
        "the builder page (GET)": ("/admin/questions/renaming/edit/renaming.like", None),
    }
    print(
        f"{platform.node()} {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, "
        f"Python {platform.python_version()}, {args.repeats} requests each"
    )
    for name, (url, data) in kinds.items():
        times = []
        for i in range(args.repeats + 3):
            start = time.perf_counter()
            res = client.post(url, data=data) if data is not None else client.get(url)
            took = time.perf_counter() - start
            assert res.status_code == 200, (url, res.status_code)
            if i >= 3:
                times.append(took * 1000)
        times.sort()
        p95 = times[int(0.95 * (len(times) - 1))]
        print(f"| {name} | median {statistics.median(times):.1f} ms, p95 {p95:.1f} ms |")
    app.extensions["yjvoice"].close()
    rt.close()


if __name__ == "__main__":
    main()
