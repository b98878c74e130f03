"""The invitation kit of a round, per audience: links, QR codes, poster words, a text message.

Pure: every function takes plain values (the public base URL, the bot's username, a round's
code...) and returns text or bytes. The web edge (``web/admin/invites.py``) reads the round
and the settings and serves what these return.

Telegram is offered to parents, staff and partners only: Telegram's own terms are for
people aged 16 and over, so children are always given the web link.

A round in two languages gets a bilingual kit: the text message and the poster carry both,
in the round's order (Welsh first when the service lists ``cy`` first). Welsh is sent as
written: a character outside GSM-7 makes the text Unicode (70, then 67 characters a part),
and the kit says how many parts it takes (``surveys.core.sms_text``), rather than strip an
accent to save one.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from xml.sax.saxutils import escape, quoteattr

import qrcode
from qrcode.constants import ERROR_CORRECT_M
from qrcode.image.pure import PyPNGImage

from surveys.core.engine import Texts, default_texts
from surveys.core.sms_text import Parts
from surveys.core.sms_text import count as count_parts
from surveys.core.vocabulary import AUDIENCES, ENGLISH, WELSH

AUDIENCE_NAMES = {
    "child": "Young people",
    "parent": "Parents and carers",
    "staff": "Staff and volunteers",
    "partner": "Partners and board members",
}
TELEGRAM_AUDIENCES = ("parent", "staff", "partner")
TELEGRAM_AGE_NOTE = (
    "Telegram is for people aged 16 and over. Young people aged 16 or 17 may use it, "
    "but the web link is the one to give children."
)
SMS_LIMIT = 160
#: Seconds a question takes on average (most are a tap; a few ask for a few words).
SECONDS_PER_QUESTION = 20

# The GSM 03.38 alphabet every phone sends as one character each; anything else (a curly
# quote, an emoji) turns the whole text into UCS-2, where one text holds only 70.
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = set("^{}\\[~]|€\f")  # two characters each (an escape, then the character)


class InviteError(ValueError):
    """An invitation cannot be made as asked (unknown audience...)."""


@dataclass(frozen=True)
class Poster:
    """The words of a printable poster for one audience, in reading order."""

    heading: str
    intro: str
    points: tuple[str, ...]
    how: str
    danger: str
    lang: str = ENGLISH
    telegram: str = "On Telegram? Send {start} to {bot}"


@dataclass(frozen=True)
class Kit:
    """Everything a lead needs to invite one audience to one round."""

    code: str
    title: str
    audience: str
    audience_name: str
    web_url: str
    telegram_url: str | None  # the one-tap deep link, when the bot's username is known
    telegram_start: str | None  # what to send the bot by hand; None for children
    minutes: int
    closes_on: date | None
    sms: str
    poster: Poster
    #: Every language's poster, in the round's order (the first is ``poster``).
    posters: tuple[Poster, ...] = ()
    languages: tuple[str, ...] = (ENGLISH,)

    @property
    def sms_parts(self) -> Parts:
        """Return how the text message is sent: encoding, characters and parts."""
        return count_parts(self.sms)

    @property
    def telegram_offered(self) -> bool:
        """Return True when this audience may be invited through Telegram."""
        return self.telegram_start is not None

    @property
    def sms_length(self) -> int:
        """Return the text message's length as a phone counts it (GSM-7 characters)."""
        return gsm7_length(self.sms)


def _check_audience(audience: str) -> None:
    if audience not in AUDIENCES:
        raise InviteError(f"unknown audience {audience!r}; choose from {', '.join(AUDIENCES)}")


def web_link(base_url: str, code: str, audience: str) -> str:
    """Return the web link that opens a round straight at one audience's questions."""
    _check_audience(audience)
    return f"{base_url.rstrip('/')}/r/{code}/{audience}"


def telegram_link(bot_username: str | None, code: str, audience: str) -> str | None:
    """Return the t.me deep link for an audience, or None (no username, or a child)."""
    _check_audience(audience)
    if not bot_username or audience not in TELEGRAM_AUDIENCES:
        return None
    return f"https://t.me/{bot_username.lstrip('@')}?start={code}-{audience}"


def telegram_start(code: str, audience: str) -> str | None:
    """Return the message to send the bot by hand, or None for children."""
    _check_audience(audience)
    return f"/start {code}" if audience in TELEGRAM_AUDIENCES else None


def estimate_minutes(question_count: int) -> int:
    """Return about how many minutes a survey of this many questions takes (at least 2)."""
    return max(2, round(question_count * SECONDS_PER_QUESTION / 60))


