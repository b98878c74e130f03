"""Plain-language privacy notices: ``/privacy`` for young people, ``/privacy/adults`` for others.

The young people's page is written for a reading age of 9 or under (tests/web/test_privacy.py
measures it with textstat). Each notice is a whole template per language (Welsh in
``templates/privacy/cy/``), so a translator reads and checks it as one text. Both pages
read the retention period from the settings, so what they promise is what ``yjvoice purge``
does.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from web import i18n, runtime

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
        "helpline": settings.second_helpline
        if i18n.current() in settings.second_helpline_languages
        else None,
    }


def _template(name: str) -> str:
    """Return a notice's template in the page's language (a whole page per language)."""
    lang = i18n.current()
    return f"privacy/{name}.html" if lang == "en" else f"privacy/{lang}/{name}.html"


@bp.get("")
def child() -> str:
    """The notice for young people (short sentences, reading age 9 or under)."""
    return render_template(_template("child"), **_context())


@bp.get("/adults")
def adults() -> str:
    """The notice for parents, carers, staff and partners."""
    return render_template(_template("adults"), **_context())
