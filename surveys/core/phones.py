"""Phone numbers for text messages: typed or received, normalised to E.164. Pure.

``phonenumbers`` decides what is a real number. It calls Ofcom's drama range for mobiles
(07700 900000 to 07700 900999) invalid, yet that range is what GOV.UK Notify's test keys
and every invented number in our tests and demos use, and it can never reach a real person;
so it is accepted too.
"""

from __future__ import annotations

import re

import phonenumbers

#: Ofcom's drama range for mobiles, as E.164 numbers: never allocated to anyone.
DRAMA_FIRST, DRAMA_LAST = 447700900000, 447700900999
_JUNK = re.compile(r"[\s().\-/]")
MAX_INPUT = 40


def is_drama(e164: str) -> bool:
    """Return True for a number in Ofcom's drama range for mobiles (07700 900xxx)."""
    digits = e164.lstrip("+")
    return digits.isdigit() and DRAMA_FIRST <= int(digits) <= DRAMA_LAST


def to_e164(raw: str | None, region: str = "GB") -> str | None:
    """Return a number as E.164 (``+447700900123``), or None when it is not a number.

    Takes what a person types (``07700 900123``, ``+44 7700 900123``) and what providers
    send (Notify's digits without "+", ``447700900123``; Twilio's ``+447700900123``).
    """
    text = _JUNK.sub("", (raw or "")[:MAX_INPUT])
    if not text:
        return None
    if text.startswith("00"):
        text = "+" + text[2:]
    elif text.isdigit() and not text.startswith("0"):
        text = "+" + text  # Notify's source_number: international digits without "+"
    if not re.fullmatch(r"\+?\d{6,16}", text):
        return None
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if phonenumbers.is_valid_number(parsed) or is_drama(e164):
        return e164
    return None


def masked(e164: str) -> str:
    """Return a number with all but its last three digits hidden, to show staff what was sent."""
    return "•" * max(0, len(e164) - 4) + e164[-3:]
