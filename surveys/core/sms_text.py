"""Text messages as the networks carry them and GOV.UK Notify bills them: pure functions.

A text is sent in GSM-7 (the GSM 03.38 alphabet) when every character is in it: 160
characters fit in one part, and a longer text is split into parts of 153 (the rest of each
part holds the header that joins them). ``^ { } \\ [ ~ ] | €`` take two characters each (an
escape, then the character). Any other character (an emoji, Welsh ŵ or ŷ, Chinese) switches
the whole text to UCS-2: 70 characters in one part, then 67 a part, counted in UTF-16 code
units (an emoji outside the basic plane is two). Notify refuses a text over 918 characters.

Before counting, Notify replaces a few characters with GSM-7 ones of the same meaning
(curly quotes, dashes, the ellipsis, odd spaces; ``REPLACEMENTS``), so those never cost a
Unicode text; ``normalise`` does the same for our own wording and drops emoji and other
symbols that would, while keeping every letter (accents are never stripped: Welsh stays
Welsh, in Unicode parts).

Used by the SMS adapter (``sms/``) and by anything that shows a lead what a text will cost.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

#: The GSM 03.38 basic alphabet: one character each.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
#: The extension table: two characters each (the escape, then the character).
GSM7_EXTENDED = frozenset("^{}\\[~]|€")
#: Replaced by Notify before a text is counted or sent (as notifications-utils' SanitiseSMS).
REPLACEMENTS: dict[str, str] = {
    "\u2011": "-",  # non-breaking hyphen
    "\u2013": "-",  # en dash
    "\u2014": "-",  # em dash
    "\u2212": "-",  # minus sign
    "\u2026": "...",  # ellipsis
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u180e": "",
    "\u200b": "",
    "\u200c": "",
    "\u2060": "",
    "\ufeff": "",
    "\u2028": "",
    "\u2029": "",
    "\u00a0": " ",
    "\u202f": " ",
    "\t": " ",
}
#: Notify's longest text, in characters.
MAX_CHARACTERS = 918
GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67
_SPACES = re.compile(r"[ ]{2,}")
# Every text of every reply is counted: set operations and str.translate, not a Python
# loop over its characters.
_GSM7 = GSM7_BASIC | GSM7_EXTENDED
_SANITISE = str.maketrans(REPLACEMENTS)


@dataclass(frozen=True)
class Parts:
    """How a text travels: its encoding, its length as billed, and how many parts."""

    encoding: str  # "GSM-7" or "UCS-2"
    characters: int
    parts: int

    @property
    def too_long(self) -> bool:
        """Return True when Notify would refuse the text (over 918 characters)."""
        return self.characters > MAX_CHARACTERS


def sanitise(text: str) -> str:
    """Return the text as Notify sends it: its replacement characters swapped in."""
    return text.translate(_SANITISE)


def is_gsm7(text: str) -> bool:
    """Return True when every character of the (sanitised) text is in GSM-7."""
    return _GSM7.issuperset(sanitise(text))


def count(text: str) -> Parts:
    """Return the encoding, billed length and number of parts of a text, as Notify counts."""
    text = sanitise(text)
    if _GSM7.issuperset(text):
        length = len(text) + sum(text.count(ch) for ch in GSM7_EXTENDED)
        single, part, encoding = GSM7_SINGLE, GSM7_PART, "GSM-7"
    else:
        length = len(text.encode("utf-16-le")) // 2
        single, part, encoding = UCS2_SINGLE, UCS2_PART, "UCS-2"
    parts = 1 if length <= single else math.ceil(length / part)
    return Parts(encoding, length, parts)


def parts(text: str) -> int:
    """Return how many parts a text is billed as."""
    return count(text).parts


def _keep(ch: str) -> bool:
    if ch in GSM7_BASIC or ch in GSM7_EXTENDED:
        return True
    # Letters, digits and marks are words (Welsh ŵ, a name in another script): keep them.
    # Symbols (emoji, arrows, pictographs), joiners and variation selectors are not.
    category = unicodedata.category(ch)
    return category[0] in "LNM" and not 0xFE00 <= ord(ch) <= 0xFE0F


def normalise(text: str) -> str:
    """Return our own wording made safe for a text: GSM-7 punctuation, no emoji.

    Curly quotes, dashes and the ellipsis become their GSM-7 forms; emoji and other symbols
    that would force a Unicode text are dropped; letters are never changed, so Welsh keeps
    its accents (and is sent in Unicode parts). Runs of spaces left behind are closed up.
    """
    out = sanitise(text)
    if not _GSM7.issuperset(out):
        out = "".join(ch for ch in out if _keep(ch))
    return "\n".join(_SPACES.sub(" ", line).rstrip() for line in out.split("\n")).strip()
