"""``/r/<code>/changed``: "You said, we did", what the service changed because of the answers.

Public once the lead puts it up (``surveys.services.changes``): the round's link and its
posters' QR codes lead here once the round has closed. Each line shows in the page's
language when the lead wrote it in Welsh too, else in English.
"""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import gettext as _

from surveys.services import changes
from surveys.storage import queries, store
from web import db, i18n, runtime
from web.errors import error_page

bp = Blueprint("changes", __name__)


@bp.get("/r/<code>/changed")
def page(code: str) -> str | tuple[str, int]:
    """Show what changed because of the answers, if the lead has put the page up."""
    session = db()
    try:
        rnd = store.get_round(session, code)
    except store.RoundNotFound:
        return error_page(404, _("Page not found"), _("Sorry, we can't find that page."))
    i18n.offer(rnd.languages)
    if not changes.is_public(rnd):
        return error_page(
            404,
            rnd.title,
            _("The youth justice service has not said what changed yet. Please look again later."),
        )
    welsh = i18n.current() == "cy"
    lines = [
        (
            (c.you_said_cy if welsh and c.you_said_cy else c.you_said),
            (c.we_did_cy if welsh and c.we_did_cy else c.we_did),
        )
        for c in changes.lines(session, rnd)
    ]
    actions = queries.accepted_actions(session, rnd)
    titles = {b.key: b.title for b in runtime().catalogue.banks}
    return render_template("changes.html", round=rnd, lines=lines, actions=actions, titles=titles)
