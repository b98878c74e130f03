"""Anonymise free-text answers before anything is published.

Young people write in lower case, with slang, misspellings and no punctuation, so
this is not an NER model: it combines compiled patterns (contact details, dates, ids,
postcodes, "<name> Road", "<name> Academy"), compact word lists derived from public
statistics (given names, surnames, English word frequencies; see data/LEXICONS.md) and
context cues ("my mate X", "Mr X", "X made me"). Every replacement is returned as a
``Span`` so a reviewer can see and undo each one; placeholders are consistent within
one answer (``[name]``, ``[name 2]`` ...).

Local knowledge lives in YAML (``RedactConfig``): an allow-list of the service's own
local authority, towns and national institutions that stay, and a deny-list of local
schools, staff and places that always go.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

DATA_DIR = Path(__file__).parent / "data"
DEFAULT_CONFIG_PATH = DATA_DIR / "redact.yaml"

#: Every category this module emits, and its placeholder word.
CATEGORIES: dict[str, str] = {
    "name": "name",
    "school": "school",
    "place": "place",
    "address": "address",
    "postcode": "postcode",
    "phone": "phone",
    "email": "email",
    "handle": "handle",
    "url": "link",
    "date": "date",
    "id": "id",
}

# Lower number wins when candidate spans overlap (then the longer one).
_PRIORITY = {
    "email": 0,
    "url": 1,
    "handle": 2,
    "id_strong": 3,
    "phone": 4,
    "id": 5,
    "date": 6,
    "postcode": 7,
    "deny": 8,
    "school": 9,
    "address": 10,
    "place": 11,
    "name": 12,
}


# ---------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class Span:
    """One replaced stretch of the original text."""

    start: int
    end: int
    category: str
    original: str
    placeholder: str


@dataclass(frozen=True)
class Redaction:
    """The redacted text and the spans that were replaced, in text order."""

    text: str
    spans: list[Span] = field(default_factory=list)


def apply_spans(original: str, spans: Iterable[Span]) -> str:
    """Replace the chosen spans of ``original`` by their placeholders.

    The review UI calls this with the spans a reviewer kept, to undo some
    replacements (or re-apply them) without running detection again.
    """
    out: list[str] = []
    pos = 0
    for span in sorted(spans, key=lambda s: s.start):
        if span.start < pos or span.end > len(original):
            raise ValueError("spans overlap or fall outside the text")
        out.append(original[pos : span.start])
        out.append(span.placeholder)
        pos = span.end
    out.append(original[pos:])
    return "".join(out)


# ---------------------------------------------------------------------------
# Configuration


class ConfigError(ValueError):
    """A redaction YAML file is malformed; the message names the file and line."""


_ALLOW_KEYS = ("places", "institutions", "terms")
_DENY_KEYS = {"schools": "school", "staff": "name", "names": "name", "places": "place"}


def _norm_phrase(text: str) -> str:
    text = text.replace("’", "'").casefold()
    return " ".join(text.split())


@dataclass(frozen=True)
class RedactConfig:
    """Local allow- and deny-lists (phrases, matched case-insensitively as whole words)."""

    allow: tuple[str, ...] = ()
    deny: tuple[tuple[str, str], ...] = ()  # (phrase, category)
    source: str = "<defaults>"

    @classmethod
    def from_yaml(cls, path: str | Path) -> RedactConfig:
        """Load and validate a redaction config file; raise ConfigError naming the line."""
        path = Path(path)
        try:
            raw = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read redaction config: {exc}") from exc
        return cls.from_text(raw, source=str(path))

    @classmethod
    def from_text(cls, raw: str, *, source: str = "<string>") -> RedactConfig:
        """Parse and validate redaction config YAML given as text."""
        try:
            root = yaml.compose(raw)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{source}: not valid YAML: {exc}") from exc
        if root is None:
            return cls(source=source)
        _expect_mapping(root, source, "top level")
        allow: list[str] = []
        deny: list[tuple[str, str]] = []
        for key_node, value in root.value:
            key = key_node.value
            if key == "version":
                if value.value not in ("1",):
                    raise ConfigError(f"{source}:{_line(value)}: version must be 1")
            elif key == "allow":
                _expect_mapping(value, source, "allow")
                for sub, items in value.value:
                    if sub.value not in _ALLOW_KEYS:
                        raise ConfigError(
                            f"{source}:{_line(sub)}: unknown key allow.{sub.value} "
                            f"(expected one of {', '.join(_ALLOW_KEYS)})"
                        )
                    allow.extend(_phrases(items, source, f"allow.{sub.value}"))
            elif key == "deny":
                _expect_mapping(value, source, "deny")
                for sub, items in value.value:
                    if sub.value not in _DENY_KEYS:
                        raise ConfigError(
                            f"{source}:{_line(sub)}: unknown key deny.{sub.value} "
                            f"(expected one of {', '.join(_DENY_KEYS)})"
                        )
                    category = _DENY_KEYS[sub.value]
                    deny.extend((p, category) for p in _phrases(items, source, f"deny.{sub.value}"))
            else:
                raise ConfigError(
                    f"{source}:{_line(key_node)}: unknown key {key!r} "
                    "(expected version, allow, deny)"
                )
        return cls(allow=tuple(allow), deny=tuple(deny), source=source)


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _expect_mapping(node: yaml.Node, source: str, what: str) -> None:
    if not isinstance(node, yaml.MappingNode):
        raise ConfigError(f"{source}:{_line(node)}: {what} must be a mapping")


def _phrases(node: yaml.Node, source: str, what: str) -> list[str]:
    if isinstance(node, yaml.ScalarNode) and node.value in ("", "~", "null"):
        return []
    if not isinstance(node, yaml.SequenceNode):
        raise ConfigError(f"{source}:{_line(node)}: {what} must be a list of phrases")
    out = []
    for item in node.value:
        if not isinstance(item, yaml.ScalarNode) or not item.value.strip():
            raise ConfigError(f"{source}:{_line(item)}: {what} entries must be non-empty text")
        if len(item.value) > 200:
            raise ConfigError(f"{source}:{_line(item)}: {what} entry is longer than 200 characters")
        out.append(item.value.strip())
    return out


@cache
def default_config() -> RedactConfig:
    """Return the product's default allow/deny lists (data/redact.yaml)."""
    return RedactConfig.from_yaml(DEFAULT_CONFIG_PATH)


