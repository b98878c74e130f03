"""The Telegram bot's promises, through real PTB over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select, text

from bot.render import messages
from bot.translate import CALLBACK_LIMIT, callback_data, parse_callback
from surveys.core import engine
from surveys.storage import store
from surveys.storage.models import Answer, Base, Inbound, Respondent
from tests.bot.conftest import WEBHOOK_SECRET, text_of
from tests.conftest import TEST_SECRET

YES = text_of("consent_yes")
REPO = Path(__file__).resolve().parents[2]


def respondent_of(rt, chat) -> Respondent | None:
    """Return the respondent a chat's user is (found the way the bot finds them)."""
    key = store.keyed_hash(rt.settings.secret_key, "tg", str(chat.user.id))
    with rt.transaction() as s:
        return s.scalar(select(Respondent).where(Respondent.resume_key == key))


def answers_of(rt, rid: str, *, live_only: bool = True) -> list[tuple[str, str, str | None]]:
    """Return (question id, text, choice) of a respondent's answers, oldest first."""
    stmt = select(Answer.question_id, Answer.text, Answer.choice).where(Answer.respondent_id == rid)
    if live_only:
        stmt = stmt.where(Answer.superseded.is_(False))
    with rt.transaction() as s:
        return [tuple(r) for r in s.execute(stmt.order_by(Answer.id))]


def state_of(rt, rid: str) -> engine.State:
    with rt.transaction() as s:
        return engine.State.from_dict(s.get(Respondent, rid).state)


def count(rt, model) -> int:
    with rt.transaction() as s:
        return s.scalar(select(func.count()).select_from(model))


def joined(chat, code: str, audience: str = "child") -> None:
    """Join a round through a deep link fixing the audience, and consent."""
    chat.start(f"{code}-{audience}")
    chat.tap(text_of("consent_yes", audience))


def test_deep_link_joins_the_round_as_the_audience_it_names(brt, open_round, polling_bot, chat):
    polling_bot()
    c = chat()
    got = c.start(f"{open_round}-child")
    assert got[0]["text"] == text_of("welcome", title="Test round")
    consent = got[-1]
    assert text_of("consent") in consent["text"] and text_of("danger") in consent["text"]
    labels = [row[0]["text"] for row in consent["reply_markup"]["inline_keyboard"]]
    assert labels == [text_of("consent_yes"), text_of("consent_no")]
    resp = respondent_of(brt, c)
    assert resp.channel == "telegram" and resp.audience == "child"


def test_deep_link_without_audience_asks_who_you_are(brt, open_round, polling_bot, chat):
    polling_bot()
    c = chat()
    prompt = c.start(open_round)[-1]
    assert prompt["text"] == text_of("audience_prompt")
    assert len(prompt["reply_markup"]["inline_keyboard"]) == 4  # one option per row
    consent = c.tap(default_label("parent"))[-1]
    assert text_of("consent", "parent") in consent["text"]
    assert respondent_of(brt, c).audience == "parent"


def default_label(audience: str) -> str:
    return engine.default_texts().label(audience)


def test_buttons_and_free_text_are_stored_as_answers(brt, open_round, polling_bot, chat):
    polling_bot()
    c = chat()
    c.start(f"{open_round}-child")
    first = c.tap(YES)[-1]
    assert first["text"] == "(1/13) What do you think of the police round here?"
    assert not first.get("reply_markup")  # free text: no buttons
    yes_no = c.say("They were fair with me 👍")[-1]
    assert yes_no["text"].startswith("(2/13) ")
    rating = c.tap("Yes", yes_no)[-1]
    assert rating["text"].startswith("(3/14) ")  # the follow-up now applies
    assert all(
        len(b["callback_data"].encode()) <= CALLBACK_LIMIT
        for r in rating["reply_markup"]["inline_keyboard"]
        for b in r
    )
    c.tap("Good", rating)

    # The pressed prompt shows the chosen answer and loses its buttons.
    pressed = c.api.sent_to(c.user.id)[yes_no["message_id"] - 1 :]
    after = next(m for m in pressed if m["message_id"] == yes_no["message_id"])
    assert after["text"].endswith("✓ Yes") and "reply_markup" not in after
    # Every press is acknowledged; polling, the bot calls the Bot API to do it.
    assert [call.via for call in c.api.calls("answerCallbackQuery")] == ["http"] * 3

    rid = respondent_of(brt, c).id
    assert answers_of(brt, rid) == [
        ("policing.opinion", "They were fair with me 👍", None),
        ("policing.stop_search", "Yes", "yes"),
        ("policing.stop_search_rating", "Good", "good"),
    ]


