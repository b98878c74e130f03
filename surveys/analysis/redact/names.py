"""People's names: the name lists, capitals, titles ("Mr Patel"), nicknames ("big T") and
context cues ("my mate X", "X made me"); a name found once is found everywhere in the answer.
"""

from __future__ import annotations

from typing import NamedTuple

from surveys.analysis.redact.candidates import Candidate, add
from surveys.analysis.redact.lexicons import NEVER_NAMES, STOP, Lexicon, words
from surveys.analysis.redact.tokens import Token, adjacent, is_acronym, strip_possessive

_DETERMINERS = words("the a an this that these those some any every no another")
_FOLLOW_VERBS = words(
    "got gets is was were said says told tells made makes has had did does and n keeps kept "
    "always never used lives lived goes went from came comes helped helps took takes sorted "
    "knows got's aint ain't isn't wasn't shouldnt shouldn't should would will can could "
    "cried tried wants wanted"
)

_TITLES_STRONG = words("mr mrs ms mx dr sgt insp det")
_TITLES_WEAK = words(
    "miss pc dc ds sir officer detective inspector sergeant coach nurse doctor prof "
    "professor mister"
)
_PRE_TRIGGER_KIN = words(
    "mate mates friend friends bro brother bruv sister sis cousin cuz boyfriend girlfriend "
    "bf gf worker caseworker keyworker teacher nan nana uncle auntie aunty aunt stepdad "
    "stepmum partner son daughter neighbour mentor coach officer solicitor manager boss "
    "grandad grandma carer"
)
_PRE_TRIGGER_WORDS = words("called named ask tell text ring call message")
_PLACE_PREPS = words("in from near round around outside to towards")
_NICK_PREFIX = words("big lil little young yung lil'")

_ADVERBISH = words(
    "still even nearly almost literally actually never always once then now basically "
    "really proper well kinda sorta also too"
)


def find_names(
    toks: list[Token], text: str, cands: list[Candidate], lex: Lexicon, caps_ok: bool
) -> None:
    """Find people's names from the name lists, capitals, titles and context cues."""
    finder = _NameFinder(toks, text, cands, lex, caps_ok)
    i = 0
    while i < len(toks):
        i = finder.look_at(i)
    finder.join_word_names()
    finder.repeat_found()


class _Here(NamedTuple):
    """A token, and its neighbours when they are written right next to it."""

    i: int
    tok: Token
    low: str  # lower case, without a possessive 's
    end: int  # where a name would end (before the 's)
    prev: Token | None
    prev2: Token | None
    nxt: Token | None
    cap: bool  # capitalised where capitals mean something, and not an acronym


