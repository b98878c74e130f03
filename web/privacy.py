"""Plain-language privacy notices: ``/privacy`` for young people, ``/privacy/adults`` for others.

The young people's page is written for a reading age of 9 or under (tests/web/test_privacy.py
measures it with textstat). Both pages read the retention period from the settings, so what
they promise is what ``yjvoice purge`` does.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from web import runtime

bp = Blueprint("privacy", __name__, url_prefix="/privacy")

#: Where a respondent can take their answers back, when another blueprint serves it.
WITHDRAW_RULE = "/r/withdraw"


def _withdraw_url() -> str | None:
    """Return the withdrawal page's path if the app serves one (it is optional here)."""
    for rule in current_app.url_map.iter_rules():
        if rule.rule == WITHDRAW_RULE and "GET" in (rule.methods or ()):
            return WITHDRAW_RULE
    return None


def _context() -> dict[str, object]:
    settings = runtime().settings
    return {
        "retention_days": settings.retention_days,
        "withdraw_url": _withdraw_url(),
        "telegram": bool(settings.telegram_bot_username or settings.telegram_token),
    }


@bp.get("")
def child() -> str:
    """The notice for young people (short sentences, reading age 9 or under)."""
    return render_template("privacy/child.html", **_context())


@bp.get("/adults")
def adults() -> str:
    """The notice for parents, carers, staff and partners."""
    return render_template("privacy/adults.html", **_context())
