"""Flag answers that may disclose abuse, exploitation, self-harm or danger.

Tuned for recall: a missed disclosure is far worse than a false alarm, so a flagged
answer goes to a person (the designated safeguarding lead), who decides. Idioms
("I'd die for a youth club", "school was killing me") and general opinions about
knives, gangs or grooming are not disclosures: the lexicon is written in the first
person and an ``idioms`` list cancels triggers inside everyday phrases.

The lexicon is editable YAML (data/safeguard.yaml), validated on load with messages
naming the file and line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import yaml

from surveys.analysis import screen

DEFAULT_LEXICON_PATH = Path(__file__).parent / "data" / "safeguard.yaml"
#: The Welsh patterns for the same categories, read with the English ones.
WELSH_LEXICON_PATH = Path(__file__).parent / "data" / "safeguard_cy.yaml"

#: Category keys, in the order they are reported.
CATEGORIES: tuple[str, ...] = (
    "physical_abuse",
    "sexual_abuse",
    "emotional_abuse",
    "neglect",
    "domestic_abuse",
    "sexual_exploitation",
    "criminal_exploitation",
    "debt_threats",
    "self_harm",
    "eating_disorder",
    "suicidal",
    "threat_to_others",
    "immediate_danger",
    "homelessness_running_away",
    "harm_by_professional",
)


class LexiconError(ValueError):
    """The safeguarding YAML is malformed; the message names the file and line."""


@dataclass(frozen=True)
class Match:
    """One phrase that triggered a category, with its place in the original text."""

    category: str
    phrase: str
    start: int
    end: int

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON shape used by the CLI."""
        return {
            "category": self.category,
            "phrase": self.phrase,
            "start": self.start,
            "end": self.end,
        }


