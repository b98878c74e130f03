"""The lead's workbench: sign-in, rounds, review, themes, exports, safeguarding queue.

Every view here is wrapped by ``access.roles_required``; ``tests/web/test_admin_access.py``
walks ``app.url_map`` to prove no /admin route is left open.
"""

from __future__ import annotations

from flask import Blueprint
from werkzeug.wrappers import Response

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _no_store(response: Response) -> Response:
    # Admin pages carry personal data: never cache them.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


bp.after_request(_no_store)

# Each module registers its routes on bp: sign-in and rounds overview (views), rounds, kits
# and accounts, import, actions and the safeguarding queue, review, themes and dashboards, and the
# question builder.
from web.admin import (  # noqa: E402,F401
    audit,
    changes,
    dashboard,
    exports,
    imports,
    invites,
    jobs,
    proposals,
    questions,
    review,
    rounds,
    safeguarding,
    texts,
    themes,
    users,
    views,
)