class _NameFinder:
    """One pass over an answer's tokens, then two passes over what it found."""

    def __init__(
        self, toks: list[Token], text: str, cands: list[Candidate], lex: Lexicon, caps_ok: bool
    ):
        self.toks, self.text, self.cands, self.lex, self.caps_ok = toks, text, cands, lex, caps_ok
        self.n = len(toks)
        self.found: set[str] = set()
        self.taken: list[tuple[int, int]] = []
        self.word_names: list[int] = []  # indexes of everyday-word names left undecided

    def is_known(self, low: str) -> bool:
        return low in self.lex.first_names or low in self.lex.word_names

    def extend(self, i: int, end: int) -> tuple[int, int]:
        """Grow a name over a following surname or capitalised unknown word."""
        toks, lex, n = self.toks, self.lex, self.n
        j = i + 1
        while j < n and j <= i + 2 and adjacent(self.text, toks[j - 1], toks[j]):
            nxt = toks[j]
            nlow, nend = strip_possessive(nxt)
            if nlow in STOP or nlow in NEVER_NAMES or nlow in lex.places:
                break
            if (
                nxt.cap
                and self.caps_ok
                and not is_acronym(nxt.text)
                and (nlow in lex.surnames or nlow not in lex.common or nlow in lex.first_names)
            ) or (
                not nxt.cap
                and nlow in lex.surnames
                and nlow not in lex.common
                and nlow not in lex.first_names
            ):
                end = nend
            else:
                break
            j += 1
            if nend != nxt.end:
                break
        return j - 1, end

    def accept(self, i: int, start: int, end: int, low: str) -> int:
        """Take a name starting at token i; return the index of the token after it."""
        last, e = self.extend(i, end)
        add(self.cands, start, e, "name")
        self.found.add(low)
        self.taken.append((start, e))
        return last + 1

    def here(self, i: int) -> _Here:
        toks, text = self.toks, self.text
        tok = toks[i]
        low, end = strip_possessive(tok)
        prev = toks[i - 1] if i > 0 and adjacent(text, toks[i - 1], tok) else None
        prev2 = (
            toks[i - 2]
            if prev is not None and i > 1 and adjacent(text, toks[i - 2], prev)
            else None
        )
        nxt = toks[i + 1] if i + 1 < self.n and adjacent(text, tok, toks[i + 1]) else None
        cap = tok.cap and self.caps_ok and not is_acronym(tok.text)
        return _Here(i, tok, low, end, prev, prev2, nxt, cap)

    def look_at(self, i: int) -> int:
        """Decide about the token at i; return the index of the next token to look at."""
        h = self.here(i)
        _, tok, low, end, prev, _, nxt, cap = h
        lex = self.lex
        # The cheap tests first: this runs for every word of every answer.
        after = None
        if nxt is not None:
            title = low.rstrip(".")
            if title in _TITLES_STRONG or title in _TITLES_WEAK:
                after = self.titled(h)
            if after is None and low in _NICK_PREFIX:
                after = self.nicknamed(h)
        if after is not None:
            return after
        if low in STOP or len(low) < 2:
            return i + 1
        after_det = prev is not None and prev.low in _DETERMINERS
        reason = None
        if "-" in low or low.startswith("o'"):
            reason = self.spelled_like_a_name(h)
        if reason is None and not after_det and low not in NEVER_NAMES:
            reason = self.cued(h)
        elif (
            reason is None
            and after_det
            and cap
            and not tok.initial
            and low not in lex.common
            and low not in lex.places
            and not is_acronym(tok.text)
            and low not in lex.first_names
        ):
            assert prev is not None
            add(self.cands, prev.start, end, "place")  # "the Arndale"
            return i + 1
        if (
            reason == "unknown-cap"
            and prev is not None
            and prev.low in _PLACE_PREPS
            and (nxt is None or nxt.low not in _FOLLOW_VERBS or nxt.low in {"and", "n"})
        ):
            add(self.cands, tok.start, end, "place")  # "i moved from Tilbrook"
            return i + 1
        if reason is not None:
            return self.accept(i, tok.start, end, low)
        return i + 1

    def titled(self, h: _Here) -> int | None:
        """Titles: "Mr Patel", "PC Johnson", "miss Lacey"."""
        tok, nxt, lex = h.tok, h.nxt, self.lex
        title = h.low.rstrip(".")
        if not (title in _TITLES_STRONG or title in _TITLES_WEAK) or nxt is None:
            return None
        nlow, nend = strip_possessive(nxt)
        strong = title in _TITLES_STRONG or (tok.cap and title in {"pc", "dc", "ds", "miss"})
        ncap = nxt.cap and not is_acronym(nxt.text)
        ok = (
            nlow not in STOP
            and nlow not in NEVER_NAMES
            and len(nlow) > 1
            and (
                (
                    strong
                    and (
                        ncap
                        or nlow not in lex.common
                        or self.is_known(nlow)
                        or nlow in lex.surnames
                    )
                )
                or (ncap and self.caps_ok)
                or nlow in lex.first_names
                or (nlow in lex.surnames and nlow not in lex.common)
            )
        )
        if not ok:
            return None
        self.found.add(nlow)
        return self.accept(h.i + 1, tok.start, nend, nlow)

    def nicknamed(self, h: _Here) -> int | None:
        """Nicknames: "big T", "lil J", "Big Roc"."""
        tok, nxt, lex = h.tok, h.nxt, self.lex
        if h.low not in _NICK_PREFIX or nxt is None:
            return None
        nlow, nend = strip_possessive(nxt)
        single = len(nxt.text) == 1 and nxt.text.isupper()
        ncap = nxt.cap and nlow not in STOP and not is_acronym(nxt.text)
        if single or (ncap and (tok.cap or nlow not in lex.common)) or nlow in lex.first_names:
            return self.accept(h.i + 1, tok.start, nend, nlow)
        return None

    def spelled_like_a_name(self, h: _Here) -> str | None:
        """Double-barrelled and Irish names: "Kai-Leigh", "O'Neill"."""
        low, lex = h.low, self.lex
        if "-" in low:
            parts = low.split("-")
            if all(self.is_known(p) for p in parts) and (
                any(p in lex.first_names for p in parts) or h.cap
            ):
                return "hyphen"
        elif low.startswith("o'") and len(low) > 4 and low != "o'clock":
            rest = low[2:]
            if self.is_known(rest) or rest in lex.surnames or h.cap:
                return "irish"
        return None

    def cued(self, h: _Here) -> str | None:
        """Why the word is a name: the name lists, a capital, or the words around it."""
        i, tok, low, _, prev, prev2, nxt, cap = h
        lex = self.lex
        pre = prev is not None and (
            prev.low in _PRE_TRIGGER_KIN
            or prev.low in _PRE_TRIGGER_WORDS
            or (prev.low in {"and", "n", "&"} and prev2 is not None and prev2.low == "me")
            or (prev2 is not None and prev2.low in {"name", "names"} and prev.low in {"is", "was"})
            or prev.low in {"name's", "names"}
        )
        kin = (
            prev is not None
            and prev.low in _PRE_TRIGGER_KIN
            and prev2 is not None
            and prev2.low in {"my", "our", "his", "her", "their"}
        )
        post_me = (
            nxt is not None
            and nxt.low in {"made", "told", "said", "and", "n"}
            and i + 2 < self.n
            and self.toks[i + 2].low in {"me", "i", "us"}
        )
        verb_next = nxt is not None and nxt.low in _FOLLOW_VERBS
        if low in lex.first_names:
            return "list"
        if low in lex.word_names:
            if (cap and not tok.initial) or pre or post_me:
                return "word-name"
            self.word_names.append(i)
            return None
        if low in lex.places or is_acronym(tok.text) or len(low) < 3:
            return None
        if cap and low not in lex.common and (not tok.initial or verb_next):
            return "unknown-cap"  # "Kez takes us", "Gethin was at ..."
        if pre and (cap or low not in lex.common):
            return "context"
        if (
            kin
            and verb_next
            and low not in _FOLLOW_VERBS
            and low not in _ADVERBISH
            and not low.endswith("ly")
        ):
            return "kin"  # "my mate dizzy got nicked"
        return None

    def join_word_names(self) -> None:
        """An everyday-word name joined to a found name is a name too: "mason and harvey"."""
        toks, n = self.toks, self.n
        for k in self.word_names:
            for a, b in ((k - 2, k - 1), (k + 2, k + 1)):
                if (
                    0 <= a < n
                    and toks[b].low in {"and", "n", "&"}
                    and toks[a].start in {s for s, _ in self.taken}
                ):
                    low, end = strip_possessive(toks[k])
                    add(self.cands, toks[k].start, end, "name")
                    self.found.add(low)
                    break

    def repeat_found(self) -> None:
        """The same word elsewhere in this answer is the same person: "jayden and jayden"."""
        if not self.found:
            return
        taken_starts = {s for s, _ in self.taken}
        for tok in self.toks:
            low, end = strip_possessive(tok)
            if low not in self.found and low.endswith("s") and low[:-1] in self.found:
                low, end = low[:-1], end - 1  # "leons brother"
            if low in self.found and tok.start not in taken_starts:
                add(self.cands, tok.start, end, "name")
