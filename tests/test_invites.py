"""Invitation kit promises: right links per audience, QR codes that scan, words that fit."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from datetime import date

import pytest

from surveys.core.engine import default_texts
from surveys.core.vocabulary import AUDIENCES
from surveys.services import invites

BASE = "https://voice.example.org"
LONG_BASE = "https://youth-justice-voice.somewhere-borough-council.gov.uk"
DANGER = default_texts().get("danger", "child")


def kit(audience="child", base=BASE, bot="yjvoice_bot", questions=18, closes_on=None):
    return invites.build_kit(
        code="ABC234",
        title="Plan 2027",
        audience=audience,
        base_url=base,
        bot_username=bot,
        question_count=questions,
        closes_on=closes_on,
    )


def decode_png(data: bytes) -> list[str]:
    import zxingcpp
    from PIL import Image

    return [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(data)))]


def decode_svg(svg: str) -> list[str]:
    """Rasterise our SVG's rectangles by hand (no SVG renderer needed) and scan the result."""
    import zxingcpp
    from PIL import Image, ImageDraw

    root = ET.fromstring(svg)
    n = int(root.get("viewBox").split()[2])
    scale = 8
    img = Image.new("L", (n * scale, n * scale), 255)
    draw = ImageDraw.Draw(img)
    path = root.find("{http://www.w3.org/2000/svg}path").get("d")
    for x, y, w in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\d+z", path):
        x, y, w = int(x), int(y), int(w)
        draw.rectangle([x * scale, y * scale, (x + w) * scale - 1, (y + 1) * scale - 1], fill=0)
    return [r.text for r in zxingcpp.read_barcodes(img)]


def test_web_link_opens_the_round_at_the_audience():
    assert invites.web_link(BASE + "/", "ABC234", "parent") == f"{BASE}/r/ABC234/parent"
    with pytest.raises(invites.InviteError):
        invites.web_link(BASE, "ABC234", "aliens")


@pytest.mark.parametrize("audience", ["parent", "staff", "partner"])
def test_telegram_deep_link_names_round_and_audience_for_adults(audience):
    k = kit(audience, bot="@yjvoice_bot")
    assert k.telegram_url == f"https://t.me/yjvoice_bot?start=ABC234-{audience}"
    assert k.telegram_start == "/start ABC234" and k.telegram_offered


def test_telegram_is_never_offered_for_children():
    k = kit("child")
    assert k.telegram_url is None and k.telegram_start is None and not k.telegram_offered
    assert "16" in invites.TELEGRAM_AGE_NOTE and "web link" in invites.TELEGRAM_AGE_NOTE


def test_no_deep_link_without_the_bots_username_but_the_start_text_remains():
    k = kit("parent", bot=None)
    assert k.telegram_url is None and k.telegram_start == "/start ABC234"


@pytest.mark.parametrize("base", [BASE, "http://127.0.0.1:5000", LONG_BASE])
@pytest.mark.parametrize("questions", [3, 54])
def test_young_peoples_text_message_fits_one_text_and_carries_the_link(base, questions):
    k = kit("child", base=base, questions=questions)
    assert k.web_url in k.sms
    assert k.sms_length <= invites.SMS_LIMIT
    assert len(k.sms) <= invites.SMS_LIMIT
    assert invites.gsm7_length(k.sms) == len(k.sms)  # plain GSM-7: no curly quotes, no emoji


@pytest.mark.parametrize("audience", AUDIENCES)
def test_every_audience_has_a_text_message_with_its_own_link(audience):
    k = kit(audience)
    assert k.sms.endswith(k.web_url) and k.sms_length <= invites.SMS_LIMIT


def test_gsm7_length_counts_extension_characters_twice_and_refuses_ucs2():
    assert invites.gsm7_length("abc") == 3
    assert invites.gsm7_length("a[b]") == 6
    assert invites.gsm7_length("it’s") > invites.SMS_LIMIT  # a curly apostrophe


def test_a_very_long_link_falls_back_to_the_shortest_message():
    k = kit("child", base="https://" + "x" * 150 + ".example.org")
    assert k.sms.startswith("Tell us what you think") and k.sms_length > invites.SMS_LIMIT


