"""Text-message fixtures: the web app wired to our Notify and Twilio stand-ins.

The real ``notifications-python-client`` and ``twilio`` clients send through the app's
sender to the stand-ins (``tests/smsapi/server.py``) over HTTP; received texts are posted to
the app's webhooks as each provider posts them. Every test runs on SQLite and PostgreSQL
(the ``rt`` fixture).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from sms import handler
from surveys.config import SmsSettings
from tests.smsapi.server import (
    TWILIO_FROM,
    TWILIO_SID,
    TWILIO_TOKEN,
    NotifyStandIn,
    Text,
    TwilioStandIn,
)
from web import create_app

NOTIFY_URL = "/hooks/sms/notify"
TWILIO_URL = "/hooks/sms/twilio"
PUBLIC = "http://testserver"
#: Invented numbers in Ofcom's drama range: they can never reach a real phone.
CHILD = "+447700900123"
OTHER = "+447700900456"


@pytest.fixture
def notify():
    with NotifyStandIn() as api:
        yield api


@pytest.fixture
def twilio():
    with TwilioStandIn() as api:
        yield api


def notify_settings(api: NotifyStandIn, **extra: Any) -> SmsSettings:
    return SmsSettings(
        provider="notify",
        notify_api_key=api.api_key,
        notify_template_id=api.template_id,
        notify_inbound_token=api.inbound_token,
        notify_base_url=api.base_url,
        quiet_start=0,
        quiet_end=0,  # no quiet hours unless a test asks for them
        **extra,
    )


def twilio_settings(api: TwilioStandIn, **extra: Any) -> SmsSettings:
    return SmsSettings(
        provider="twilio",
        twilio_account_sid=TWILIO_SID,
        twilio_auth_token=TWILIO_TOKEN,
        twilio_from=TWILIO_FROM,
        twilio_base_url=api.base_url,
        quiet_start=0,
        quiet_end=0,
        **extra,
    )


class Phone:
    """One person texting the service through a provider's stand-in."""

    def __init__(self, client, api, provider: str, number: str = CHILD) -> None:
        self.client, self.api, self.provider, self.number = client, api, provider, number
        self.seen = 0

    def deliver(self, text: str, *, ident: str | None = None, times: int = 1):
        """Deliver one received text to the webhook (``times`` copies); return the answers."""
        answers = []
        if self.provider == "notify":
            body, headers = self.api.callback(self.number, text, ident=ident)
            for _ in range(times):
                answers.append(self.client.post(NOTIFY_URL, json=body, headers=headers))
        else:
            form, headers = self.api.inbound(PUBLIC + TWILIO_URL, self.number, text, sid=ident)
            for _ in range(times):
                answers.append(self.client.post(TWILIO_URL, data=form, headers=headers))
        for res in answers:
            assert res.status_code == 200, res.get_data(as_text=True)
        return answers

    def say(self, text: str, **kw: Any) -> list[Text]:
        """Text the service; return the texts that came back."""
        self.deliver(text, **kw)
        return self.new()

    def new(self) -> list[Text]:
        """Return the texts received since last asked."""
        got = self.api.sent_to(self.number)[self.seen :]
        self.seen += len(got)
        return got

    def last(self) -> str:
        return self.api.sent_to(self.number)[-1].body


@pytest.fixture
def make_app(rt):
    """Return a factory of web apps on the test database with given SMS settings."""
    apps = []
    handler.reset_limits()

    def make(sms: SmsSettings, **overrides: Any):
        settings = replace(rt.settings, sms=sms, public_base_url=PUBLIC, **overrides)
        app = create_app({"YJV_SETTINGS": settings, "TESTING": True})
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["yjvoice"].database.dispose()


@pytest.fixture(params=["notify", "twilio"])
def provider(request):
    """Run a test through each provider's stand-in: (name, stand-in, settings factory)."""
    if request.param == "notify":
        api = NotifyStandIn().start()
        yield "notify", api, notify_settings
    else:
        api = TwilioStandIn().start()
        yield "twilio", api, twilio_settings
    api.stop()


@pytest.fixture
def phone(provider, make_app):
    """Return a factory of phones texting an app wired to the provider's stand-in."""
    name, api, settings = provider

    def make(number: str = CHILD, **sms: Any) -> Phone:
        app = make_app(settings(api, **sms))
        return Phone(app.test_client(), api, name, number)

    return make