def test_skip_back_help_and_stop_work_as_commands_and_words(brt, open_round, polling_bot, chat):
    polling_bot()
    c = chat()
    joined(c, open_round)
    assert c.say("/skip")[-1]["text"].startswith("(2/13) ")
    back = c.say("/back")
    assert back[0]["text"] == text_of("going_back")
    assert back[-1]["text"].startswith("(1/13) ")
    c.say("changed my mind: they are ok")
    helped = c.say("/help")
    assert text_of("help") in helped[0]["text"] and text_of("danger") in helped[0]["text"]
    assert helped[-1]["text"].startswith("(2/13) ")
    assert c.say("skip")[-1]["text"].startswith("(3/13) ")  # typed words work too
    stopped = c.say("/stop", until=c.until_text("stopped"))
    assert text_of("danger") in stopped[-1]["text"]
    rid = respondent_of(brt, c).id
    assert state_of(brt, rid).paused

    resumed = c.say("hello again")
    assert resumed[0]["text"] == text_of("resumed")
    assert resumed[-1]["text"].startswith("(3/13) ")
    assert answers_of(brt, rid) == [("policing.opinion", "changed my mind: they are ok", None)]


def test_unknown_command_gets_help_not_stored(brt, open_round, polling_bot, chat):
    polling_bot()
    c = chat()
    joined(c, open_round)
    got = c.say("/settings")
    assert text_of("help") in got[0]["text"]
    assert answers_of(brt, respondent_of(brt, c).id) == []


def test_restart_mid_conversation_carries_on_exactly(brt, open_round, polling_bot, chat):
    first = polling_bot()
    c = chat()
    joined(c, open_round)
    c.say("Not great")
    c.tap("No")
    first.stop()  # the process goes away; nothing about the conversation is kept in memory

    polling_bot()
    c.send(c.api.message(c.user, "They should listen more"))  # answers question 3
    nxt = c.replies()[-1]
    assert nxt["text"] == "(4/13) How could the police talk to you better?"
    rid = respondent_of(brt, c).id
    assert [a[0] for a in answers_of(brt, rid)] == [
        "policing.opinion",
        "policing.stop_search",
        "policing.stay_out_of_trouble",
    ]


def test_same_update_delivered_three_times_is_stored_once(brt, open_round, polling_bot, chat):
    polling_bot()
    c = chat()
    joined(c, open_round)
    update = c.api.message(c.user, "Delivered thrice")
    before = len(c.api.sent_to(c.user.id))
    c.api.enqueue(update, update, update)
    prompt = c.replies()[-1]
    assert prompt["text"] == "(2/13) Have the police ever stopped and searched you?"
    c.send(c.api.message(c.user, "/help"))  # a later message: everything before it is done
    c.replies()
    # Stored once, and the re-deliveries sent nothing new (see bot/handler.py).
    sent = [m["text"] for m in c.api.sent_to(c.user.id)[before:]]
    assert sent.count("(2/13) Have the police ever stopped and searched you?") == 2  # + /help
    rid = respondent_of(brt, c).id
    assert answers_of(brt, rid, live_only=False) == [("policing.opinion", "Delivered thrice", None)]
    with brt.transaction() as s:
        key = f"tg:{update['update_id']}:%"
        assert s.scalar(select(func.count()).where(Inbound.key.like(key))) == 1


