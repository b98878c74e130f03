"""Contact details, dates, ids and postcodes: compiled patterns (compiled once at import)."""

from __future__ import annotations

import re

from surveys.analysis.redact.candidates import Candidate, add
from surveys.analysis.redact.lexicons import STOP, lexicon, words

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

_POSTCODE_AREAS = words(
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
_NOT_POSTCODES = words(
    "m8 l8 b4 gr8 h8 w8 sk8 m1 m6 a1 ps4 ps5 ps3 ps2 g2g b2b n1 y9 y10 y11 s2 s1"
)


_AT_NUMBER = re.compile(
    r"\b(?:at|live at|lives at|to|in)\s+((?:number|no\.?|flat|apartment|apt)\s*\d{1,4}[a-z]?)\b",
    re.IGNORECASE,
)


def _is_nhs(digits: str) -> bool:
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * (10 - i) for i, d in enumerate(digits[:9]))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


def find_patterns(text: str, cands: list[Candidate], allow_digits: frozenset[str]) -> None:
    """Add candidates for contact details, ids, dates, postcodes and house numbers."""
    has_at = "@" in text
    if has_at:
        for m in _EMAIL.finditer(text):
            add(cands, m.start(), m.end(), "email")
    if "." in text:
        for m in _URL.finditer(text):
            add(cands, m.start(), m.end(), "url")
    if has_at:
        for m in _AT_HANDLE.finditer(text):
            add(cands, m.start(), m.end(), "handle")
    lex = None
    for m in _PLATFORM_HANDLE.finditer(text):
        handle = m.group(1)
        bare = handle.lstrip("@").lower()
        if not any(ch.isdigit() or ch in "_.#@" for ch in handle):
            lex = lex or lexicon()
            if bare in lex.common or bare in STOP or len(bare) < 3:
                continue
        add(cands, m.start(1), m.end(1), "handle")

    has_digit = any(ch.isdigit() for ch in text)
    if not has_digit:
        return
    for m in _NHS.finditer(text):
        digits = m.group(1) + m.group(2) + m.group(3)
        if _is_nhs(digits) and (digits[0] != "0" or "nhs" in text.lower()):
            add(cands, m.start(), m.end(), "id", "id_strong")
    for m in _NI.finditer(text):
        add(cands, m.start(), m.end(), "id", "id_strong")
    if _PHONE_HINT.search(text):
        for m in _PHONE_HINT.finditer(text):
            _phonenumbers(text, max(0, m.start() - 6), m.end() + 2, cands, allow_digits)
        for m in _PHONE.finditer(text):
            digits = "".join(ch for ch in m.group() if ch.isdigit())
            if digits in allow_digits:
                continue
            national = digits[2:] if digits.startswith("44") else digits.lstrip("0")
            if 9 <= len(national) <= 10:
                add(cands, m.start(), m.end(), "phone")
    for m in _REF_ID.finditer(text):
        value = m.group(1)
        if sum(ch.isdigit() for ch in value) >= 4:
            add(cands, m.start(1), m.end(1), "id")
    for m in _SLASH_ID.finditer(text):
        add(cands, m.start(), m.end(), "id")
    for m in _ALNUM_ID.finditer(text):
        value = m.group()
        if len(value) >= 7 and sum(ch.isdigit() for ch in value) >= 4:
            add(cands, m.start(), m.end(), "id")
    for m in _LONG_DIGITS.finditer(text):
        if m.group() not in allow_digits:
            add(cands, m.start(), m.end(), "id")
    for m in _DATE.finditer(text):
        if m.group("d1"):
            a, b = int(m.group("d1")), int(m.group("m1"))
            if not (1 <= a <= 31 and 1 <= b <= 31 and min(a, b) <= 12):
                continue
        add(cands, m.start(), m.end(), "date")
    if _DOB_CONTEXT.search(text):
        for m in _SHORT_DATE.finditer(text):
            a, b = int(m.group(1)), int(m.group(2))
            if 1 <= a <= 31 and 1 <= b <= 12:
                add(cands, m.start(), m.end(), "date")
    for m in _FULL_POSTCODE.finditer(text):
        if m.group(1).upper() in _POSTCODE_AREAS:
            add(cands, m.start(), m.end(), "postcode")
    for m in _PART_POSTCODE.finditer(text):
        area = m.group(1)
        if area.upper() not in _POSTCODE_AREAS or m.group().lower() in _NOT_POSTCODES:
            continue
        typed_upper = m.group().isupper() and len(area) == 2
        if typed_upper or _POSTCODE_CONTEXT.search(text, max(0, m.start() - 20), m.start()):
            add(cands, m.start(), m.end(), "postcode")
    for m in _AT_NUMBER.finditer(text):
        add(cands, m.start(1), m.end(1), "address")


def _phonenumbers(
    text: str, lo: int, hi: int, cands: list[Candidate], allow_digits: frozenset[str]
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
            add(cands, lo + match.start, lo + match.end, "phone")
    except Exception:  # noqa: S110 - a library hiccup must never lose the answer
        pass