@dataclass(frozen=True)
class _Compiled:
    allow_re: re.Pattern[str] | None
    allow_digits: frozenset[str]
    deny_re: re.Pattern[str] | None
    deny_category: dict[str, str]


def _phrase_regex(phrases: Sequence[str]) -> re.Pattern[str] | None:
    if not phrases:
        return None
    parts = sorted({_norm_phrase(p) for p in phrases}, key=len, reverse=True)
    body = "|".join(re.escape(p).replace(r"\ ", r"\s+").replace("'", "['’]") for p in parts)
    return re.compile(rf"(?<![\w@])(?:{body})(?![\w@])", re.IGNORECASE)


_COMPILED: dict[int, tuple[RedactConfig, _Compiled]] = {}


def _compiled(config: RedactConfig) -> _Compiled:
    hit = _COMPILED.get(id(config))
    if hit is not None and hit[0] is config:
        return hit[1]
    digits = frozenset(
        d for d in ("".join(ch for ch in p if ch.isdigit()) for p in config.allow) if len(d) >= 3
    )
    compiled = _Compiled(
        allow_re=_phrase_regex(config.allow),
        allow_digits=digits,
        deny_re=_phrase_regex([p for p, _ in config.deny]),
        deny_category={_norm_phrase(p): c for p, c in config.deny},
    )
    if len(_COMPILED) > 32:
        _COMPILED.clear()
    _COMPILED[id(config)] = (config, compiled)
    return compiled


def _words(text: str) -> frozenset[str]:
    """Return the set of space-separated words in ``text`` (keeps word lists compact)."""
    return frozenset(text.split())


# ---------------------------------------------------------------------------
# Word lists (loaded once, lazily: a few MB)


@dataclass(frozen=True)
class _Lexicon:
    first_names: frozenset[str]  # names first ("jayden")
    word_names: frozenset[str]  # names that are also everyday words ("hope")
    surnames: frozenset[str]
    common: frozenset[str]
    places: frozenset[str]


@cache
def _lexicon() -> _Lexicon:
    first: set[str] = set()
    word: set[str] = set()
    with open(DATA_DIR / "first_names.tsv", encoding="utf-8") as fh:
        for line in fh:
            name, _, flag = line.rstrip("\n").partition("\t")
            (word if flag == "w" else first).add(name)
    word |= _NEVER_NAMES
    first -= _NEVER_NAMES
    surnames = frozenset((DATA_DIR / "surnames.txt").read_text(encoding="utf-8").split())
    common = frozenset((DATA_DIR / "common_words.txt").read_text(encoding="utf-8").split())
    places = frozenset((DATA_DIR / "places.txt").read_text(encoding="utf-8").splitlines())
    return _Lexicon(frozenset(first), frozenset(word), surnames, common | _EXTRA_COMMON, places)


