"""The workbench's navigation, filtered by role."""

from __future__ import annotations

from dataclasses import dataclass

from flask import request, url_for
from flask_login import current_user

from surveys.core.vocabulary import ROLES
from web.admin.access import LEAD, READERS, REVIEWERS, SAFEGUARDERS

#: (endpoint, label, roles): each area of the workbench adds its entry here.
NAV: list[tuple[str, str, tuple[str, ...]]] = [
    ("admin.index", "Rounds", READERS),
    ("admin.dashboard_home", "Dashboard", READERS),
    ("admin.review_home", "Review", REVIEWERS),
    ("admin.themes_home", "Themes", REVIEWERS),
    ("admin.exports_home", "Export", READERS),
    ("admin.proposals_index", "Proposals", READERS),
    ("admin.imports_index", "Import", (LEAD,)),
    ("admin.questions_index", "Questions", (LEAD,)),
    ("admin.safeguarding_queue", "Safeguarding", SAFEGUARDERS),
    ("admin.users", "Users", (LEAD,)),
    ("admin.audit_log", "Audit log", (LEAD,)),
    ("admin.jobs_index", "Jobs", (LEAD,)),
    ("admin.own_password", "Your password", ROLES),
]


@dataclass(frozen=True)
class NavItem:
    """One link in the header."""

    url: str
    label: str
    current: bool


def admin_nav() -> list[NavItem]:
    """Return the links the signed-in user may follow."""
    if not current_user.is_authenticated:
        return []
    items = []
    for endpoint, label, roles in NAV:
        if current_user.role in roles:
            items.append(NavItem(url_for(endpoint), label, request.endpoint == endpoint))
    return items
