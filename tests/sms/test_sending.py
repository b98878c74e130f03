"""Texts out: invitations from the CLI, quiet hours, retries after a provider failure, the
hourly cap, and numbers kept encrypted only while a text waits."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner
from sqlalchemy import select, text

from sms.providers import NotifySender, TwilioSender
from surveys.notify import sms as outbound
from surveys.services import texting
from surveys.storage.models import AuditEvent, SmsOutbox
from tests.conftest import TEST_SECRET
from tests.sms.conftest import CHILD, OTHER, Phone, notify_settings, twilio_settings
from yjvoice.cli import main


def outbox(rt) -> list[SmsOutbox]:
    with rt.transaction() as s:
        return list(s.scalars(select(SmsOutbox).order_by(SmsOutbox.id)))


def raw_outbox_numbers(rt) -> list[str | None]:
    with rt.database.connect() as conn:
        return [r[0] for r in conn.execute(text("select number from sms_outbox order by id"))]


def run_cli(rt, api, *args, monkeypatch):
    env = {
        "DATABASE_URL": rt.settings.database_url,
        "SECRET_KEY": TEST_SECRET,
        "YJVOICE_INSTANCE": str(rt.settings.instance_path),
        "SMS_PROVIDER": "notify",
        "NOTIFY_API_KEY": api.api_key,
        "NOTIFY_TEMPLATE_ID": api.template_id,
        "NOTIFY_INBOUND_TOKEN": api.inbound_token,
        "NOTIFY_BASE_URL": api.base_url,
        "SMS_QUIET_START": "00:00",
        "SMS_QUIET_END": "00:00",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_cli_invites_numbers_and_a_yes_starts_the_questions(
    rt, open_round, notify, make_app, monkeypatch
):
    out = run_cli(
        rt, notify, "sms", "invite", "--round", open_round, "--audience", "child",
        "--to", "07700 900123", "--to", "not a number", "--to", "+447700900123",
        "--to", OTHER, "--json", monkeypatch=monkeypatch,
    )  # fmt: skip
    counts = json.loads(out.strip().splitlines()[-1])
    assert counts["sent"] == 2 and counts["invalid"] == 1 and counts["duplicates"] == 1
    [invitation] = notify.sent_to(CHILD)
    assert "Reply YES to start, STOP to stop." in invitation.body
    assert "youth" not in invitation.body.lower()
    assert "7700900123" not in out and "900123" not in out
    with rt.transaction() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "sms_invite")).one()
        assert event.details["invited"] == 2
    p = Phone(make_app(notify_settings(notify)).test_client(), notify, "notify")
    p.seen = 1
    [first] = p.say("Yes")
    assert first.body.startswith("(1/")


def test_round_open_json_gives_the_text_to_send(rt, notify, monkeypatch):
    out = run_cli(
        rt, notify, "round", "open", "--title", "T", "--priorities", "policing", "--json",
        monkeypatch=monkeypatch,
    )  # fmt: skip
    info = json.loads(out.strip().splitlines()[-1])
    assert info["sms_start"] == info["code"]
    assert f"text {info['code']}" in out


def test_invitations_wait_for_the_end_of_quiet_hours(rt, open_round, notify):
    settings = notify_settings(notify)
    settings = type(settings)(**{**settings.__dict__, "quiet_start": 21 * 60, "quiet_end": 480})
    night = datetime(2026, 12, 3, 22, 30, tzinfo=UTC)  # 22:30 in London (GMT in December)
    with rt.transaction() as s:
        result = texting.invite(
            s, rt.context, settings, code=open_round, audience="child", numbers=[CHILD]
        )
    done = outbound.deliver(
        rt.transaction, NotifySender(settings), result.texts, settings, now=night
    )
    assert done.sent == 0 and done.queued == 1 and notify.sent == []
    [waiting] = outbox(rt)
    assert waiting.not_before == datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
    assert raw_outbox_numbers(rt)[0].startswith("gAAAAA")  # encrypted while it waits
    sender = NotifySender(settings)
    assert outbound.deliver_due(rt.transaction, sender, settings, now=night) == 0
    morning = datetime(2026, 12, 4, 8, 1, tzinfo=UTC)
    assert outbound.deliver_due(rt.transaction, sender, settings, now=morning) == 1
    assert len(notify.sent_to(CHILD)) == 1
    assert raw_outbox_numbers(rt) == [None]  # erased once sent
    assert outbox(rt)[0].status == "sent"


def test_replies_to_someone_who_texts_in_always_go_even_at_night(rt, open_round, notify):
    settings = notify_settings(notify)
    settings = type(settings)(**{**settings.__dict__, "quiet_start": 0, "quiet_end": 23 * 60 + 59})
    reply = texting.Outgoing(CHILD, "h" * 64, "Thanks")
    done = outbound.deliver(rt.transaction, NotifySender(settings), [reply], settings)
    assert done.sent == 1


def test_a_provider_failure_keeps_the_reply_and_retries_with_backoff(rt, open_round, phone):
    p = phone()
    p.say(f"{open_round} child")
    p.api.fail(429 if p.provider == "notify" else 503, times=2)
    assert p.say("yes") == []  # rate limited: kept, not lost
    [kept] = outbox(rt)
    assert kept.status == "pending" and kept.attempts == 1 and kept.last_error
    assert raw_outbox_numbers(rt)[0].startswith("gAAAAA")
    settings = notify_settings(p.api) if p.provider == "notify" else twilio_settings(p.api)
    sender = NotifySender(settings) if p.provider == "notify" else TwilioSender(settings)
    later = datetime.now(UTC) + timedelta(minutes=1)
    assert outbound.deliver_due(rt.transaction, sender, settings, now=later) == 0  # fails again
    assert outbox(rt)[0].attempts == 2
    assert outbound.deliver_due(rt.transaction, sender, settings, now=later) == 0  # backing off
    much_later = later + timedelta(minutes=5)
    assert outbound.deliver_due(rt.transaction, sender, settings, now=much_later) == 1
    assert p.new()[0].body.startswith("(1/")
    assert raw_outbox_numbers(rt) == [None]


def test_no_number_gets_more_than_the_hourly_cap(rt, open_round, phone):
    p = phone(hourly_cap=5)
    for i in range(8):
        p.deliver(f"not a code {i}")
    assert len(p.api.sent_to(CHILD)) == 5


def test_the_job_queue_sends_what_waited_and_erases_the_number(rt, open_round, notify):
    from surveys import jobs
    from surveys.storage.models import Job

    settings = notify_settings(notify)
    settings = type(settings)(**{**settings.__dict__, "quiet_start": 21 * 60, "quiet_end": 480})
    night = datetime(2026, 12, 3, 23, 0, tzinfo=UTC)
    with rt.transaction() as s:
        result = texting.invite(
            s, rt.context, settings, code=open_round, audience="child", numbers=[CHILD]
        )
    outbound.deliver(rt.transaction, NotifySender(settings), result.texts, settings, now=night)
    assert notify.sent == [] and raw_outbox_numbers(rt)[0].startswith("gAAAAA")
    from dataclasses import replace

    wsettings = replace(rt.settings, sms=settings)
    morning = datetime(2026, 12, 4, 8, 0, 30, tzinfo=UTC)
    with rt.transaction() as s:
        jobs.enqueue(s, "sms.deliver", key="sms.deliver", now=morning)
    jobs.load_kinds()
    jobs.run_due(rt.sessions, wsettings, clock=lambda: morning)
    assert len(notify.sent_to(CHILD)) == 1
    assert raw_outbox_numbers(rt) == [None]
    with rt.transaction() as s:
        job = s.scalars(select(Job).where(Job.kind == "sms.deliver")).one()
        assert job.result == {"sent": 1, "waiting": 0}