_MONTHS = _words(
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec"
)
_WEEKDAYS = _words("monday tuesday wednesday thursday friday saturday sunday")
# Words that must never be taken as a given name on capitalisation alone.
_NEVER_NAMES = (
    _MONTHS
    | _WEEKDAYS
    | _words(
        "god jesus allah christmas easter eid ramadan diwali english maths science i im ive yot "
        "yjs police court judge sir miss mum mam dad nan bro sis"
    )
)
# Everyday youth words missing from the frequency list's top band.
_EXTRA_COMMON = _words(
    "innit bruv blud fam peng wagwan allow bare peak gassed mandem gyal wasteman ends "
    "maccies nandos feds fed olders youngers nitties trapping opps opp roadman dunno gonna "
    "wanna gotta ain't aint cos coz tho thru nah yeah yea ye ya lol lmao omg idk tbh ngl "
    "imo fr rn asap pls plz thx cuz dem dat dis wiv wid wot wat"
)

_STOP = _words(
    "a an the and or but if so of to in on at by for from with without about into onto over "
    "under up down out off than then that this these those there here where when what who "
    "whom whose which why how i me my mine myself we us our ours you your yours he him his "
    "she her hers it its they them their theirs is am are was were be been being do does "
    "did done have has had having not no yes all any some every each both few more most "
    "other such own same too very just also only can could will would shall should may "
    "might must let lets get got go going went come came said say says told tell made make "
    "makes like as n nd an' o ok okay"
)
_DETERMINERS = _words("the a an this that these those some any every no another")
_FOLLOW_VERBS = _words(
    "got gets is was were said says told tells made makes has had did does and n keeps kept "
    "always never used lives lived goes went from came comes helped helps took takes sorted "
    "knows got's aint ain't isn't wasn't shouldnt shouldn't should would will can could "
    "cried tried wants wanted"
)

_TITLES_STRONG = _words("mr mrs ms mx dr sgt insp det")
_TITLES_WEAK = _words(
    "miss pc dc ds sir officer detective inspector sergeant coach nurse doctor prof "
    "professor mister"
)
_PRE_TRIGGER_KIN = _words(
    "mate mates friend friends bro brother bruv sister sis cousin cuz boyfriend girlfriend "
    "bf gf worker caseworker keyworker teacher nan nana uncle auntie aunty aunt stepdad "
    "stepmum partner son daughter neighbour mentor coach officer solicitor manager boss "
    "grandad grandma carer"
)
_PRE_TRIGGER_WORDS = _words("called named ask tell text ring call message")
_PLACE_PREPS = _words("in from near round around outside to towards")
_NICK_PREFIX = _words("big lil little young yung lil'")


# ---------------------------------------------------------------------------
# Patterns (compiled once at import: cheap)

