"""The question builder in the workbench: write, check, preview, version, export and import.

Pages over ``surveys.services.questions`` (tested on both databases in tests/test_questions.py);
here what the lead sees and may do, and that bad input is a message, never a 500, never a
half-saved change. One test per view that sends SQL also runs on PostgreSQL.
"""

from __future__ import annotations

import re

import pytest
import yaml
from sqlalchemy import func, select

from surveys.services import conversation, questions
from surveys.storage import store
from surveys.storage.models import LocalBank, LocalQuestion
from tests.web.conftest import ROLES, hidden_fields

LEAD_ONLY = {"lead"}


def token(client, url: str = "/admin/questions") -> str:
    return hidden_fields(client.get(url).get_data(as_text=True))["csrf_token"]


def rows(rt) -> tuple[int, int]:
    with rt.transaction() as s:
        return (
            s.scalar(select(func.count()).select_from(LocalQuestion)),
            s.scalar(select(func.count()).select_from(LocalBank)),
        )


def create(client, csrf, **fields) -> str:
    data = {
        "csrf_token": csrf,
        "kind": "consultation",
        "key": "renaming",
        "title": "Renaming the service",
        "title_cy": "Ailenwi'r gwasanaeth",
        "purpose": "What young people think the service should be called.",
        **fields,
    }
    res = client.post("/admin/questions/new", data=data)
    assert res.status_code == 303, res.get_data(as_text=True)[:2000]
    return res.headers["Location"].rsplit("/", 1)[-1]


def question(csrf, action="save", **fields) -> dict[str, str]:
    return {"csrf_token": csrf, "action": action, "type": "text", **fields}


@pytest.fixture
def lead(as_role):
    return as_role("lead")


@pytest.fixture
def renaming(lead):
    """A consultation with a text question, a choice question and a follow-up to it."""
    csrf = token(lead)
    key = create(lead, csrf)
    add = f"/admin/questions/{key}/add"
    for data in (
        question(
            csrf, **{"text-child-en": "What should we call the YOT?", "name": "renaming.call"}
        ),
        question(
            csrf,
            type="choice",
            name="renaming.like",
            **{
                "text-child-en": "Do you like the name YOT?",
                "option-en-1": "Yes",
                "option-en-2": "No",
                "option-en-3": "Not sure",
            },
        ),
        question(
            csrf,
            name="renaming.why",
            follows="renaming.like|no",
            **{"text-child-en": "Tell us why."},
        ),
    ):
        res = lead.post(add, data=data)
        assert res.status_code == 303, res.get_data(as_text=True)[:3000]
    return key


# ---- who may do what ------------------------------------------------------------------------
def builder_routes(key: str, name: str) -> list[tuple[str, str, str]]:
    return [
        ("admin.questions_index", "GET", "/admin/questions"),
        ("admin.questions_new", "GET", "/admin/questions/new"),
        ("admin.questions_new", "POST", "/admin/questions/new"),
        ("admin.questions_bank", "GET", f"/admin/questions/{key}"),
        ("admin.questions_bank", "POST", f"/admin/questions/{key}"),
        ("admin.question_form", "GET", f"/admin/questions/{key}/add"),
        ("admin.question_form", "POST", f"/admin/questions/{key}/add"),
        ("admin.question_form", "GET", f"/admin/questions/{key}/edit/{name}"),
        ("admin.question_form", "POST", f"/admin/questions/{key}/edit/{name}"),
        ("admin.question_check", "POST", f"/admin/questions/{key}/check"),
        ("admin.question_preview", "GET", f"/admin/questions/{key}/preview?saved={name}"),
        ("admin.question_preview", "POST", f"/admin/questions/{key}/preview"),
        ("admin.questions_export", "GET", f"/admin/questions/{key}/export"),
        ("admin.questions_import", "POST", "/admin/questions/import"),
    ]


def test_the_route_table_covers_every_route_of_the_builder(app):
    mine = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if app.view_functions[rule.endpoint].__module__ == "web.admin.questions"
    }
    assert mine == {endpoint for endpoint, *_ in builder_routes("k", "k.q")}
    for endpoint in mine:
        assert set(app.view_functions[endpoint].allowed_roles) == LEAD_ONLY, endpoint