def test_minutes_are_estimated_from_the_questions_asked():
    assert invites.estimate_minutes(0) == 2
    assert invites.estimate_minutes(18) == 6
    assert kit(questions=54).minutes == 18


def test_qr_png_is_a_png_that_scans_to_the_web_link():
    link = f"{BASE}/r/ABC234/child"
    data = invites.qr_png(link)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert decode_png(data) == [link]


def test_qr_svg_is_plain_svg_that_scans_to_the_web_link():
    link = f"{BASE}/r/ABC234/parent"
    svg = invites.qr_svg(link, label="QR code for the survey", size="60mm")
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg" and root.get("width") == "60mm"
    assert root.find("{http://www.w3.org/2000/svg}title").text == "QR code for the survey"
    assert "style" not in svg and "script" not in svg.lower()
    assert decode_svg(svg) == [link]


def test_qr_svg_escapes_the_text_it_names():
    svg = invites.qr_svg('https://x.example/r/A?a=1&b="2"<', label='<b> & "c"')
    ET.fromstring(svg)  # still well-formed
    assert "<b>" not in svg


@pytest.mark.parametrize("audience", AUDIENCES)
def test_every_poster_says_anonymous_unless_danger_time_and_the_danger_line(audience):
    poster = kit(audience, closes_on=date(2099, 3, 31)).poster
    words = " ".join([poster.heading, poster.intro, *poster.points, poster.how])
    assert "danger" in words and "minutes" in words and "31 March 2099" in words
    assert poster.danger == DANGER and "999" in poster.danger and "0800 1111" in poster.danger


def test_posters_speak_to_each_audience_in_its_own_words():
    child, parent, staff = (kit(a).poster for a in ("child", "parent", "staff"))
    assert "young people" in child.intro and "your child" in parent.intro
    assert "training" in staff.intro
    assert len({child.heading, parent.heading, staff.heading}) == 3
    # Children's wording stays short and plain: no sentence over 25 words.
    for text in (child.intro, *child.points):
        for sentence in re.split(r"[.!?]\s", text):
            assert len(sentence.split()) <= 25, sentence


# --------------------------------------------------------------------------- Cymraeg


def welsh_kit(audience="child", languages=("cy", "en"), **kw):
    return invites.build_kit(
        code="ABC234",
        title="Arolwg",
        audience=audience,
        base_url="https://yjs.example.gov.uk",
        bot_username="yjvoice_bot",
        question_count=12,
        languages=languages,
        **kw,
    )


@pytest.mark.parametrize("audience", AUDIENCES)
def test_a_bilingual_kit_says_it_in_welsh_first_where_the_service_chooses(audience):
    welsh_first = welsh_kit(audience)
    assert [p.lang for p in welsh_first.posters] == ["cy", "en"]
    assert welsh_first.poster.lang == "cy"
    first, second = welsh_first.sms.split("\n")[:2]
    assert welsh_first.sms.endswith(welsh_first.web_url)
    assert welsh_first.sms.count(welsh_first.web_url) == 1
    english_first = welsh_kit(audience, languages=("en", "cy"))
    assert english_first.sms.split("\n")[0] == second.removesuffix(" " + welsh_first.web_url)
    assert [p.lang for p in english_first.posters] == ["en", "cy"]
    assert welsh_first.sms_parts.parts <= 3
    assert "999" in welsh_first.poster.danger and "0800 1111" in welsh_first.poster.danger
    assert first != second


def test_a_welsh_text_with_accents_is_unicode_and_counted_as_such():
    k = welsh_kit("child", languages=("cy",))
    assert k.sms.startswith("Helo gan y gwasanaeth cyfiawnder ieuenctid.")
    assert invites.sms_text_parts("Dere nôl") == 1
    parts = invites.count_parts("Croeso! Mae'r arolwg yn Gymraeg: ŵ ŷ â " + "a" * 70)
    assert parts.encoding == "UCS-2" and parts.parts == 2


def test_a_welsh_poster_closes_on_a_welsh_date():
    k = welsh_kit("parent", languages=("cy",), closes_on=date(2099, 3, 31))
    assert "Ar agor tan 31 Mawrth 2099." in k.poster.points[-1]
    assert k.poster.heading == "Rhieni a gofalwyr: dweud eich dweud"
