"""Schools, streets and named places: "<name> Road", "<name> Academy", "the <Name> estate"."""

from __future__ import annotations

import re

from surveys.analysis.redact.candidates import Candidate, add
from surveys.analysis.redact.lexicons import STOP, Lexicon, words
from surveys.analysis.redact.tokens import Token, adjacent, is_acronym, strip_possessive

_HOUSE_NUMBER = re.compile(
    r"(?:\b(?:flat|apartment|apt|no\.?|number|unit)\s*)?\d{1,4}[a-z]?,?\s*$", re.IGNORECASE
)


# Suffix words that make the words before them a school, street or named place.
_SCHOOL_SUFFIX = words(
    "school academy college pru high primary grammar comp comprehensive infants juniors unit"
)
_STREET_STRONG = words(
    "road rd street st avenue ave lane ln crescent cres grove gardens terrace mews parade boulevard"
)
_STREET_WEAK = words(
    "close way drive dr court ct place walk hill green row view square house heights tower "
    "towers rise vale croft gate"
)
_PLACE_SUFFIX = words(
    "estate park centre center mall rec fields field flats station market retail precinct"
)
_GENERIC = words(
    # school
    "new old secondary primary high special boarding local catholic private state normal "
    "mainstream proper driving summer sunday sixth form big little last next first second "
    "other same whole nearest best worst different good bad free grammar technical "
    "community further alternative residential pupil referral youth secure training "
    "my your his her our their the a an this that every any no one two after before at "
    # streets and places
    "main busy back side long dual wrong right quiet dark open ring slip country one-way "
    "town city car skate theme water trampoline industrial business play holiday safari "
    "football national shopping leisure sports job health medical family children's day "
    "drop-in custody detention remand assessment test call data garden activity resource "
    "learning contact police bus train housing council real trading estate nice rough "
    "crown magistrates magistrate family county supreme royal youth high crossing "
    "rec centre center park"
)
_SCHOOL_PREFIX = frozenset({"ysgol"})
_SAINT = frozenset({"st", "saint", "st.", "holy", "our", "lady"})


# Generic words that belong to the suffix rather than the name: "X Community School",
# "X shopping centre".
_SUFFIX_JOINERS = {
    "school": words(
        "community high primary secondary catholic church junior infant infants grammar free "
        "sixth form comprehensive technical ce rc"
    ),
    "place": words("shopping retail leisure sports trading industrial business housing"),
    "address": frozenset(),
}


def find_places(
    toks: list[Token], text: str, cands: list[Candidate], lex: Lexicon, caps_ok: bool
) -> None:
    """Find "<name> Road", "<name> Academy", "the <Name> estate" and similar."""
    for i, tok in enumerate(toks):
        low = tok.low
        if low in _SCHOOL_PREFIX and i + 1 < len(toks) and toks[i + 1].cap:
            j = i + 1
            while j + 1 < len(toks) and toks[j + 1].cap and toks[j + 1].start - toks[j].end <= 1:
                j += 1
            add(cands, tok.start, toks[j].end, "school")
            continue
        if low in _SCHOOL_SUFFIX:
            category, weak = "school", low in {"high", "primary", "unit", "grammar", "comp"}
        elif low in _STREET_STRONG:
            category, weak = "address", low in {"st", "rd", "ln", "ave", "cres"}
        elif low in _STREET_WEAK:
            category, weak = "address", True
        elif low in _PLACE_SUFFIX:
            category, weak = "place", low in {"station", "market", "field", "fields", "flats"}
        else:
            continue
        if low == "st" and i + 1 < len(toks) and toks[i + 1].start - tok.end <= 2:
            nxt = toks[i + 1]
            if nxt.cap or nxt.low in lex.first_names or nxt.low in lex.word_names:
                continue  # "St Mary's" - a saint, not a street
        j = i - 1
        if (
            j >= 0
            and toks[j].low in _SUFFIX_JOINERS[category]
            and adjacent(text, toks[j], toks[j + 1])
        ):
            j -= 1  # "Kingsway shopping centre", "Westfield Community School"
        chain: list[Token] = []
        while j >= 0 and len(chain) < 3 and adjacent(text, toks[j], toks[j + 1]):
            prev = toks[j]
            plow, _ = strip_possessive(prev)
            if plow in STOP and plow not in _SAINT:
                break
            if (prev.cap and caps_ok) or (is_acronym(prev.text) and plow not in _GENERIC):
                chain.append(prev)
            elif plow in _GENERIC:
                break
            elif plow in _SAINT or plow in lex.first_names or plow not in lex.common:
                chain.append(prev)
            elif category == "address" and not weak and low not in _STREET_WEAK:
                chain.append(prev)  # "church street", "station road"
            else:
                break
            j -= 1
        if not chain:
            continue
        chain.reverse()
        lows = [strip_possessive(t)[0] for t in chain]
        core = [w for w in lows if w not in _GENERIC and w not in _SAINT]
        suffix_cap = tok.cap and caps_ok
        all_cap = suffix_cap and all(t.cap for t in chain)
        if not core and not (category == "address" and all_cap):
            continue  # "Primary school", "the youth centre"
        rare = any(w not in lex.common for w in core)
        start = chain[0].start
        before = text[max(0, start - 30) : start]
        house = _HOUSE_NUMBER.search(before) if category == "address" else None
        if house:
            start = start - len(before) + house.start()
        elif weak and not suffix_cap and not rare:
            continue  # "so close", "the way": need a capital, a house number or a rare word
        if category in ("school", "place") and before[-4:].lower() == "the ":
            start -= 4
        add(cands, start, tok.end, category)