_TOKEN = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
_EMAIL = re.compile(r"(?<![\w.+%-])[\w.+%-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,6}")
_URL = re.compile(
    r"(?:https?://|www\.)[^\s<>\"']{1,300}"
    r"|(?<![\w@.-])[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63}){0,4}\."
    r"(?:com|co\.uk|org\.uk|org|net|uk|io|me|tv|gg|ly)(?:/[^\s<>\"']{0,300})?(?![\w])",
    re.IGNORECASE,
)
_AT_HANDLE = re.compile(r"(?<![\w@.])@[A-Za-z0-9_](?:[A-Za-z0-9_.]{0,29}[A-Za-z0-9_])?")
_PLATFORM_HANDLE = re.compile(
    r"\b(?:snap(?:chat)?|sc|insta(?:gram)?|ig|tik\s?tok|tt|twitter|discord|psn|xbox|"
    r"gamertag|gt|youtube|yt|fb|facebook|twitch|kik|telegram|threads|bebo)\b"
    r"(?:\s+(?:name|username|user|handle|tag|id|account|acc|page))?"
    r"(?:\s*(?:is|=|:|-|its|it's|it’s)\s*|\s+)(?:me\s+)?"
    r"(@?[A-Za-z0-9_][A-Za-z0-9_.#]{1,30}[A-Za-z0-9_])",
    re.IGNORECASE,
)
_PHONE = re.compile(
    r"(?<![\w+])(?:(?:\+|00)\s?44\s?(?:\(0\)\s?)?|\(?0)"
    r"\d(?:[\s\-.()]{0,2}\d){8,10}(?![\d])"
)
_PHONE_HINT = re.compile(r"\d(?:[\s\-.()+]{0,3}\d){6,16}")
_NHS = re.compile(r"(?<![\w])(\d{3})[\s-]?(\d{3})[\s-]?(\d{4})(?![\w])")
_NI = re.compile(
    r"(?<![\w])[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D](?![\w])",
    re.IGNORECASE,
)
_REF_ID = re.compile(
    r"\b(?:case|crime|ref|reference|urn|crn|pnc|custody|court|claim|id|nhs|ni|nino|"
    r"national insurance)\s*(?:number|no\.?|num|nr|ref|reference|#)?\s*(?:is|was|:|=|-)?\s*"
    r"((?:[A-Z]{2,4}[\s/\-]?)?[A-Z0-9]*\d[A-Z0-9/\-]*\d[A-Z0-9]*)",
    re.IGNORECASE,
)
_ALNUM_ID = re.compile(
    r"(?<![\w@#./-])(?=[A-Z0-9/\-]{0,30}\d)(?=[A-Z0-9/\-]{0,30}[A-Z])[A-Z0-9]{1,30}"
    r"(?:[/\-][A-Z0-9]{1,30}){0,5}(?![\w@])",
    re.IGNORECASE,
)
_SLASH_ID = re.compile(r"(?<![\w/])\d{2,}/\d{3,}/\d{2,}(?![\w/])")
_LONG_DIGITS = re.compile(r"(?<![\w])\d{7,}(?![\w])")
_MONTH_RE = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_DATE = re.compile(
    r"(?<![\w/.-])(?P<d1>\d{1,2})[/.\-](?P<m1>\d{1,2})[/.\-](?P<y1>\d{4}|\d{2})(?![\w/])"
    rf"|\b(?:the\s+)?(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH_RE}\b"
    r"(?:,?\s+(?:\d{4}|'\d{2}))?"
    rf"|\b{_MONTH_RE}\s+(?:the\s+)?(?P<d3>\d{{1,2}})(?:st|nd|rd|th)(?:,?\s+\d{{4}})?\b"
    rf"|\b{_MONTH_RE}\s+(?P<d4>\d{{1,2}}),?\s+\d{{4}}\b",
    re.IGNORECASE,
)
_DOB_CONTEXT = re.compile(r"\b(?:dob|d\.o\.b|born|birthday|bday|b-day)\b", re.IGNORECASE)
_SHORT_DATE = re.compile(r"(?<![\w/.-])(\d{1,2})[/.](\d{1,2})(?![\w/.])")

_POSTCODE_AREAS = _words(
    "AB AL B BA BB BD BF BH BL BN BR BS BT CA CB CF CH CM CO CR CT CV CW DA DD DE DG DH DL "
    "DN DT DY E EC EH EN EX FK FY G GL GU GY HA HD HG HP HR HS HU HX IG IM IP IV JE KA KT "
    "KW KY L LA LD LE LL LN LS LU M ME MK ML N NE NG NN NP NR NW OL OX PA PE PH PL PO PR RG "
    "RH RM S SA SE SG SK SL SM SN SO SP SR SS ST SW SY TA TD TF TN TQ TR TS TW UB W WA WC "
    "WD WF WN WR WS WV YO ZE"
)
_FULL_POSTCODE = re.compile(
    r"(?<![\w])([A-Z]{1,2})(\d[A-Z\d]?)\s*(\d[ABD-HJLNP-UW-Z]{2})(?![\w])", re.IGNORECASE
)
_PART_POSTCODE = re.compile(r"(?<![\w])([A-Z]{1,2})(\d{1,2}[A-Z]?)(?![\w'])", re.IGNORECASE)
_POSTCODE_CONTEXT = re.compile(
    r"\b(?:postcode|post code|in|from|round|around|near|live|lives|living|area|ends|out of|of)"
    r"\s+(?:the\s+)?$",
    re.IGNORECASE,
)
_NOT_POSTCODES = _words(
    "m8 l8 b4 gr8 h8 w8 sk8 m1 m6 a1 ps4 ps5 ps3 ps2 g2g b2b n1 y9 y10 y11 s2 s1"
)

_HOUSE_NUMBER = re.compile(
    r"(?:\b(?:flat|apartment|apt|no\.?|number|unit)\s*)?\d{1,4}[a-z]?,?\s*$", re.IGNORECASE
)
_AT_NUMBER = re.compile(
    r"\b(?:at|live at|lives at|to|in)\s+((?:number|no\.?|flat|apartment|apt)\s*\d{1,4}[a-z]?)\b",
    re.IGNORECASE,
)

# Suffix words that make the words before them a school, street or named place.
_SCHOOL_SUFFIX = _words(
    "school academy college pru high primary grammar comp comprehensive infants juniors unit"
)
_STREET_STRONG = _words(
    "road rd street st avenue ave lane ln crescent cres grove gardens terrace mews parade boulevard"
)
_STREET_WEAK = _words(
    "close way drive dr court ct place walk hill green row view square house heights tower "
    "towers rise vale croft gate"
)
_PLACE_SUFFIX = _words(
    "estate park centre center mall rec fields field flats station market retail precinct"
)
_GENERIC = _words(
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


# ---------------------------------------------------------------------------
# Detection


@dataclass
class _Cand:
    start: int
    end: int
    category: str
    rank: int


def _is_nhs(digits: str) -> bool:
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * (10 - i) for i, d in enumerate(digits[:9]))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