@dataclass(frozen=True)
class Safeguard:
    """Whether an answer needs a safeguarding review, why, and where."""

    flag: bool
    categories: list[str] = field(default_factory=list)
    matches: list[Match] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON shape used by the CLI."""
        return {
            "flag": self.flag,
            "categories": list(self.categories),
            "matches": [m.as_dict() for m in self.matches],
        }


@dataclass(frozen=True)
class Lexicon:
    """Compiled safeguarding patterns: one regex per category, plus idioms."""

    patterns: tuple[tuple[str, re.Pattern[str]], ...]
    idioms: re.Pattern[str] | None
    labels: dict[str, str]
    source: str = "<string>"
    #: The "over and dealt with" guard: (past, over, current) patterns, or None.
    resolved: tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]] | None = None
    #: The "other children in general" guard: (group, person) patterns, or None.
    general: tuple[re.Pattern[str], re.Pattern[str]] | None = None
    #: Weak past cues ("i was", "he had"): past only inside a phrase or just beside it.
    resolved_near: re.Pattern[str] | None = None

    @cached_property
    def ing_words(self) -> frozenset[str]:
        """The -ing words the patterns spell out ("hitting", "touching"), for a dropped g."""
        return frozenset(w for _, p in self.patterns for w in _ING.findall(p.pattern))

    @cached_property
    def screens(self) -> tuple[screen.Screen | None, ...]:
        """Each category's RE2 screen (``screen.py``), or None where Python alone decides."""
        return tuple(screen.compile_screen(p) for _, p in self.patterns)

    @classmethod
    def from_yaml(cls, path: str | Path) -> Lexicon:
        """Load, validate and compile a lexicon file."""
        path = Path(path)
        try:
            raw = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise LexiconError(f"{path}: cannot read safeguarding lexicon: {exc}") from exc
        return cls.from_text(raw, source=str(path))

    @classmethod
    def from_text(cls, raw: str, *, source: str = "<string>") -> Lexicon:
        """Validate and compile lexicon YAML given as text."""
        try:
            root = yaml.compose(raw)
        except yaml.YAMLError as exc:
            raise LexiconError(f"{source}: not valid YAML: {exc}") from exc
        if not isinstance(root, yaml.MappingNode):
            raise LexiconError(f"{source}: the lexicon must be a mapping")
        sections = {k.value: (k, v) for k, v in root.value}
        for key, (knode, _) in sections.items():
            if key not in ("version", "macros", "categories", "idioms", "resolved", "general"):
                raise LexiconError(f"{source}:{_line(knode)}: unknown key {key!r}")
        if "categories" not in sections:
            raise LexiconError(f"{source}: missing 'categories'")
        macros: dict[str, str] = {}
        if "macros" in sections:
            mnode = sections["macros"][1]
            _expect(mnode, yaml.MappingNode, source, "macros must be a mapping")
            for k, v in mnode.value:
                _expect(v, yaml.ScalarNode, source, f"macro {k.value} must be text")
                if not re.fullmatch(r"[A-Z][A-Z_]*", k.value):
                    raise LexiconError(f"{source}:{_line(k)}: macro names are UPPER_CASE")
                macros[k.value] = v.value

        def expand(node: yaml.Node, where: str) -> str:
            text = node.value
            for _ in range(5):  # macros may use macros, a few levels deep
                new = re.sub(r"\{([A-Z][A-Z_]*)\}", lambda m: _macro(m, macros, node, source), text)
                if new == text:
                    break
                text = new
            text = _unrolled(text)
            try:
                re.compile(text)
            except re.error as exc:
                raise LexiconError(
                    f"{source}:{_line(node)}: bad pattern in {where}: {exc}"
                ) from exc
            return text

        cnode = sections["categories"][1]
        _expect(cnode, yaml.MappingNode, source, "categories must be a mapping")
        compiled: list[tuple[str, re.Pattern[str]]] = []
        labels: dict[str, str] = {}
        for k, v in cnode.value:
            _expect(v, yaml.MappingNode, source, f"category {k.value} must be a mapping")
            fields = {fk.value: fv for fk, fv in v.value}
            unknown = set(fields) - {"label", "patterns"}
            if unknown:
                raise LexiconError(
                    f"{source}:{_line(v)}: unknown field(s) {sorted(unknown)} in category {k.value}"
                )
            pats = fields.get("patterns")
            if not isinstance(pats, yaml.SequenceNode) or not pats.value:
                raise LexiconError(
                    f"{source}:{_line(v)}: category {k.value} needs a list of patterns"
                )
            labels[k.value] = fields["label"].value if "label" in fields else k.value
            body = "|".join(f"(?:{expand(p, k.value)})" for p in pats.value)
            compiled.append((k.value, re.compile(rf"(?<![a-z])(?:{body})(?![a-z])")))
        idioms = None
        if "idioms" in sections:
            inode = sections["idioms"][1]
            _expect(inode, yaml.SequenceNode, source, "idioms must be a list")
            if inode.value:
                body = "|".join(f"(?:{expand(p, 'idioms')})" for p in inode.value)
                idioms = re.compile(rf"(?<![a-z])(?:{body})(?![a-z])")

        def guard(
            section: str, names: tuple[str, ...], optional: tuple[str, ...] = ()
        ) -> list[re.Pattern[str] | None] | None:
            if section not in sections:
                return None
            gnode = sections[section][1]
            _expect(gnode, yaml.MappingNode, source, f"{section} must be a mapping")
            parts = {k.value: v for k, v in gnode.value}
            if not set(names) <= set(parts) <= set(names) | set(optional):
                raise LexiconError(
                    f"{source}:{_line(gnode)}: {section} needs exactly "
                    f"{', '.join(names[:-1])} and {names[-1]}"
                )
            out: list[re.Pattern[str] | None] = []
            for name in names + optional:
                if name not in parts:
                    out.append(None)
                    continue
                node = parts[name]
                if not isinstance(node, yaml.SequenceNode) or not node.value:
                    raise LexiconError(f"{source}:{_line(node)}: {section}.{name} must be a list")
                body = "|".join(f"(?:{expand(p, f'{section}.{name}')})" for p in node.value)
                out.append(re.compile(rf"(?<![a-z])(?:{body})(?![a-z])"))
            return out

        r = guard("resolved", ("past", "over", "current"), ("near",))
        g = guard("general", ("group", "person"))
        return cls(
            tuple(compiled),
            idioms,
            labels,
            source,
            (_req(r[0]), _req(r[1]), _req(r[2])) if r else None,
            (_req(g[0]), _req(g[1])) if g else None,
            r[3] if r else None,
        )


def _req(pattern: re.Pattern[str] | None) -> re.Pattern[str]:
    assert pattern is not None  # a required part: guard() has checked it is there
    return pattern


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _expect(node: yaml.Node, kind: type, source: str, message: str) -> None:
    if not isinstance(node, kind):
        raise LexiconError(f"{source}:{_line(node)}: {message}")