@pytest.mark.parametrize("role", ROLES)
def test_only_the_lead_may_build_questions_and_an_empty_form_is_never_a_500(
    as_role, renaming, role
):
    client = as_role(role)
    csrf = token(client, "/admin/") if role != "safeguarding" else ""
    for endpoint, method, url in builder_routes(renaming, "renaming.call"):
        res = client.get(url) if method == "GET" else client.post(url, data={"csrf_token": csrf})
        if role not in LEAD_ONLY:
            assert res.status_code == 403, (role, endpoint, res.status_code)
        elif method == "GET":
            assert res.status_code == 200, (endpoint, url, res.status_code)
            assert res.headers["Cache-Control"] == "no-store"
        else:
            assert res.status_code in (200, 303, 400), (endpoint, url, res.status_code)


def test_the_nav_links_the_builder_for_the_lead_only(as_role):
    assert 'href="/admin/questions"' in as_role("lead").get("/admin/").get_data(as_text=True)
    assert 'href="/admin/questions"' not in as_role("reviewer").get("/admin/").get_data(
        as_text=True
    )


# ---- building ---------------------------------------------------------------------------------
def test_a_consultation_is_built_with_every_type_and_asked_in_a_round(lead, renaming, rt):
    csrf = token(lead)
    add = f"/admin/questions/{renaming}/add"
    extra = [
        question(
            csrf,
            type="rating",
            **{
                "text-child-en": "How was your time with the YOT?",
                "text-parent-en": "How would you rate the YOT's support?",
            },
        ),
        question(csrf, type="yesno", **{"text-staff-en": "Should the name change?"}),
        question(
            csrf,
            type="choice",
            screening="1",
            name="renaming.girl",
            **{
                "text-child-en": "The next question is for girls. Do you want to answer it?",
                "option-en-1": "Yes",
                "option-en-2": "No",
            },
        ),
        question(
            csrf,
            follows="renaming.girl|yes",
            **{"text-child-en": "Does the name feel right for girls?"},
        ),
    ]
    for data in extra:
        res = lead.post(add, data=data)
        assert res.status_code == 303, re.findall(r'id="error">([^<]*)', res.get_data(as_text=True))
    bank = rt.catalogue.bank(renaming)
    assert [q.type for q in bank.questions] == [
        "text",
        "choice",
        "text",
        "rating",
        "yesno",
        "choice",
        "text",
    ]
    assert bank.title_in("cy") == "Ailenwi'r gwasanaeth"
    girl = rt.catalogue.question("renaming.girl")
    from surveys.core import wording

    assert wording.is_screening(girl, "child")  # offers "rather not say", says it is optional
    assert wording.behind_screening(rt.catalogue, bank.questions[-1], "child")
    with rt.transaction() as s:
        rnd = store.open_round(
            s, rt.catalogue, title="Name", priorities=[renaming], audiences=["child"]
        )
        survey = conversation.survey_for(rnd, rt.catalogue)
    asked = [q.id for q in survey.questions("child")]
    assert asked[:3] == ["renaming.call", "renaming.like", "renaming.why"]


@pytest.mark.backends("sqlite", "postgres")  # a refused change re-reads its rows: SQL
def test_moving_and_removing_questions(lead, renaming, rt):
    csrf = token(lead)
    url = f"/admin/questions/{renaming}"
    assert lead.post(url, data={"csrf_token": csrf, "action": "down", "name": "renaming.call"})
    assert [q.id for q in rt.catalogue.bank(renaming).questions] == [
        "renaming.like",
        "renaming.call",
        "renaming.why",
    ]
    # the follow-up cannot go before the question it follows: a message, nothing moved
    lead.post(url, data={"csrf_token": csrf, "action": "up", "name": "renaming.why"})
    res = lead.post(url, data={"csrf_token": csrf, "action": "up", "name": "renaming.why"})
    assert res.status_code == 400
    assert "must come after" in res.get_data(as_text=True)
    # the followed question cannot go while its follow-up stays
    remove = {"csrf_token": csrf, "action": "remove", "confirmed": "yes"}
    res = lead.post(url, data={**remove, "name": "renaming.like"})
    assert res.status_code == 400 and "follows up on" in res.get_data(as_text=True)
    # removing asks once more first, and says what happens
    ask = lead.post(url, data={"csrf_token": csrf, "action": "remove", "name": "renaming.call"})
    assert ask.status_code == 200 and "It has never been asked: it is deleted." in ask.get_data(
        as_text=True
    )
    assert rows(rt)[0] == 3
    res = lead.post(url, data={**remove, "name": "renaming.call"})
    assert res.status_code == 303
    assert "renaming.call deleted" in lead.get(url).get_data(as_text=True)