def _add(cands: list[_Cand], start: int, end: int, category: str, rank_key: str | None = None):
    if end > start:
        cands.append(_Cand(start, end, category, _PRIORITY[rank_key or category]))


def _patterns(text: str, cands: list[_Cand], allow_digits: frozenset[str]) -> None:
    has_at = "@" in text
    if has_at:
        for m in _EMAIL.finditer(text):
            _add(cands, m.start(), m.end(), "email")
    if "." in text:
        for m in _URL.finditer(text):
            _add(cands, m.start(), m.end(), "url")
    if has_at:
        for m in _AT_HANDLE.finditer(text):
            _add(cands, m.start(), m.end(), "handle")
    lex = None
    for m in _PLATFORM_HANDLE.finditer(text):
        handle = m.group(1)
        bare = handle.lstrip("@").lower()
        if not any(ch.isdigit() or ch in "_.#@" for ch in handle):
            lex = lex or _lexicon()
            if bare in lex.common or bare in _STOP or len(bare) < 3:
                continue
        _add(cands, m.start(1), m.end(1), "handle")

    has_digit = any(ch.isdigit() for ch in text)
    if not has_digit:
        return
    for m in _NHS.finditer(text):
        digits = m.group(1) + m.group(2) + m.group(3)
        if _is_nhs(digits) and (digits[0] != "0" or "nhs" in text.lower()):
            _add(cands, m.start(), m.end(), "id", "id_strong")
    for m in _NI.finditer(text):
        _add(cands, m.start(), m.end(), "id", "id_strong")
    if _PHONE_HINT.search(text):
        for m in _PHONE_HINT.finditer(text):
            _phonenumbers(text, max(0, m.start() - 6), m.end() + 2, cands, allow_digits)
        for m in _PHONE.finditer(text):
            digits = "".join(ch for ch in m.group() if ch.isdigit())
            if digits in allow_digits:
                continue
            national = digits[2:] if digits.startswith("44") else digits.lstrip("0")
            if 9 <= len(national) <= 10:
                _add(cands, m.start(), m.end(), "phone")
    for m in _REF_ID.finditer(text):
        value = m.group(1)
        if sum(ch.isdigit() for ch in value) >= 4:
            _add(cands, m.start(1), m.end(1), "id")
    for m in _SLASH_ID.finditer(text):
        _add(cands, m.start(), m.end(), "id")
    for m in _ALNUM_ID.finditer(text):
        value = m.group()
        if len(value) >= 7 and sum(ch.isdigit() for ch in value) >= 4:
            _add(cands, m.start(), m.end(), "id")
    for m in _LONG_DIGITS.finditer(text):
        if m.group() not in allow_digits:
            _add(cands, m.start(), m.end(), "id")
    for m in _DATE.finditer(text):
        if m.group("d1"):
            a, b = int(m.group("d1")), int(m.group("m1"))
            if not (1 <= a <= 31 and 1 <= b <= 31 and min(a, b) <= 12):
                continue
        _add(cands, m.start(), m.end(), "date")
    if _DOB_CONTEXT.search(text):
        for m in _SHORT_DATE.finditer(text):
            a, b = int(m.group(1)), int(m.group(2))
            if 1 <= a <= 31 and 1 <= b <= 12:
                _add(cands, m.start(), m.end(), "date")
    for m in _FULL_POSTCODE.finditer(text):
        if m.group(1).upper() in _POSTCODE_AREAS:
            _add(cands, m.start(), m.end(), "postcode")
    for m in _PART_POSTCODE.finditer(text):
        area = m.group(1)
        if area.upper() not in _POSTCODE_AREAS or m.group().lower() in _NOT_POSTCODES:
            continue
        typed_upper = m.group().isupper() and len(area) == 2
        if typed_upper or _POSTCODE_CONTEXT.search(text, max(0, m.start() - 20), m.start()):
            _add(cands, m.start(), m.end(), "postcode")
    for m in _AT_NUMBER.finditer(text):
        _add(cands, m.start(1), m.end(1), "address")