def _macro(m: re.Match[str], macros: dict[str, str], node: yaml.Node, source: str) -> str:
    name = m.group(1)
    if name not in macros:
        raise LexiconError(f"{source}:{_line(node)}: unknown macro {{{name}}}")
    return macros[name]


# The regex engine runs a repeated group ("(?:my |our )?", "(?:\w+ ){0,3}") through its
# general repeat machinery at every position it tries, and the lexicon's macros are full of
# them. Written as alternatives ("(?:my |our |)", nested for a count) they match the same
# text, tried in the same order, about a tenth faster over the lexicon
# (docs/benchmarks.md). Counted repeats up to _COUNT_MAX only, so patterns stay small.
_COUNT = re.compile(r"\{(\d*),(\d+)\}(\?)?(?![+])")
_COUNT_MAX = 8


def _unrolled(pattern: str) -> str:
    """Rewrite greedy and lazy ``(?:X)?`` and ``(?:X){m,n}`` as plain alternatives."""
    out: list[str] = []
    opened: list[tuple[int, bool]] = []  # each open "(": where it starts in out, plain (?:
    i, class_start = 0, -1  # class_start: inside [...] when >= 0
    while i < len(pattern):
        c = pattern[i]
        step = 1
        if c == "\\":
            step = 2
        elif class_start >= 0:
            if c == "]" and i > class_start:  # a "]" first in a class is a literal
                class_start = -1
        elif c == "[":
            class_start = i + (2 if pattern[i + 1 : i + 2] == "^" else 1)
        elif c == "(":
            opened.append((len(out), pattern.startswith("(?:", i)))
        elif c == ")":
            start, plain = opened.pop()
            count = _COUNT.match(pattern, i + 1)
            if plain and pattern[i + 1 : i + 2] == "?" and pattern[i + 2 : i + 3] not in ("?", "+"):
                out.append("|)")  # (?:X)? -> (?:X|)
                i += 2
                continue
            if plain and count and int(count.group(2)) <= _COUNT_MAX:
                lo, hi = int(count.group(1) or 0), int(count.group(2))
                group = "".join(out[start:]) + ")"
                del out[start:]
                tail = ""  # (?:X){0,2} -> (?:X(?:X|)|); lazy: (?:|X(?:|X))
                for _ in range(hi - lo):
                    tail = f"(?:|{group}{tail})" if count.group(3) else f"(?:{group}{tail}|)"
                out.append(group * lo + tail)
                i = count.end()
                continue
        out.append(pattern[i : i + step])
        i += step
    return "".join(out)


@cache
def default_lexicon() -> Lexicon:
    """Return the product's lexicon (data/safeguard.yaml and safeguard_cy.yaml), compiled once."""
    english = Lexicon.from_yaml(DEFAULT_LEXICON_PATH)
    welsh = Lexicon.from_yaml(WELSH_LEXICON_PATH)
    both = dict(english.patterns)
    for category, pattern in welsh.patterns:  # one pattern per category: either language
        known = both.get(category)
        both[category] = (
            re.compile(f"(?:{known.pattern})|(?:{pattern.pattern})") if known else pattern
        )
    idioms = [p.pattern for p in (english.idioms, welsh.idioms) if p is not None]
    return Lexicon(
        tuple(both.items()),
        re.compile("|".join(f"(?:{p})" for p in idioms)) if idioms else None,
        {**english.labels, **welsh.labels},
        f"{english.source}+{welsh.source}",
        english.resolved,
        english.general,
        english.resolved_near,
    )


#: How far before a phrase a past-time cue may sit ("when i was 12 i ... wanted to die").
PAST_REACH = 80
#: How far after it ("the olders had me holding for them in year 9").
PAST_AFTER = 30
#: How far from a phrase a weak past cue may sit ("i was" in "i was hit by him").
PAST_NEAR = 12