# ---- bad input: a message on the page, nothing half-saved -----------------------------------
BAD = {
    "empty wording": ({"text-child-en": "   "}, "its wording is empty"),
    "welsh only": ({"text-child-cy": "Beth?"}, "its wording is empty"),
    "300 words": ({"text-child-en": " ".join(["word"] * 300) + "?"}, "has 300 words: at most 50"),
    "duplicate id": (
        {"text-child-en": "Again?", "name": "renaming.like"},
        "is used by another question already",
    ),
    "follows itself": (
        {"text-child-en": "Why?", "name": "renaming.self", "follows": "renaming.self|*"},
        "cannot be a follow-up to itself",
    ),
    "one answer": (
        {"type": "choice", "text-child-en": "Pick?", "option-en-1": "A"},
        "needs 2 to 6 options",
    ),
    "screening yes/no": (
        {"type": "yesno", "text-child-en": "Are you a girl?", "screening": "1"},
        "A screening question is a choice question",
    ),
    "not a number": ({"text-child-en": "Why?", "max_length": "lots"}, "whole number"),
    "unknown type": ({"type": "essay", "text-child-en": "Why?"}, "choose the question's type"),
    "answer key not lower_snake": (
        {
            "type": "choice",
            "text-child-en": "Pick?",
            "option-key-1": "Yes!",
            "option-en-1": "Yes",
            "option-en-2": "No",
        },
        "is repeated or not lower_snake",
    ),
    "longest answer 0": ({"text-child-en": "Why?", "max_length": "0"}, "max_length must be"),
    "follows nothing": (
        {"text-child-en": "Why?", "follows": "nonsense"},
        "under another priority",
    ),
    "follows a later answer": (
        {"text-child-en": "Why?", "follows": "renaming.like|maybe"},
        "are not answers of renaming.like",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_question_is_a_message_on_the_form_and_nothing_is_saved(lead, renaming, rt, case):
    fields, message = BAD[case]
    before = rows(rt)
    res = lead.post(f"/admin/questions/{renaming}/add", data=question(token(lead), **fields))
    body = res.get_data(as_text=True)
    assert res.status_code == 400
    assert message in body.replace("&#39;", "'"), re.findall(r'id="error">([^<]*)', body)
    assert 'role="alert"' in body
    assert rows(rt) == before
    # what was typed is still there to put right
    for name, value in fields.items():
        if name.startswith("text-") and value.strip():
            assert value[:40] in body


def test_a_priority_without_title_or_purpose_is_refused(lead, rt):
    res = lead.post(
        "/admin/questions/new",
        data={"csrf_token": token(lead), "kind": "priority", "title": "", "purpose": ""},
    )
    assert res.status_code == 400 and "Please give a title" in res.get_data(as_text=True)
    assert rows(rt) == (0, 0)


# ---- frozen once asked ------------------------------------------------------------------------
@pytest.mark.backends("sqlite", "postgres")  # the builder's own SQL, on both databases
def test_editing_a_question_of_an_open_round_makes_a_new_version_and_says_so(lead, renaming, rt):
    with rt.transaction() as s:
        rnd = store.open_round(
            s, rt.catalogue, title="Name", priorities=[renaming], audiences=["child"]
        )
        code = rnd.code
    url = f"/admin/questions/{renaming}/edit/renaming.call"
    page = lead.get(url).get_data(as_text=True)
    assert f"open round {code} asks it" in page and "Save as a new version" in page
    assert "renaming.call.v2" in page
    res = lead.post(
        url, data=question(token(lead), **{"text-child-en": "What name would you pick?"})
    )
    assert res.status_code == 303
    shown = lead.get(res.headers["Location"]).get_data(as_text=True)
    assert "Saved as a new version, renaming.call.v2" in shown
    assert f"round {code} is open" in shown
    cat = rt.catalogue
    assert cat.question("renaming.call").text_for("child") == "What should we call the YOT?"
    assert cat.question("renaming.call.v2").text_for("child") == "What name would you pick?"
    with rt.transaction() as s:
        assert [r.qid for r in questions.versions_of(s, "renaming.call")] == [
            "renaming.call.v2",
            "renaming.call",
        ]
    ask = lead.post(
        f"/admin/questions/{renaming}",
        data={"csrf_token": token(lead), "action": "remove", "name": "renaming.call"},
    ).get_data(as_text=True)
    assert f"It has been asked: open round {code} asks it" in ask and "it is kept" in ask


def test_a_question_of_a_round_open_in_welsh_needs_its_welsh(lead, renaming, rt):
    cy = {
        "text-child-en": "What should we call the YOT?",
        "text-child-cy": "Beth ddylen ni alw'r YOT?",
    }
    res = lead.post(
        f"/admin/questions/{renaming}/edit/renaming.call", data=question(token(lead), **cy)
    )
    assert res.status_code == 303
    with rt.transaction() as s:
        questions.remove_question(s, rt.banks, "renaming.why")
        questions.remove_question(s, rt.banks, "renaming.like")
    with rt.transaction() as s:
        store.open_round(
            s,
            rt.catalogue,
            title="Enw",
            priorities=[renaming],
            audiences=["child"],
            languages=["cy", "en"],
        )
    before = rows(rt)
    res = lead.post(
        f"/admin/questions/{renaming}/add",
        data=question(token(lead), **{"text-child-en": "Anything else?"}),
    )
    assert res.status_code == 400
    assert "is open in Cymraeg and asks this priority" in res.get_data(as_text=True)
    assert rows(rt) == before


# ---- the preview: the respondent form's own page ----------------------------------------------
def test_the_preview_is_the_web_forms_own_page_for_that_question(lead, renaming, app):
    res = lead.get(f"/admin/questions/{renaming}/preview?saved=renaming.like")
    body = res.get_data(as_text=True)
    assert res.status_code == 200
    assert res.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in res.headers["Content-Security-Policy"]
    # what the web form shows a young person at that question, from the same template
    assert '<h1 class="question">Do you like the name YOT?</h1>' in body
    for key, label in (("yes", "Yes"), ("no", "No"), ("not_sure", "Not sure")):
        assert f'name="choice" value="{key}" class="button choice">{label}</button>' in body
    assert "Skip this question" in body and "site.css" in body and "Question 2 of" in body
    # the follow-up is shown as the engine asks it: after the answer that leads to it
    why = lead.get(f"/admin/questions/{renaming}/preview?saved=renaming.why").get_data(as_text=True)
    assert '<label for="answer">Tell us why.</label>' in why and "Question 3 of" in why


def test_the_preview_speaks_welsh_when_asked(lead, renaming):
    csrf = token(lead)
    welsh = {
        "text-child-en": "What should we call the YOT?",
        "text-child-cy": "Beth ddylen ni alw'r YOT?",
        "preview_audience": "child",
        "preview_lang": "cy",
    }
    res = lead.post(
        f"/admin/questions/{renaming}/preview",
        data=question(csrf, action="preview", editing="renaming.call", **welsh),
    )
    body = res.get_data(as_text=True)
    assert res.status_code == 200
    assert '<html lang="cy">' in body
    assert "Beth ddylen ni alw&#39;r YOT?" in body
    assert "Hepgor" in body  # the form's own buttons, in Welsh
    assert "What should we call" not in body


def test_a_preview_of_a_question_being_written_saves_nothing(lead, renaming, rt):
    before = rows(rt)
    with rt.transaction() as s:
        stamp = questions.building.stamp(s)
    res = lead.post(
        f"/admin/questions/{renaming}/preview",
        data=question(
            token(lead),
            action="preview",
            type="yesno",
            **{"text-child-en": "Would you like a say in the new name?"},
        ),
    )
    body = res.get_data(as_text=True)
    assert "Would you like a say in the new name?" in body
    assert 'value="yes" class="button choice">Yes</button>' in body
    # pressing a button inside the preview saves nothing either
    inner = hidden_fields(body)
    tapped = lead.post(
        f"/admin/questions/{renaming}/preview?saved=renaming.call",
        data={**inner, "command": "skip"},
    )
    assert tapped.status_code == 200 and "nothing was saved" in tapped.get_data(as_text=True)
    assert rows(rt) == before
    with rt.transaction() as s:
        assert questions.building.stamp(s) == stamp


def test_a_preview_of_a_question_that_cannot_be_saved_says_why(lead, renaming):
    res = lead.post(
        f"/admin/questions/{renaming}/preview",
        data=question(token(lead), action="preview", **{"text-child-en": ""}),
    )
    assert res.status_code == 200
    assert "its wording is empty" in res.get_data(as_text=True)


def test_the_builder_frames_the_preview_at_phone_size(lead, renaming):
    res = lead.get(f"/admin/questions/{renaming}/edit/renaming.like")
    body = res.get_data(as_text=True)
    assert "frame-src 'self'" in res.headers["Content-Security-Policy"]
    frame = re.search(r"<iframe[^>]*>", body).group(0)
    assert 'width="390"' in frame and 'height="844"' in frame and 'name="phone"' in frame
    assert "preview?saved=renaming.like" in frame
    assert 'formtarget="phone"' in body


# ---- live checks --------------------------------------------------------------------------------
HARD = (
    "Do you think the youth justice service should consider changing its name to something "
    "that reflects participation, and what would you suggest?"
)


def test_live_checks_measure_the_wording_as_the_banks_tests_do(lead, renaming):
    from surveys.core import wording

    res = lead.post(
        f"/admin/questions/{renaming}/check",
        data=question(
            token(lead),
            action="",
            **{"text-child-en": HARD, "text-parent-en": "What name do you like?"},
        ),
    )
    assert res.status_code == 200 and res.is_json
    found = {c["field"]: c for c in res.get_json()["checks"]}
    child = found["text-child-en"]
    expected = wording.report(HARD, audience="child")
    assert child["measures"][0]["grade"] == round(expected.measures[0].grade, 1)
    assert child["measures"][0]["grade"] > wording.MAX_GRADE
    assert child["measures"][0]["words"] == len(wording.words(HARD))
    advice = " ".join(child["measures"][0]["advice"])
    assert "Flesch-Kincaid grade" in advice and "words >" in advice
    assert "two things at once" in advice  # one idea per question
    assert child["sms"]["parts"] == expected.sms_parts
    assert found["text-parent-en"]["measures"][0]["advice"] == []
    assert "reading grade" in res.get_json()["html"]
    assert "No Welsh yet for: children, parents / carers." in res.get_json()["html"]


def test_checks_work_with_javascript_off(lead, renaming, rt):
    before = rows(rt)
    res = lead.post(
        f"/admin/questions/{renaming}/add",
        data=question(token(lead), action="check", **{"text-child-en": HARD}),
    )
    body = res.get_data(as_text=True)
    assert res.status_code == 200
    assert "Flesch-Kincaid grade" in body and "As a text message:" in body
    assert HARD[:30] in body
    assert rows(rt) == before


# ---- bank files ---------------------------------------------------------------------------------
def test_a_bank_is_downloaded_and_uploaded_again_as_yaml(lead, renaming, rt):
    import io

    res = lead.get(f"/admin/questions/{renaming}/export")
    assert res.status_code == 200
    assert 'filename="renaming.yaml"' in res.headers["Content-Disposition"]
    doc = yaml.safe_load(res.get_data(as_text=True))
    assert doc["key"] == "renaming"
    assert [q["id"] for q in doc["questions"]] == ["renaming.call", "renaming.like", "renaming.why"]
    doc["questions"][0]["text"]["child"]["en"] = "What name should the YOT have?"
    doc["questions"].append(
        {"id": "renaming.more", "type": "text", "text": {"child": {"en": "Anything else?"}}}
    )
    upload = yaml.safe_dump(doc, sort_keys=False).encode()
    res = lead.post(
        "/admin/questions/import",
        data={"csrf_token": token(lead), "bank": (io.BytesIO(upload), "renaming.yaml")},
        content_type="multipart/form-data",
    )
    assert res.status_code == 303
    shown = lead.get(res.headers["Location"]).get_data(as_text=True)
    assert "1 added, 1 changed" in shown
    assert rt.catalogue.question("renaming.call").text_for("child") == (
        "What name should the YOT have?"
    )


BAD_FILES = {
    "not yaml": (b"key: [unclosed\n  - {", "renaming.yaml", "renaming.yaml"),
    "not utf-8": ("key: ailenwi\ntitle: Ail\u00e9nwi\n".encode("latin-1"), "a.yaml", "UTF-8"),
    "empty": (b"  \n", "a.yaml", "the file is empty"),
    "duplicate ids": (
        yaml.safe_dump(
            {
                "key": "victims",
                "title": "Victims",
                "order": 20,
                "description": "What victims need.",
                "questions": [
                    {"id": "victims.say", "type": "text", "text": "What helps?"},
                    {"id": "victims.say", "type": "text", "text": "What else?"},
                ],
            }
        ).encode(),
        "victims.yaml",
        "victims.say",
    ),
    "a national question": (
        yaml.safe_dump(
            {
                "key": "policing",
                "title": "Policing",
                "order": 2,
                "description": "Police.",
                "questions": [{"id": "policing.opinion", "type": "text", "text": "Police?"}],
            }
        ).encode(),
        "policing.yaml",
        "one of the national questions",
    ),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_bank_file_is_a_message_and_changes_nothing(lead, renaming, rt, case):
    import io

    data, filename, message = BAD_FILES[case]
    before = rows(rt)
    res = lead.post(
        "/admin/questions/import",
        data={"csrf_token": token(lead), "bank": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )
    body = res.get_data(as_text=True)
    assert res.status_code == 400, body[:500]
    assert message in body and "Nothing was changed" in body
    assert rows(rt) == before


def test_a_bank_file_too_big_is_refused_before_it_is_read(lead, rt):
    import io

    data = b"# " + b"x" * (questions.MAX_FILE_BYTES + 70 * 1024)
    res = lead.post(
        "/admin/questions/import",
        data={"csrf_token": token(lead), "bank": (io.BytesIO(data), "big.yaml")},
        content_type="multipart/form-data",
    )
    assert res.status_code == 413 and "it is not a bank of questions" in res.get_data(as_text=True)
    assert rows(rt) == (0, 0)


def _main(page: str) -> str:
    """Return a page's <main>, without what differs per page load (ids, tokens, where it posts)."""
    main = page[page.index("<main") : page.index("</main>")]
    main = re.sub(r'name="(csrf_token|submission)" value="[^"]*"', r'name="\1"', main)
    return re.sub(r'action="[^"]*"', "action", main)


@pytest.mark.parametrize("qid", ["renaming.call", "renaming.like", "renaming.why"])
def test_the_preview_is_exactly_what_a_young_person_is_shown(app, lead, renaming, rt, qid):
    from tests.web.test_public import child

    with rt.transaction() as s:
        code = store.open_round(
            s,
            rt.catalogue,
            title="Renaming the service",
            priorities=[renaming],
            audiences=["child"],
        ).code
    young = child(app.test_client(), code).start()
    if qid != "renaming.call":
        young.answer("The Hub")
    if qid == "renaming.why":
        young.post(choice="no")
    assert young.question == qid
    preview = lead.get(f"/admin/questions/{renaming}/preview?saved={qid}").get_data(as_text=True)
    assert _main(preview) == _main(young.html)
    assert re.search(r"<header.*</header>", preview, re.S).group(0) == re.search(
        r"<header.*</header>", young.html, re.S
    ).group(0)


def test_a_preview_can_be_asked_for_in_the_query_as_the_page_script_does(lead, renaming, rt):
    from urllib.parse import urlencode

    before = rows(rt)
    query = urlencode(
        {"type": "yesno", "text-child-en": "Shall we keep the name?", "preview_audience": "child"}
    )
    res = lead.get(f"/admin/questions/{renaming}/preview?{query}")
    body = res.get_data(as_text=True)
    assert res.status_code == 200 and res.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert '<h1 class="question">Shall we keep the name?</h1>' in body
    assert rows(rt) == before


def test_answers_worded_per_group_in_a_bank_file_are_flagged_before_editing(lead, renaming, rt):
    with rt.transaction() as s:
        questions.add_question(
            s,
            rt.banks,
            priority=renaming,
            name="renaming.ok",
            spec={
                "type": "choice",
                "text": {"child": "Is the name OK?", "parent": "Is the name right?"},
                "options": [
                    {"key": "yes", "label": {"child": "Yeah", "parent": "Yes"}},
                    {"key": "no", "label": {"child": "Nah", "parent": "No"}},
                ],
            },
        )
    page = lead.get(f"/admin/questions/{renaming}/edit/renaming.ok").get_data(as_text=True)
    assert "worded differently for different groups" in page
    plain = lead.get(f"/admin/questions/{renaming}/edit/renaming.like").get_data(as_text=True)
    assert "worded differently for different groups" not in plain