def _phonenumbers(
    text: str, lo: int, hi: int, cands: list[_Cand], allow_digits: frozenset[str]
) -> None:
    """Let libphonenumber judge one window of digits (windows keep long texts fast)."""
    import phonenumbers

    window = text[lo:hi]
    try:
        matcher = phonenumbers.PhoneNumberMatcher(window, "GB", phonenumbers.Leniency.POSSIBLE)
        for match in matcher:
            digits = "".join(ch for ch in match.raw_string if ch.isdigit())
            if digits in allow_digits or len(digits) < 9:
                continue
            _add(cands, lo + match.start, lo + match.end, "phone")
    except Exception:  # noqa: S110 - a library hiccup must never lose the answer
        pass


@dataclass
class _Tok:
    start: int
    end: int
    text: str
    low: str
    cap: bool
    initial: bool


def _tokens(text: str) -> list[_Tok]:
    toks = []
    for m in _TOKEN.finditer(text):
        s = m.group()
        j = m.start() - 1
        while j >= 0 and text[j] in " \t\"'“‘(*[-":
            j -= 1
        initial = j < 0 or text[j] in ".!?\n\r:;…"
        low = s.replace("’", "'").lower()
        toks.append(_Tok(m.start(), m.end(), s, low, s[0].isupper(), initial))
    return toks


def _caps_unreliable(toks: Sequence[_Tok]) -> bool:
    words = [t for t in toks if len(t.text) > 1]
    if len(words) < 4:
        return False
    upper = sum(t.text.isupper() for t in words)
    capped = sum(t.cap for t in words)
    return upper >= 0.6 * len(words) or capped >= 0.7 * len(words)


def _strip_possessive(tok: _Tok) -> tuple[str, int]:
    """Return the token's lower form and end without a trailing 's."""
    if tok.low.endswith("'s") and len(tok.low) > 3:
        return tok.low[:-2], tok.end - 2
    return tok.low, tok.end


# Generic words that belong to the suffix rather than the name: "X Community School",
# "X shopping centre".
_SUFFIX_JOINERS = {
    "school": _words(
        "community high primary secondary catholic church junior infant infants grammar free "
        "sixth form comprehensive technical ce rc"
    ),
    "place": _words("shopping retail leisure sports trading industrial business housing"),
    "address": frozenset(),
}
_ADVERBISH = _words(
    "still even nearly almost literally actually never always once then now basically "
    "really proper well kinda sorta also too"
)


def _is_acronym(word: str) -> bool:
    if "'" in word or "’" in word or "-" in word:
        return False  # O'Neill, Kai-Leigh
    upper = sum(ch.isupper() for ch in word)
    return upper >= 2 and (upper * 2 > len(word) or word[:2].isupper())


def _places(toks: list[_Tok], text: str, cands: list[_Cand], lex: _Lexicon, caps_ok: bool):
    """Find "<name> Road", "<name> Academy", "the <Name> estate" and similar."""
    for i, tok in enumerate(toks):
        low = tok.low
        if low in _SCHOOL_PREFIX and i + 1 < len(toks) and toks[i + 1].cap:
            j = i + 1
            while j + 1 < len(toks) and toks[j + 1].cap and toks[j + 1].start - toks[j].end <= 1:
                j += 1
            _add(cands, tok.start, toks[j].end, "school")
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
            and _adjacent(text, toks[j], toks[j + 1])
        ):
            j -= 1  # "Kingsway shopping centre", "Westfield Community School"
        chain: list[_Tok] = []
        while j >= 0 and len(chain) < 3 and _adjacent(text, toks[j], toks[j + 1]):
            prev = toks[j]
            plow, _ = _strip_possessive(prev)
            if plow in _STOP and plow not in _SAINT:
                break
            if (prev.cap and caps_ok) or (_is_acronym(prev.text) and plow not in _GENERIC):
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
        lows = [_strip_possessive(t)[0] for t in chain]
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
        _add(cands, start, tok.end, category)


def _adjacent(text: str, a: _Tok, b: _Tok) -> bool:
    """Whether b follows a with only a space or two between them."""
    gap = b.start - a.end
    return 0 < gap <= 2 and not text[a.end : b.start].strip()


