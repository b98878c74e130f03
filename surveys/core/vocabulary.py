"""The product's fixed vocabularies and the words shown for them, defined once.

Who answers (audiences), how (channels), what the analysis says (sentiments), where an answer
is in review, where a round or a safeguarding case is, and who may do what (roles). Every
module that needs one of these imports it from here, so adding a channel or renaming a label
is a change in one place.
"""

from __future__ import annotations

# Who answers. Order is the order of every table and form.
AUDIENCES: tuple[str, ...] = ("child", "parent", "staff", "partner")
#: The groups as a table names them.
AUDIENCE_LABELS: dict[str, str] = {
    "child": "Children",
    "parent": "Parents / carers",
    "staff": "Staff",
    "partner": "Partners",
}
#: Whose words the plan prints as quotes ("Children's voices", "Parents' and carers' voices").
QUOTE_AUDIENCES: tuple[str, ...] = ("child", "parent")
#: Who proposes actions for the plan.
PROPOSAL_AUDIENCES: tuple[str, ...] = ("staff", "partner")

# Which language a person answers in (ISO 639-1). English is the base every wording has;
# a round lists the languages it is offered in, in the order the service shows them.
ENGLISH, WELSH = "en", "cy"
LANGUAGES: tuple[str, ...] = (ENGLISH, WELSH)
#: Each language named in itself: the words of a language link or button ("Cymraeg").
LANGUAGE_NAMES: dict[str, str] = {ENGLISH: "English", WELSH: "Cymraeg"}
#: The HTML ``lang`` attribute of a page in each language.
HTML_LANG: dict[str, str] = {ENGLISH: "en-GB", WELSH: "cy"}

# How an answer arrived.
WEB, TELEGRAM, SMS, CONSOLE, IMPORT = "web", "telegram", "sms", "console", "import"
CHANNELS: tuple[str, ...] = (WEB, TELEGRAM, SMS, CONSOLE, IMPORT)
CHANNEL_LABELS: dict[str, str] = {
    WEB: "Web form",
    TELEGRAM: "Telegram",
    SMS: "Text message",
    CONSOLE: "In person",
    IMPORT: "Paper and other forms",
}
#: The channel in a sentence of the plan's method ("... answered on a web form").
CHANNEL_PHRASES: dict[str, str] = {
    WEB: "on a web form",
    TELEGRAM: "by Telegram",
    SMS: "by text message",
    CONSOLE: "in person",
    IMPORT: "on paper and other forms entered afterwards",
}

# What the analysis (or a reviewer) says an answer feels.
SENTIMENTS: tuple[str, ...] = ("positive", "neutral", "negative")
SENTIMENT_LABELS: dict[str, str] = {
    "positive": "Positive",
    "neutral": "Neutral",
    "negative": "Negative",
}

# Review of an answer before anything is published.
REVIEW_STATUSES: tuple[str, ...] = ("pending", "approved", "rejected")
REVIEW_STATUS_LABELS: dict[str, str] = {
    "approved": "Approved",
    "pending": "To review",
    "rejected": "Rejected",
}

ROUND_STATUSES: tuple[str, ...] = ("draft", "open", "closed")

#: "cleared": a possible concern the safeguarding lead read and found no concern in (closed,
#: and the answer may be reviewed and quoted like any other). A hard flag is never cleared.
CASE_STATUSES: tuple[str, ...] = ("new", "acknowledged", "closed", "cleared")
CLOSED_CASE_STATUSES: tuple[str, ...] = ("closed", "cleared")
#: Cases the safeguarding lead still has to act on.
OPEN_CASE_STATUSES: tuple[str, ...] = ("new", "acknowledged")

PROPOSAL_STATUSES: tuple[str, ...] = ("open", "accepted", "declined", "merged")

# Who may do what in the workbench.
LEAD, REVIEWER, SAFEGUARDING, VIEWER = "lead", "reviewer", "safeguarding", "viewer"
ROLES: tuple[str, ...] = (LEAD, REVIEWER, SAFEGUARDING, VIEWER)
ROLE_LABELS: dict[str, str] = {
    LEAD: "Lead (everything, including users)",
    REVIEWER: "Reviewer (review, tag and choose quotes)",
    SAFEGUARDING: "Safeguarding lead (the safeguarding queue)",
    VIEWER: "Viewer (read-only dashboards and approved quotes)",
}