def _over(
    norm: str,
    hits: list[tuple[str, int, int]],
    guard: tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]],
    near: re.Pattern[str] | None = None,
) -> list[tuple[str, int, int]]:
    """Drop the hits an answer itself says are past and dealt with.

    All three must hold: a past-time cue sits shortly before the phrase, inside it or just
    after it ("when i was 11", "used to", "last year"); the answer says it is over ("im fine now",
    "havent done it in 2 years", "the police sorted it"); and nothing in the answer says
    it goes on or was never dealt with ("still", "again", "nobody knows", "nothing
    changed"). One "current" cue anywhere keeps every phrase flagged. A weak past cue
    (``near``: "i was", "he had", "once") counts only inside the phrase or just beside it:
    "i was at my dads and he hits me, im fine tho" is not a past event.
    """
    past, over, current = guard
    if current.search(_HABIT.sub(" ", norm)) or not over.search(norm):
        return hits
    kept = []
    for hit in hits:
        # in the phrase's own sentence: "used to love football. he hits me" is not past
        start = max(0, hit[1] - PAST_REACH)
        start = max([start] + [m.end() for m in _STOP.finditer(norm, start, hit[1])])
        stop = _STOP.search(norm, hit[2], hit[2] + PAST_AFTER)
        if past.search(norm, start, stop.start() if stop else hit[2] + PAST_AFTER):
            continue
        if near is not None:  # in the phrase or just beside it, in the same sentence
            start = max(0, hit[1] - PAST_NEAR)
            start = max([start] + [m.end() for m in _STOP.finditer(norm, start, hit[1])])
            stop = _STOP.search(norm, hit[2], hit[2] + PAST_NEAR)
            if near.search(norm, start, stop.start() if stop else hit[2] + PAST_NEAR):
                continue
        kept.append(hit)
    return kept


_STOP = re.compile(r"[.!?\n]")
# "i used to go missing all the time": how often it was, not that it goes on
_HABIT = re.compile(
    r"\b(?:used to|would always)\b(?: \w+){0,6}? "
    r"(?:all the time|every (?:day|night|week|time)|always)\b"
)
_CLAUSE = re.compile(r"[.!?;:\n]|\b(?:but|cos|coz|because|so|then|when|if)\b")


def _general(
    norm: str, hits: list[tuple[str, int, int]], guard: tuple[re.Pattern[str], re.Pattern[str]]
) -> list[tuple[str, int, int]]:
    """Drop the hits that speak of other children in general, not of anyone in particular.

    A hit goes only when a group of young people is the subject of its clause ("kids get
    kicked out by their parents", "loads of them go missing") and the answer names no
    particular person anywhere: not the writer, not "him", not "my brother" ("girls get
    taken to parties, it happens to me" stays flagged, and so does "kids dont want to go
    home. i stay late cos ..."). A clause ends at a sentence's end or at "but", "cos", "so",
    "then", "when" or "if", not at "and" or a comma: "kids round here have nobody at home
    and no food in" is still about the kids.
    """
    group, person = guard
    if person.search(norm):
        return hits
    kept = []
    for hit in hits:
        clause = 0
        for m in _CLAUSE.finditer(norm, 0, hit[1]):
            clause = m.end()
        if not group.search(norm, clause, hit[1]):
            kept.append(hit)
    return kept


# Look-alike characters typed inside words to dodge filters: k1ll, su1c1de, d!e.
_LEET = str.maketrans(
    {
        "0": "o",
        "1": "i",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "@": "a",
        "$": "s",
        "!": "i",
        "|": "l",
    }
)
_LEET_RUN = re.compile(r"(?<=[a-z])[0134579@$!|]+(?=[a-z])")
_DROP = re.compile(r"['’‘`´]")
_REPEAT = re.compile(r"([a-z])\1{2,}")
_SPACE = re.compile(r"[^\S\n]{2,}|[\n\t\r]")
_QUOTES = str.maketrans({"‘": "'", "“": '"', "”": '"', "–": "-", "—": "-"})


def normalise(text: str) -> tuple[str, list[int] | None]:
    """Return matching text and a map from its indexes back to the original's.

    The map is None when the two line up one to one (the common case, so cheap).
    """
    low = text.lower()
    if len(low) != len(text):  # a few characters lower-case to two (İ)
        low = "".join(ch.lower()[0] for ch in text)
    low = low.translate(_QUOTES)
    if _LEET_RUN.search(low):
        low = _LEET_RUN.sub(lambda m: m.group().translate(_LEET), low)
    if not (_DROP.search(low) or _REPEAT.search(low) or _SPACE.search(low)):
        return low, None
    keep: list[int] = []
    out: list[str] = []
    i, n = 0, len(low)
    while i < n:
        ch = low[i]
        if ch in "'’‘`´":
            i += 1
            continue
        if ch.isspace():
            out.append(" ")
            keep.append(i)
            while i + 1 < n and low[i + 1].isspace():
                i += 1
            i += 1
            continue
        if ch.isalpha() and len(out) >= 2 and out[-1] == ch and out[-2] == ch:
            i += 1
            continue  # "soooo" -> "soo"
        if ch in "aeiouy" and i + 2 < n and low[i + 1] == ch and low[i + 2] == ch:
            j = i
            while j < n and low[j] == ch:
                j += 1
            if j == n or not low[j].isalpha():  # a stretched last vowel: "dieeee" -> "die"
                out.append(ch)
                keep.append(i)
                i = j
                continue
        out.append(ch)
        keep.append(i)
        i += 1
    return "".join(out), keep


