"""A cheap check that an answer is written in English, so nothing else is passed unread.

The safeguarding lexicon and the sentence model read English. An answer in Welsh (or any
other language, or another script) is not "ok" just because they found nothing: it goes
to the safeguarding queue's "not read automatically" lane. The check counts how many of
the answer's words are everyday English (the anonymiser's 28,827-word list plus the youth
slang of the sentiment lexicon) and how many are common Welsh words; text-speak and
misspellings keep most English answers well above the line (measured on the invented
answers in ``tests/data/voice``; see docs/benchmarks.md).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import yaml

DATA = Path(__file__).parent / "data"
MIN_WORDS = 3  # shorter answers ("ok", "na", "ydw") are not judged
ENGLISH_SHARE = 0.5

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")

# Frequent Welsh words that are not also everyday English words.
WELSH = frozenset(
    """
    yn yr y mae roedd dw dwi dwin ddim gyda efo ac ond ni chi nhw fy ein eich wedi bod
    oedd ysgol heddlu diolch iawn gwaith hefyd gallu isio eisiau pobl plant mewn ar ydw
    ydy rydw rwy rwyf sydd bydd dim neu pan fel achos oherwydd gormod llawer teulu yw
    hwn hon hyn fod gael cael mynd dod gweld gwneud meddwl siarad helpu cefnogaeth
    gweithiwr swyddog cymorth rhaid angen amser byth erioed gartref adref ty tŷ nain taid
    mam dad brawd chwaer ffrind ffrindiau da drwg hapus trist ofn ofnus eithaf ychydig
    weithiau bob dydd nos heno bore fi ti ei eu i'r o'r a'r yng nghymru cymraeg saesneg
    """.split()  # noqa: SIM905 (a word list reads better as text)
)
_ENGLISH_ALSO = frozenset({"a", "i", "am", "fe", "da", "dad", "mam", "ti", "o"})


@cache
def _english() -> frozenset[str]:
    words = set((DATA / "common_words.txt").read_text(encoding="utf-8").lower().split())
    try:
        slang = yaml.safe_load((DATA / "sentiment_slang.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        slang = {}
    for section in ("words", "spellings", "contextual", "boosters"):
        for key in (slang or {}).get(section) or {}:
            words.update(str(key).lower().split())
    for key, value in ((slang or {}).get("spellings") or {}).items():
        words.add(str(key).lower())
        words.update(str(value).lower().split())
    words.update(
        """
        u ur r n y im ive id ill dont cant wont didnt isnt wasnt aint innit init tbh ngl idk
        cos coz bc bcoz rn fam bruv bro mandem opps feds jakes ting wagwan skool wiv fink
        sed thay wat dat dem dis nuff peng peak bare long allow mans lol lmao omg pls plz
        thx ok okay yeah yeh yh nah na naa gonna wanna gotta tryna lemme gimme ya yous youse
        wot summat nowt owt mam mams nan nans yot pru ete oocd camhs
        """.split()  # noqa: SIM905
    )
    return frozenset(words - WELSH)


def is_english(text: str) -> bool:
    """Return False when the answer looks written in another language or script."""
    if not isinstance(text, str) or not text.strip():
        return True
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return True  # emoji, numbers, punctuation: nothing to read in any language
    latin = sum(1 for ch in letters if ch < "\u0250" or "\u1e00" <= ch <= "\u1eff")
    if latin < 0.8 * len(letters):  # a sentence in another script is enough to need a person
        return False
    words = [w.lower().replace("’", "'") for w in _WORD.findall(text[:5000])]
    if len(words) < MIN_WORDS:
        return True
    english = _english()
    known = sum(1 for w in words if w in english or w.replace("'", "") in english)
    welsh = sum(1 for w in words if w in WELSH and w not in _ENGLISH_ALSO)
    share = known / len(words)
    return share >= ENGLISH_SHARE and welsh < max(2, len(words) / 3)
