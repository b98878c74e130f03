"""Which language a public page is in, and the link to the same page in the other one.

Flask-Babel translates template and Python strings from ``web/translations/<lang>/``
(gettext catalogues; the compiled ``.mo`` files are committed and a test fails when one is
older than its ``.po``). A page's language, first that applies:

1. ``?lang=cy`` (or ``en``): a person's explicit choice, remembered in a cookie; an unknown
   value is ignored;
2. on a respondent's page, the language of their conversation (set by ``use``): a Welsh-only
   round is in Welsh whatever link led there;
3. the cookie from an earlier choice;
4. on a first visit, the browser's ``Accept-Language``;
5. English.

Every public page links to itself in the other language ("Cymraeg" / "English"); on a
respondent's page the link keeps their place (their conversation is in the database, so the
link only has to name the language). Staff screens stay English.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Flask, current_app, g, request
from flask_babel import Babel, refresh
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from surveys.core.vocabulary import ENGLISH, HTML_LANG, LANGUAGE_NAMES, LANGUAGES

#: Blueprints whose pages are for staff and partners: English only, no language link.
STAFF_BLUEPRINTS = frozenset({"admin", "auth", "proposals"})
COOKIE = "yjv_lang"
COOKIE_AGE = 365 * 24 * 3600
babel = Babel()


def asked() -> str | None:
    """Return the language the request's ``?lang=`` asks for, if it is one we have."""
    value = (request.args.get("lang") or "").strip().lower()[:8]
    return value if value in LANGUAGES else None


def _remembered() -> str | None:
    value = request.cookies.get(COOKIE, "")
    return value if value in LANGUAGES else None


def guess() -> str:
    """Return the language to show before any conversation decides it (steps 1, 3-5)."""
    return (
        asked()
        or _remembered()
        or request.accept_languages.best_match(LANGUAGES, default=ENGLISH)
        or ENGLISH
    )


def select_locale() -> str:
    """Flask-Babel's locale selector: the page's language."""
    if request.blueprint in STAFF_BLUEPRINTS:
        return ENGLISH  # staff screens stay English
    return g.get("yjv_lang") or guess()


def use(lang: str) -> None:
    """Show this request's page in a language (a respondent's conversation decides it)."""
    if lang in LANGUAGES and g.get("yjv_lang") != lang:
        g.yjv_lang = lang
        refresh()


def current() -> str:
    """Return the language this request's page is in."""
    return select_locale()


def offer(languages: tuple[str, ...] | list[str]) -> None:
    """Limit the language link on this page to some languages (a round's)."""
    g.yjv_offered = tuple(languages)


def _links() -> list[dict[str, str]]:
    """Return the links to this page in the other languages (name, url, lang)."""
    if request.endpoint is None or request.blueprint in STAFF_BLUEPRINTS:
        return []
    here = current()
    offered = g.get("yjv_offered", LANGUAGES)
    args = MultiDict(request.args)
    out = []
    for lang in offered:
        if lang == here:
            continue
        args.setlist("lang", [lang])
        query = urlencode(list(args.items(multi=True)))
        out.append({"lang": lang, "name": LANGUAGE_NAMES[lang], "url": f"{request.path}?{query}"})
    return out


def _context() -> dict[str, object]:
    lang = current()
    return {"page_lang": lang, "html_lang": HTML_LANG[lang], "language_links": _links()}


def _remember(response: Response) -> Response:
    lang = asked()
    if lang is not None and _remembered() != lang:
        response.set_cookie(
            COOKIE,
            lang,
            max_age=COOKIE_AGE,
            httponly=True,
            samesite="Lax",
            secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        )
    return response


def init_app(app: Flask) -> None:
    """Install Babel, the page's language, the language links and the remembered choice."""
    babel.init_app(app, locale_selector=select_locale, default_domain="messages")
    app.context_processor(_context)
    app.after_request(_remember)