def gsm7_length(text: str) -> int:
    """Return how many GSM-7 characters a text takes, or a huge number if it needs UCS-2."""
    length = 0
    for ch in text:
        if ch in _GSM_BASIC:
            length += 1
        elif ch in _GSM_EXTENDED:
            length += 2
        else:
            return 10**6
    return length


# Longest first: the first that fits one text (160 GSM-7 characters) is used.
_SMS = {
    "child": (
        "Hi from the youth justice service. Tell us what you think so we can do better. "
        "No names needed. About {m} mins: {link}",
        "Youth justice service: tell us what you think. No names needed. About {m} mins: {link}",
        "Tell us what you think (no names): {link}",
    ),
    "parent": (
        "Hello from the youth justice service. Please tell us how we can better support "
        "you and your child. No names needed, about {m} minutes: {link}",
        "Youth justice service: how can we support you and your child? About {m} mins: {link}",
        "Please have your say: {link}",
    ),
    "staff": (
        "Please help shape next year's youth justice plan: propose priorities and tell us "
        "your training needs. No names needed, about {m} minutes: {link}",
        "Help shape next year's youth justice plan. About {m} mins: {link}",
        "Please have your say: {link}",
    ),
    "partner": (
        "Please help shape next year's youth justice plan with your priorities and "
        "proposals. No names needed, about {m} minutes: {link}",
        "Help shape next year's youth justice plan. About {m} mins: {link}",
        "Please have your say: {link}",
    ),
}


_SMS_CY = {
    "child": (
        "Helo gan y gwasanaeth cyfiawnder ieuenctid. Dywed dy farn er mwyn i ni wella. "
        "Dim enwau. Tua {m} munud: {link}",
        "Gwasanaeth cyfiawnder ieuenctid: dywed dy farn. Dim enwau. Tua {m} munud: {link}",
        "Dywed dy farn (dim enwau): {link}",
    ),
    "parent": (
        "Helo gan y gwasanaeth cyfiawnder ieuenctid. Sut gallwn ni eich cefnogi chi a'ch "
        "plentyn yn well? Dim enwau, tua {m} munud: {link}",
        "Gwasanaeth cyfiawnder ieuenctid: sut gallwn ni eich cefnogi? Tua {m} munud: {link}",
        "Dweud eich dweud: {link}",
    ),
    "staff": (
        "Helpwch i lunio cynllun cyfiawnder ieuenctid y flwyddyn nesaf: blaenoriaethau ac "
        "anghenion hyfforddi. Dim enwau, tua {m} munud: {link}",
        "Helpwch i lunio cynllun cyfiawnder ieuenctid y flwyddyn nesaf. Tua {m} munud: {link}",
        "Dweud eich dweud: {link}",
    ),
    "partner": (
        "Helpwch i lunio cynllun cyfiawnder ieuenctid y flwyddyn nesaf gyda'ch "
        "blaenoriaethau a'ch cynigion. Dim enwau, tua {m} munud: {link}",
        "Helpwch i lunio cynllun cyfiawnder ieuenctid y flwyddyn nesaf. Tua {m} munud: {link}",
        "Dweud eich dweud: {link}",
    ),
}
_SMS_BY_LANG = {ENGLISH: _SMS, WELSH: _SMS_CY}


def sms_text(
    audience: str, link: str, minutes: int, languages: tuple[str, ...] = (ENGLISH,)
) -> str:
    """Return a ready-to-send text message with the link, in one text when it can be.

    In several languages, each says its words in the round's order, then the one link.
    """
    _check_audience(audience)
    if len(languages) == 1:
        options = [t.format(m=minutes, link=link) for t in _SMS_BY_LANG[languages[0]][audience]]
    else:
        tiers = zip(*(_SMS_BY_LANG[lang][audience] for lang in languages), strict=True)
        options = [
            "\n".join(t.format(m=minutes, link="").rstrip() for t in tier) + " " + link
            for tier in tiers
        ]
    for text in options:
        if sms_text_parts(text) == 1:
            return text
    return options[-1]  # a very long link: more than one text, and the page says so


def sms_text_parts(text: str) -> int:
    """Return how many parts a text message takes (GSM-7 or, with Welsh accents, Unicode)."""
    return count_parts(text).parts


def _closes(closes_on: date | None) -> str:
    if closes_on is None:
        return ""
    return f" Open until {closes_on.day} {closes_on:%B %Y}."