def test_repeated_button_press_is_stored_once(brt, open_round, polling_bot, chat):
    polling_bot()
    c = chat()
    joined(c, open_round)
    yes_no = c.say("fine")[-1]
    press = c.api.press(c.user, yes_no["message_id"], "No")
    before = len(c.api.sent_to(c.user.id))
    c.api.enqueue(press, press)
    c.replies()
    c.say("/help")  # a later message: both copies of the press are done
    # The second copy sent nothing: one next question, then /help's help and question.
    sent = [m for m in c.api.sent_to(c.user.id)[before:] if m.get("text", "").startswith("(3/")]
    assert len(sent) == 2
    rid = respondent_of(brt, c).id
    assert answers_of(brt, rid, live_only=False)[-1] == ("policing.stop_search", "No", "no")
    assert len(answers_of(brt, rid, live_only=False)) == 2


def test_media_and_edits_get_a_kind_message_and_nothing_is_stored(
    brt, open_round, polling_bot, chat
):
    polling_bot()
    c = chat()
    joined(c, open_round)
    rid = respondent_of(brt, c).id
    before = state_of(brt, rid)
    api = c.api
    for update in (
        api.sticker(c.user),
        api.photo(c.user),
        api.photo(c.user, caption="look at this"),
        api.voice(c.user),
        api.document(c.user),
        api.edited(c.user, "I meant to say something else"),
    ):
        c.send(update)
        (reply,) = c.replies()
        assert reply["text"].startswith(text_of("media"))
        assert reply["text"].endswith("(1/13) What do you think of the police round here?")
    assert answers_of(brt, rid, live_only=False) == []
    assert state_of(brt, rid) == before


def test_stale_question_button_is_refused_kindly(brt, open_round, polling_bot, chat):
    polling_bot()
    c = chat()
    joined(c, open_round)
    yes_no = c.say("ok")[-1]
    c.say("no")  # typed instead of tapped: the buttons of question 2 stay on screen
    got = c.tap("Yes", yes_no)
    assert got[0]["text"].startswith(text_of("stale"))
    assert got[0]["text"].endswith("How can the police help young people stay out of trouble?")
    rid = respondent_of(brt, c).id
    assert ("policing.stop_search", "No", "no") in answers_of(brt, rid)
    assert not any(a[2] == "yes" for a in answers_of(brt, rid, live_only=False))
    old = next(m for m in c.api.sent_to(c.user.id) if m["message_id"] == yes_no["message_id"])
    assert "reply_markup" not in old  # the stale buttons are taken away


def test_stale_audience_button_is_refused_kindly(brt, open_round, polling_bot, chat):
    polling_bot()
    c = chat()
    who = c.start(open_round)[-1]
    c.say(default_label("child"))  # typed the label: on to consent, old buttons remain
    got = c.tap(default_label("staff"), who)
    assert got[0]["text"].startswith(text_of("stale"))
    assert text_of("consent", "child") in got[0]["text"]
    assert respondent_of(brt, c).audience == "child"


def test_closed_round_gets_a_kind_message(brt, open_round, polling_bot, chat):
    polling_bot()
    c = chat()
    joined(c, open_round)
    with brt.transaction() as s:
        store.set_status(s, open_round, "closed")
    closed = text_of("closed", None)
    assert c.say("too late?", until=lambda m: m["text"] == closed)
    newcomer = chat()
    assert newcomer.start(open_round, until=lambda m: m["text"] == closed)
    assert answers_of(brt, respondent_of(brt, c).id) == []
    assert respondent_of(brt, newcomer) is None


def test_unknown_round_code_gets_a_kind_message(brt, open_round, polling_bot, chat):
    polling_bot()
    c = chat()
    unknown = text_of("unknown_round", None)
    for payload in ("NOPE99", "x" * 60, "<script>", "ABC-child-x", f"{open_round}-nobody"[1:]):
        assert c.start(payload, until=lambda m: m["text"] == unknown)
    assert count(brt, Respondent) == 0


