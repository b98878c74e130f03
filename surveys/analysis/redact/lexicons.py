"""The word lists: given names, surnames, common English words and places (loaded once,
lazily: a few MB; see data/LEXICONS.md), and the small lists every detector shares."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from surveys.analysis.redact.config import DATA_DIR


def words(text: str) -> frozenset[str]:
    """Return the set of space-separated words in ``text`` (keeps word lists compact)."""
    return frozenset(text.split())


@dataclass(frozen=True)
class Lexicon:
    """The word lists a detector looks words up in."""

    first_names: frozenset[str]  # names first ("jayden")
    word_names: frozenset[str]  # names that are also everyday words ("hope")
    surnames: frozenset[str]
    common: frozenset[str]
    places: frozenset[str]


@cache
def _common_words() -> frozenset[str]:
    return frozenset((DATA_DIR / "common_words.txt").read_text(encoding="utf-8").split())


@cache
def lexicon() -> Lexicon:
    """Return the word lists, read from data/ once."""
    first: set[str] = set()
    word: set[str] = set()
    with open(DATA_DIR / "first_names.tsv", encoding="utf-8") as fh:
        for line in fh:
            name, _, flag = line.rstrip("\n").partition("\t")
            (word if flag == "w" else first).add(name)
    # Welsh given names (data/first_names_cy.txt): a name that is also an everyday English
    # word is one that needs context, like the "w" names above.
    for name in (DATA_DIR / "first_names_cy.txt").read_text(encoding="utf-8").split():
        (word if name in _common_words() else first).add(name)
    word |= NEVER_NAMES
    first -= NEVER_NAMES
    surnames = frozenset((DATA_DIR / "surnames.txt").read_text(encoding="utf-8").split())
    common = _common_words()
    places = frozenset(
        (DATA_DIR / "places.txt").read_text(encoding="utf-8").splitlines()
        + (DATA_DIR / "places_cy.txt").read_text(encoding="utf-8").splitlines()
    )
    return Lexicon(frozenset(first), frozenset(word), surnames, common | _EXTRA_COMMON, places)


_MONTHS = words(
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec"
)
_WEEKDAYS = words("monday tuesday wednesday thursday friday saturday sunday")
# Words that must never be taken as a given name on capitalisation alone.
NEVER_NAMES = (
    _MONTHS
    | _WEEKDAYS
    | words(
        "god jesus allah christmas easter eid ramadan diwali english maths science i im ive yot "
        "yjs police court judge sir miss mum mam dad nan bro sis"
    )
)
# Everyday youth words missing from the frequency list's top band.
_EXTRA_COMMON = words(
    "innit bruv blud fam peng wagwan allow bare peak gassed mandem gyal wasteman ends "
    "maccies nandos feds fed olders youngers nitties trapping opps opp roadman dunno gonna "
    "wanna gotta ain't aint cos coz tho thru nah yeah yea ye ya lol lmao omg idk tbh ngl "
    "imo fr rn asap pls plz thx cuz dem dat dis wiv wid wot wat"
)

STOP = words(
    "a an the and or but if so of to in on at by for from with without about into onto over "
    "under up down out off than then that this these those there here where when what who "
    "whom whose which why how i me my mine myself we us our ours you your yours he him his "
    "she her hers it its they them their theirs is am are was were be been being do does "
    "did done have has had having not no yes all any some every each both few more most "
    "other such own same too very just also only can could will would shall should may "
    "might must let lets get got go going went come came said say says told tell made make "
    "makes like as n nd an' o ok okay"
)