WELSH_MONTHS = [
    "Ionawr",
    "Chwefror",
    "Mawrth",
    "Ebrill",
    "Mai",
    "Mehefin",
    "Gorffennaf",
    "Awst",
    "Medi",
    "Hydref",
    "Tachwedd",
    "Rhagfyr",
]


def _closes_cy(closes_on: date | None) -> str:
    if closes_on is None:
        return ""
    return f" Ar agor tan {closes_on.day} {WELSH_MONTHS[closes_on.month - 1]} {closes_on.year}."


def poster_for(
    audience: str,
    minutes: int,
    closes_on: date | None = None,
    lang: str = ENGLISH,
    texts: Texts | None = None,
) -> Poster:
    """Return the poster's words for an audience: what, anonymity, time, how, danger."""
    _check_audience(audience)
    if lang == WELSH:
        return _poster_cy(audience, minutes, closes_on, texts or default_texts())
    danger = (texts or default_texts()).get("danger", audience)
    how = "Scan the code with your phone camera, or type the link."
    if audience == "child":
        return Poster(
            heading="Have your say",
            intro=(
                "Help make the youth justice service better for young people. We want to "
                "know what you think about things like the police, school and the help you "
                "get. Your ideas go into next year's plan."
            ),
            points=(
                "You don't give your name. What you say is private, unless you tell us "
                "someone may be in danger. Then we must tell someone who can keep them safe.",
                f"It takes about {minutes} minutes. You can skip any question and stop at "
                "any time." + _closes(closes_on),
            ),
            how=how,
            danger=danger,
        )
    if audience == "parent":
        return Poster(
            heading="Parents and carers: have your say",
            intro=(
                "Tell us how the youth justice service can better support you and your "
                "child. What you say helps shape next year's youth justice plan."
            ),
            points=(
                "It is anonymous: we don't ask for your name. The only exception is if what "
                "you write suggests someone may be in danger; then we must pass it to our "
                "safeguarding lead.",
                f"It takes about {minutes} minutes. You can skip any question, go back, or "
                "stop at any time." + _closes(closes_on),
            ),
            how=how,
            danger=danger,
        )
    who = "staff and volunteers" if audience == "staff" else "partners and board members"
    return Poster(
        heading="Shape next year's youth justice plan",
        intro=(
            f"We are asking {who} what the youth justice service should work on next "
            "year: propose priorities and actions"
            + (", and tell us what training you need." if audience == "staff" else ".")
        ),
        points=(
            "It is anonymous: we don't ask for your name. The only exception is if what "
            "you write suggests someone may be in danger; then we must pass it to the "
            "safeguarding lead.",
            f"It takes about {minutes} minutes. You can skip any question, go back, or stop "
            "at any time." + _closes(closes_on),
        ),
        how=how,
        danger=danger,
    )