def _names(toks: list[_Tok], text: str, cands: list[_Cand], lex: _Lexicon, caps_ok: bool):
    """Find people's names from the name lists, capitals, titles and context cues."""
    n = len(toks)
    found: set[str] = set()
    taken: list[tuple[int, int]] = []
    word_names: list[int] = []  # indexes of everyday-word names left undecided

    def is_known(low: str) -> bool:
        return low in lex.first_names or low in lex.word_names

    def extend(i: int, end: int) -> tuple[int, int]:
        """Grow a name over a following surname or capitalised unknown word."""
        j = i + 1
        while j < n and j <= i + 2 and _adjacent(text, toks[j - 1], toks[j]):
            nxt = toks[j]
            nlow, nend = _strip_possessive(nxt)
            if nlow in _STOP or nlow in _NEVER_NAMES or nlow in lex.places:
                break
            if (
                nxt.cap
                and caps_ok
                and not _is_acronym(nxt.text)
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

    def accept(i: int, start: int, end: int, low: str) -> int:
        last, e = extend(i, end)
        _add(cands, start, e, "name")
        found.add(low)
        taken.append((start, e))
        return last + 1

    i = 0
    while i < n:
        tok = toks[i]
        low, end = _strip_possessive(tok)
        prev = toks[i - 1] if i > 0 and _adjacent(text, toks[i - 1], tok) else None
        prev2 = (
            toks[i - 2]
            if prev is not None and i > 1 and _adjacent(text, toks[i - 2], prev)
            else None
        )
        nxt = toks[i + 1] if i + 1 < n and _adjacent(text, tok, toks[i + 1]) else None
        cap = tok.cap and caps_ok and not _is_acronym(tok.text)

        # Titles: "Mr Patel", "PC Johnson", "miss Lacey".
        title = low.rstrip(".")
        if (title in _TITLES_STRONG or title in _TITLES_WEAK) and nxt is not None:
            nlow, nend = _strip_possessive(nxt)
            strong = title in _TITLES_STRONG or (tok.cap and title in {"pc", "dc", "ds", "miss"})
            ncap = nxt.cap and not _is_acronym(nxt.text)
            ok = (
                nlow not in _STOP
                and nlow not in _NEVER_NAMES
                and len(nlow) > 1
                and (
                    (
                        strong
                        and (
                            ncap or nlow not in lex.common or is_known(nlow) or nlow in lex.surnames
                        )
                    )
                    or (ncap and caps_ok)
                    or nlow in lex.first_names
                    or (nlow in lex.surnames and nlow not in lex.common)
                )
            )
            if ok:
                found.add(nlow)
                i = accept(i + 1, tok.start, nend, nlow)
                continue

        # Nicknames: "big T", "lil J", "Big Roc".
        if low in _NICK_PREFIX and nxt is not None:
            nlow, nend = _strip_possessive(nxt)
            single = len(nxt.text) == 1 and nxt.text.isupper()
            ncap = nxt.cap and nlow not in _STOP and not _is_acronym(nxt.text)
            if single or (ncap and (tok.cap or nlow not in lex.common)) or nlow in lex.first_names:
                i = accept(i + 1, tok.start, nend, nlow)
                continue

        if low in _STOP or len(low) < 2:
            i += 1
            continue
        after_det = prev is not None and prev.low in _DETERMINERS
        reason = None
        if "-" in low:
            parts = low.split("-")
            if all(is_known(p) for p in parts) and (
                any(p in lex.first_names for p in parts) or cap
            ):
                reason = "hyphen"
        elif low.startswith("o'") and len(low) > 4 and low != "o'clock":
            rest = low[2:]
            if is_known(rest) or rest in lex.surnames or cap:
                reason = "irish"
        if reason is None and not after_det and low not in _NEVER_NAMES:
            pre = prev is not None and (
                prev.low in _PRE_TRIGGER_KIN
                or prev.low in _PRE_TRIGGER_WORDS
                or (prev.low in {"and", "n", "&"} and prev2 is not None and prev2.low == "me")
                or (
                    prev2 is not None
                    and prev2.low in {"name", "names"}
                    and prev.low in {"is", "was"}
                )
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
                and i + 2 < n
                and toks[i + 2].low in {"me", "i", "us"}
            )
            verb_next = nxt is not None and nxt.low in _FOLLOW_VERBS
            if low in lex.first_names:
                reason = "list"
            elif low in lex.word_names:
                if (cap and not tok.initial) or pre or post_me:
                    reason = "word-name"
                else:
                    word_names.append(i)
            elif low in lex.places or _is_acronym(tok.text) or len(low) < 3:
                pass
            elif cap and low not in lex.common and (not tok.initial or verb_next):
                reason = "unknown-cap"  # "Kez takes us", "Gethin was at ..."
            elif pre and (cap or low not in lex.common):
                reason = "context"
            elif (
                kin
                and verb_next
                and low not in _FOLLOW_VERBS
                and low not in _ADVERBISH
                and not low.endswith("ly")
            ):
                reason = "kin"  # "my mate dizzy got nicked"
        elif (
            reason is None
            and after_det
            and cap
            and not tok.initial
            and low not in lex.common
            and low not in lex.places
            and not _is_acronym(tok.text)
            and low not in lex.first_names
        ):
            _add(cands, prev.start, end, "place")  # "the Arndale"
            i += 1
            continue
        if (
            reason == "unknown-cap"
            and prev is not None
            and prev.low in _PLACE_PREPS
            and (nxt is None or nxt.low not in _FOLLOW_VERBS or nxt.low in {"and", "n"})
        ):
            _add(cands, tok.start, end, "place")  # "i moved from Tilbrook"
            i += 1
            continue
        if reason is not None:
            i = accept(i, tok.start, end, low)
            continue
        i += 1

    # An everyday-word name joined to a found name is a name too: "mason and harvey".
    for k in word_names:
        for a, b in ((k - 2, k - 1), (k + 2, k + 1)):
            if (
                0 <= a < n
                and toks[b].low in {"and", "n", "&"}
                and toks[a].start in {s for s, _ in taken}
            ):
                low, end = _strip_possessive(toks[k])
                _add(cands, toks[k].start, end, "name")
                found.add(low)
                break

    # The same word elsewhere in this answer is the same person: "jayden and jayden".
    if found:
        taken_starts = {s for s, _ in taken}
        for tok in toks:
            low, end = _strip_possessive(tok)
            if low not in found and low.endswith("s") and low[:-1] in found:
                low, end = low[:-1], end - 1  # "leons brother"
            if low in found and tok.start not in taken_starts:
                _add(cands, tok.start, end, "name")


def _resolve(cands: list[_Cand], text: str, comp: _Compiled) -> list[_Cand]:
    protected: list[tuple[int, int]] = []
    if comp.allow_re is not None:
        protected = [m.span() for m in comp.allow_re.finditer(text)]
    if comp.deny_re is not None:
        for m in comp.deny_re.finditer(text):
            category = comp.deny_category.get(_norm_phrase(m.group()), "name")
            cands.append(_Cand(m.start(), m.end(), category, _PRIORITY["deny"]))
    cands.sort(key=lambda c: (c.rank, -(c.end - c.start), c.start))
    # Byte masks keep this linear on very long answers.
    allowed = bytearray(len(text) + 1)
    for s, e in protected:
        allowed[s:e] = b"\x01" * (e - s)
    used = bytearray(len(text) + 1)
    deny_rank = _PRIORITY["deny"]
    chosen: list[_Cand] = []
    for cand in cands:
        if cand.rank != deny_rank and all(allowed[cand.start : cand.end]):
            continue
        if any(used[cand.start : cand.end]):
            continue
        used[cand.start : cand.end] = b"\x01" * (cand.end - cand.start)
        chosen.append(cand)
    chosen.sort(key=lambda c: c.start)
    return chosen


def _key(original: str) -> str:
    key = _norm_phrase(original)
    if key.startswith("the "):
        key = key[4:]
    if key.endswith("'s"):
        key = key[:-2]
    if not any(ch.isalpha() for ch in key):
        key = "".join(ch for ch in key if ch.isalnum())
    return key


def redact(text: str, *, config: RedactConfig | None = None) -> Redaction:
    """Find identifying details in one answer and replace them with placeholders."""
    if not text or text.isspace():
        return Redaction(text, [])
    config = config if config is not None else default_config()
    comp = _compiled(config)
    cands: list[_Cand] = []
    _patterns(text, cands, comp.allow_digits)
    toks = _tokens(text)
    if toks:
        lex = _lexicon()
        caps_ok = not _caps_unreliable(toks)
        _places(toks, text, cands, lex, caps_ok)
        _names(toks, text, cands, lex, caps_ok)
    chosen = _resolve(cands, text, comp)
    numbering: dict[str, dict[str, int]] = {}
    spans: list[Span] = []
    for cand in chosen:
        original = text[cand.start : cand.end]
        seen = numbering.setdefault(cand.category, {})
        number = seen.setdefault(_key(original), len(seen) + 1)
        word = CATEGORIES[cand.category]
        placeholder = f"[{word}]" if number == 1 else f"[{word} {number}]"
        spans.append(Span(cand.start, cand.end, cand.category, original, placeholder))
    return Redaction(apply_spans(text, spans), spans)


def redact_many(texts: Iterable[str], *, config: RedactConfig | None = None) -> list[Redaction]:
    """Redact each text with one config (convenience for batch callers)."""
    config = config if config is not None else default_config()
    return [redact(t, config=config) for t in texts]


def to_json(redaction: Redaction) -> dict[str, Any]:
    """Return the CLI's JSON shape for one redaction."""
    return {
        "text": redaction.text,
        "spans": [
            {
                "start": s.start,
                "end": s.end,
                "category": s.category,
                "original": s.original,
                "placeholder": s.placeholder,
            }
            for s in redaction.spans
        ],
    }