#: Text-speak read as the words the lexicon is written in, for matching only (the learned
#: reading's words are ``normalise``'s): "n" -> "and", "wiv" -> "with", "nite" -> "night".
_SPEAK = {
    "n": "and",
    "wiv": "with",
    "wif": "with",
    "wid": "with",
    "nite": "night",
    "tonite": "tonight",
    "2nite": "tonight",
    "sez": "says",
    "sed": "said",
    "thay": "they",
    "dey": "they",
    "wot": "what",
    "skool": "school",
    "some1": "someone",
    "sum1": "someone",
    "every1": "everyone",
    "any1": "anyone",
    "leccy": "electric",
    "bcos": "because",
    "becuz": "because",
}
_WORD = re.compile(r"[a-z0-9]+")
_ING = re.compile(r"[a-z]{2,}ing\b")


def _spelled(
    norm: str, keep: list[int] | None, ing: frozenset[str]
) -> tuple[str, list[int] | None]:
    """Spell text-speak and a dropped g ("hittin" where the lexicon knows "hitting") out.

    The map back to the original text grows with it: each added letter points at the last
    letter of the word it replaced, so a match still marks the words as written.
    """
    out: list[str] = []
    new_keep: list[int] = []
    last = 0
    for m in _WORD.finditer(norm):
        word = m.group()
        rep = _SPEAK.get(word)
        if rep is None and word.endswith("in") and word + "g" in ing:
            rep = word + "g"
        if rep is None:
            continue
        s, e = m.span()
        out.append(norm[last:s])
        new_keep.extend(keep[last:s] if keep is not None else range(last, s))
        out.append(rep)
        for k in range(len(rep)):
            src = min(s + k, e - 1)
            new_keep.append(keep[src] if keep is not None else src)
        last = e
    if not out:
        return norm, keep
    out.append(norm[last:])
    new_keep.extend(keep[last:] if keep is not None else range(last, len(norm)))
    return "".join(out), new_keep


def check(text: str, *, lexicon: Lexicon | None = None) -> Safeguard:
    """Check one answer for possible safeguarding disclosures."""
    if not text or text.isspace():
        return Safeguard(False)
    lexicon = lexicon or default_lexicon()
    norm, keep = _spelled(*normalise(text), lexicon.ing_words)
    try:
        raw: bytes | None = norm.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: RE2 cannot read it, so Python reads all
        raw = None
    hits: list[tuple[str, int, int]] = []
    for (category, pattern), screened in zip(lexicon.patterns, lexicon.screens, strict=True):
        if raw is not None and screened is not None and not screened(raw):
            continue  # this category's pattern cannot match: skip its slow Python pass
        for m in pattern.finditer(norm):
            if m.end() > m.start():
                hits.append((category, m.start(), m.end()))
    if not hits:
        return Safeguard(False)
    if lexicon.idioms is not None:
        idioms = [m.span() for m in lexicon.idioms.finditer(norm)]
        if idioms:
            hits = [h for h in hits if not any(h[1] < e and s < h[2] for s, e in idioms)]
    if hits and lexicon.general is not None:
        hits = _general(norm, hits, lexicon.general)
    if hits and lexicon.resolved is not None:
        hits = _over(norm, hits, lexicon.resolved, lexicon.resolved_near)
    if not hits:
        return Safeguard(False)
    matches = []
    for category, s, e in sorted(
        hits, key=lambda h: (h[1], CATEGORIES.index(h[0]) if h[0] in CATEGORIES else 99)
    ):
        start = keep[s] if keep is not None else s
        end = keep[e - 1] + 1 if keep is not None else e
        matches.append(Match(category, text[start:end], start, end))
    order = {c: i for i, c in enumerate(CATEGORIES)}
    cats = sorted({m.category for m in matches}, key=lambda c: (order.get(c, 99), c))
    return Safeguard(True, cats, matches)