def _poster_cy(audience: str, minutes: int, closes_on: date | None, texts: Texts) -> Poster:
    """The poster in Welsh (drafted by the team: see docs/cy-glossary.md)."""
    danger = texts.get("danger", audience, WELSH)
    telegram = "Ar Telegram? Anfonwch {start} at {bot}"
    if audience == "child":
        return Poster(
            heading="Dweud dy ddweud",
            intro=(
                "Helpa i wneud y gwasanaeth cyfiawnder ieuenctid yn well i bobl ifanc. Rydyn "
                "ni eisiau gwybod beth rwyt ti'n ei feddwl am bethau fel yr heddlu, yr ysgol a'r "
                "help rwyt ti'n ei gael. Mae dy syniadau'n mynd i gynllun y flwyddyn nesaf."
            ),
            points=(
                "Dwyt ti ddim yn rhoi dy enw. Mae beth rwyt ti'n ei ddweud yn breifat, oni bai "
                "dy fod yn dweud bod rhywun mewn perygl. Yna rhaid i ni ddweud wrth rywun all eu "
                "cadw'n ddiogel.",
                f"Mae'n cymryd tua {minutes} munud. Gelli di hepgor unrhyw gwestiwn a stopio "
                "unrhyw bryd." + _closes_cy(closes_on),
            ),
            how="Sgania'r cod gyda chamera dy ffôn, neu teipia'r ddolen.",
            danger=danger,
            lang=WELSH,
            telegram=telegram,
        )
    anonymous = (
        "Mae'n ddienw: dydyn ni ddim yn gofyn am eich enw. Yr unig eithriad yw os yw beth "
        "rydych chi'n ei ysgrifennu yn awgrymu y gallai rhywun fod mewn perygl; yna rhaid i ni "
        "ei drosglwyddo i'r arweinydd diogelu."
    )
    time = (
        f"Mae'n cymryd tua {minutes} munud. Gallwch hepgor unrhyw gwestiwn, mynd yn ôl, neu "
        "stopio unrhyw bryd." + _closes_cy(closes_on)
    )
    how = "Sganiwch y cod gyda chamera eich ffôn, neu teipiwch y ddolen."
    if audience == "parent":
        return Poster(
            heading="Rhieni a gofalwyr: dweud eich dweud",
            intro=(
                "Dywedwch wrthym sut gall y gwasanaeth cyfiawnder ieuenctid eich cefnogi chi a'ch "
                "plentyn yn well. Mae beth rydych chi'n ei ddweud yn helpu i lunio cynllun "
                "cyfiawnder ieuenctid y flwyddyn nesaf."
            ),
            points=(anonymous, time),
            how=how,
            danger=danger,
            lang=WELSH,
            telegram=telegram,
        )
    who = "staff a gwirfoddolwyr" if audience == "staff" else "partneriaid ac aelodau'r bwrdd"
    return Poster(
        heading="Helpwch i lunio cynllun cyfiawnder ieuenctid y flwyddyn nesaf",
        intro=(
            f"Rydyn ni'n gofyn i {who} ar beth ddylai'r gwasanaeth cyfiawnder ieuenctid weithio "
            "y flwyddyn nesaf: cynigiwch flaenoriaethau a chamau gweithredu"
            + (
                ", a dywedwch wrthym pa hyfforddiant sydd ei angen arnoch."
                if audience == "staff"
                else "."
            )
        ),
        points=(anonymous, time),
        how=how,
        danger=danger,
        lang=WELSH,
        telegram=telegram,
    )


def build_kit(
    *,
    code: str,
    title: str,
    audience: str,
    base_url: str,
    bot_username: str | None,
    question_count: int,
    closes_on: date | None = None,
    languages: tuple[str, ...] | list[str] = (ENGLISH,),
    texts: Texts | None = None,
) -> Kit:
    """Return the invitation kit of one round for one audience, in the round's languages."""
    link = web_link(base_url, code, audience)
    minutes = estimate_minutes(question_count)
    langs = tuple(languages) or (ENGLISH,)
    posters = tuple(poster_for(audience, minutes, closes_on, lang, texts) for lang in langs)
    return Kit(
        code=code,
        title=title,
        audience=audience,
        audience_name=AUDIENCE_NAMES[audience],
        web_url=link,
        telegram_url=telegram_link(bot_username, code, audience),
        telegram_start=telegram_start(code, audience),
        minutes=minutes,
        closes_on=closes_on,
        sms=sms_text(audience, link, minutes, langs),
        poster=posters[0],
        posters=posters,
        languages=langs,
    )


def _qr(data: str) -> qrcode.QRCode:
    # Level M survives a crease or a smudge on a printed poster; fit=True picks the size.
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=16, border=4)
    qr.add_data(data)
    qr.make(fit=True)
    return qr


def qr_png(data: str) -> bytes:
    """Return a QR code of ``data`` as PNG bytes (black on white, with a quiet zone)."""
    buffer = io.BytesIO()
    _qr(data).make_image(image_factory=PyPNGImage).save(buffer)
    return buffer.getvalue()


def qr_svg(data: str, label: str | None = None, size: str | None = None) -> str:
    """Return a QR code of ``data`` as an SVG document (no styles, no scripts).

    ``label`` becomes the image's accessible name (its ``<title>``); ``size`` (an SVG
    length: "60mm", "240") fixes its width and height, otherwise it fills its container.
    """
    matrix = _qr(data).get_matrix()  # includes the quiet zone
    n = len(matrix)
    runs = []
    for y, row in enumerate(matrix):
        x = 0
        while x < n:
            if row[x]:
                start = x
                while x < n and row[x]:
                    x += 1
                runs.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    dims = f" width={quoteattr(size)} height={quoteattr(size)}" if size else ""
    name = label or data
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {n} {n}"{dims} '
        f'shape-rendering="crispEdges" role="img" aria-label={quoteattr(name)}>'
        f"<title>{escape(name)}</title>"
        f'<rect width="{n}" height="{n}" fill="#ffffff"/>'
        f'<path fill="#000000" d="{"".join(runs)}"/>'
        "</svg>"
    )