def test_no_conversation_explains_how_to_join(brt, open_round, polling_bot, chat):
    polling_bot()
    c = chat()
    for first in ("hello", "/start", "/skip", "/stop"):
        (reply,) = c.say(first, until=lambda m: True)
        assert reply["text"] == text_of("gone", None)
    c.send(c.api.sticker(c.user))
    assert c.replies(until=lambda m: True)
    assert count(brt, Answer) == 0 and count(brt, Respondent) == 0


def test_same_link_again_resumes_the_same_respondent(brt, open_round, polling_bot, chat):
    polling_bot()
    c = chat()
    joined(c, open_round)
    c.say("first answer")
    again = c.start(open_round)
    assert again[-1]["text"].startswith("(2/13) ")
    assert count(brt, Respondent) == 1


def test_group_messages_are_ignored(brt, open_round, polling_bot, chat):
    polling_bot()
    c, other = chat(), chat()
    c.send(c.api.group_message(c.user, f"/start {open_round}"))
    other.start(f"{open_round}-child")  # processed after the group message: it is done
    assert c.api.sent_to(c.user.id) == []
    assert count(brt, Respondent) == 1


def test_person_can_stop_and_carry_on_later_in_a_new_process(
    brt, open_round, polling_bot, chat, tmp_path
):
    bot = polling_bot()
    c = chat()
    joined(c, open_round)
    c.say("An answer from yesterday")
    c.say("/stop", until=c.until_text("stopped"))
    bot.stop()

    env = {
        **os.environ,
        "DATABASE_URL": brt.settings.database_url,
        "SECRET_KEY": TEST_SECRET,
        "TELEGRAM_TOKEN": brt.settings.telegram_token,
        "TELEGRAM_API_URL": brt.settings.telegram_api_url,
        "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "YJVOICE_INSTANCE": str(tmp_path / "instance"),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "yjvoice", "bot"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        back = c.start(timeout=30)  # plain /start: carry on where they stopped
        assert back[0]["text"] == text_of("resumed")
        assert back[-1]["text"].startswith("(2/13) ")
        assert c.tap("No")[-1]["text"].startswith("(3/13) ")
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err.decode()[-2000:]
    assert str(c.user.id) not in (out + err).decode()
    rid = respondent_of(brt, c).id
    assert [a[0] for a in answers_of(brt, rid)] == ["policing.opinion", "policing.stop_search"]


def test_blocked_bot_still_stores_the_answer(brt, open_round, polling_bot, chat):
    polling_bot()
    c = chat()
    joined(c, open_round)
    c.api.fail("sendMessage", 403, "Forbidden: bot was blocked by the user")
    c.send(c.api.message(c.user, "stored anyway"))
    c.api.wait_for(lambda: any(not call.ok for call in c.api.calls("sendMessage")))
    assert c.say("/help")[-1]["text"].startswith("(2/13) ")  # later messages go out again
    assert answers_of(brt, respondent_of(brt, c).id)[0][1] == "stored anyway"


def test_odd_text_is_stored_safely(brt, open_round, polling_bot, chat):
    polling_bot()
    c = chat()
    joined(c, open_round)
    odd = [
        "<script>alert('x')</script>",
        "مرحبا بالعالم right-to-left \u202egnirts",
        "emoji 🙂🔥 and\ttabs",
        "bell\x07and\x1bescape",
    ]
    for answer in odd:
        assert c.say(answer)[-1]["text"].startswith("(")
        c.say("/back")  # answer the same question again with the next odd text
    stored = answers_of(brt, respondent_of(brt, c).id, live_only=False)
    assert [a[1] for a in stored] == [engine.clean_text(a) for a in odd]


def test_too_long_answer_gets_a_friendly_message(brt, open_round, polling_bot, chat):
    polling_bot()
    c = chat()
    joined(c, open_round)
    got = c.say("word " * 800)  # 4,000 characters: under Telegram's limit, over ours
    (reply,) = got
    assert reply["text"].startswith(text_of("too_long", limit="2,000", length="4,000"))
    assert reply["text"].endswith("(1/13) What do you think of the police round here?")
    assert answers_of(brt, respondent_of(brt, c).id) == []


def test_no_raw_telegram_id_or_name_is_stored_anywhere(brt, open_round, polling_bot, chat):
    polling_bot()
    c = chat(first_name="Quillon", username="quillon_private_handle")
    joined(c, open_round)
    c.say("nothing identifying here")
    c.tap("Yes")
    c.say("/stop", until=c.until_text("stopped"))
    secrets_ = [str(c.user.id), "Quillon", "quillon_private_handle", brt.settings.telegram_token]
    with brt.transaction() as s:
        for table in Base.metadata.sorted_tables:
            for row in s.execute(text(f'SELECT * FROM "{table.name}"')):
                cells = " ".join(str(v) for v in row)
                for secret in secrets_:
                    assert secret not in cells, f"{table.name} holds a raw identity"
        assert s.scalar(select(func.count()).select_from(Respondent)) == 1


def test_logs_carry_ids_never_text_or_identity(brt, open_round, polling_bot, chat, caplog):
    caplog.set_level(logging.DEBUG)
    polling_bot()
    c = chat(first_name="Marigoldine", username="marigold_secret_user")
    joined(c, open_round)
    c.say("my very private answer text")
    c.tap("Yes")
    c.send(c.api.sticker(c.user))
    c.replies()
    logged = caplog.text
    for secret in (
        "my very private answer text",
        str(c.user.id),
        "Marigoldine",
        "marigold_secret_user",
        brt.settings.telegram_token,
        "police",  # question wording is content too
    ):
        assert secret not in logged
    rid = respondent_of(brt, c).id
    assert rid in logged  # ids are what the logs carry


def test_callback_data_fits_and_round_trips_for_every_question(catalogue):
    for question in (q for bank in catalogue.banks for q in bank.questions):
        reply = engine.Reply("prompt", "", question_id=question.id, stage="question")
        for i, option in enumerate(question.choices()):
            data = callback_data(reply, i, option.key)
            assert len(data.encode()) <= CALLBACK_LIMIT
            button = parse_callback(data)
            assert button.matches("question", question.id)
            assert not button.matches("question", question.id + "x")
            assert button.option in (option.key, f"#{i}")


def test_prompt_shows_progress_help_and_one_button_per_row():
    reply = engine.Reply(
        "prompt",
        "Q?",
        (("a", "A"), ("b", "B")),
        "x.y",
        progress=(3, 9),
        stage="question",
        help="Say as much as you like.",
    )
    (msg,) = messages(1, [reply])
    assert msg.text == "(3/9) Q?\n\nSay as much as you like."
    assert [len(row) for row in msg.keyboard] == [1, 1]


def test_error_is_sent_with_the_prompt_it_explains():
    error = engine.Reply("error", "Please tap one of the buttons.")
    prompt = engine.Reply("prompt", "Q?", (("a", "A"),), "x.y", progress=(1, 2), stage="question")
    (msg,) = messages(1, [error, prompt])
    assert msg.text == "Please tap one of the buttons.\n\n(1/2) Q?" and msg.keyboard


def test_button_after_stop_resumes_without_answering(brt, open_round, polling_bot, chat):
    polling_bot()
    c = chat()
    joined(c, open_round)
    yes_no = c.say("fine")[-1]
    c.say("/stop", until=c.until_text("stopped"))
    got = c.tap("Yes", yes_no)
    assert got[0]["text"] == text_of("resumed")
    assert got[-1]["text"].startswith("(2/13) ")
    old = next(m for m in c.api.sent_to(c.user.id) if m["message_id"] == yes_no["message_id"])
    assert "✓" not in old["text"]
    assert [a[0] for a in answers_of(brt, respondent_of(brt, c).id)] == ["policing.opinion"]
