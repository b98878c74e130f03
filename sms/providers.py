"""GOV.UK Notify and Twilio through their own client libraries: the two ``Sender``s.

``sender_for(settings)`` returns the configured provider behind the small interface the
domain defines (``surveys.notify.sms.Sender``: ``send(number, body) -> provider message id``).
Failures come back as ``SendError`` whose ``retry`` says whether trying again later may work
(a timeout, a 5xx, a rate limit) or never will (a refused number, bad keys); ``OptedOut`` is
Twilio's error 21610: the number texted STOP to Twilio, which now refuses every text to it.

The client libraries live here, in the adapter, never in ``surveys/``. Base URLs come from
settings (``NOTIFY_BASE_URL``, ``TWILIO_BASE_URL``), so tests and benchmarks point the real
clients at our own local servers. Neither client is thread-safe (each holds a ``requests``
session), so every thread gets its own. Nothing here logs a number or a text.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from surveys.config import SmsSettings
from surveys.notify.sms import OptedOut, Sender, SendError

#: Twilio: "Attempt to send to unsubscribed recipient" (the number texted STOP).
TWILIO_OPTED_OUT = 21610


def _read_environment_once(session: Any, base_url: str) -> None:
    """Read the environment's proxy and CA bundle for ``base_url`` now, not on every send.

    ``requests`` looks both up again for each request while ``trust_env`` is on (about
    0.3 ms of CPU a text); taken once when the client is made, they stay as they were.
    """
    from requests.utils import get_environ_proxies

    session.proxies.update(get_environ_proxies(base_url))
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle and session.verify is True:
        session.verify = bundle
    session.trust_env = False


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


class NotifySender:
    """GOV.UK Notify through ``notifications-python-client``: a template whose body is ((body))."""

    name = "notify"

    def __init__(self, settings: SmsSettings) -> None:
        if not (settings.notify_api_key and settings.notify_template_id):
            raise ValueError("NOTIFY_API_KEY and NOTIFY_TEMPLATE_ID are needed to send")
        self._settings = settings
        self._local = threading.local()

    def _client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            from notifications_python_client.notifications import NotificationsAPIClient

            s = self._settings
            client = NotificationsAPIClient(
                s.notify_api_key, base_url=s.notify_base_url, timeout=s.timeout
            )
            # No proxy settings from the environment: looking them up costs every request.
            client.request_session.trust_env = False
            self._local.client = client
        return client

    def send(self, number: str, body: str, *, reference: str | None = None) -> str:
        """Send one text with the configured template; return Notify's notification id."""
        from notifications_python_client.errors import APIError, TokenError

        s = self._settings
        try:
            result = self._client().send_sms_notification(
                phone_number=number,
                template_id=s.notify_template_id,
                personalisation={"body": body},
                reference=reference,
                sms_sender_id=s.notify_sender_id,
            )
        except APIError as exc:
            status = exc.status_code
            raise SendError(f"notify:{status}", retry=_retryable(status)) from None
        except TokenError:
            raise SendError("notify:token", retry=False) from None
        except Exception as exc:  # a reply that is not Notify's JSON, a broken connection
            raise SendError(f"notify:{type(exc).__name__}", retry=True) from None
        if not isinstance(result, dict) or not isinstance(result.get("id"), str):
            raise SendError("notify:bad-reply", retry=True)
        return result["id"]


class TwilioSender:
    """Twilio's Messages API through the ``twilio`` package."""

    name = "twilio"

    def __init__(self, settings: SmsSettings) -> None:
        if not (settings.twilio_account_sid and settings.twilio_auth_token):
            raise ValueError("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are needed to send")
        if not settings.twilio_from:
            raise ValueError("TWILIO_FROM is needed to send")
        self._settings = settings
        self._local = threading.local()
        # Twilio's HTTP client logs every request's URL and headers at INFO.
        logging.getLogger("twilio.http_client").setLevel(logging.WARNING)

    def _client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            from twilio.http.http_client import TwilioHttpClient
            from twilio.rest import Client

            s = self._settings
            http = TwilioHttpClient(timeout=s.timeout)
            _read_environment_once(http.session, s.twilio_base_url)
            client = Client(s.twilio_account_sid, s.twilio_auth_token, http_client=http)
            client.api.base_url = s.twilio_base_url  # tests: our own local server
            self._local.client = client
        return client

    def send(self, number: str, body: str, *, reference: str | None = None) -> str:
        """Send one text from TWILIO_FROM; return Twilio's MessageSid."""
        from twilio.base.exceptions import TwilioRestException

        try:
            message = self._client().messages.create(
                to=number, from_=self._settings.twilio_from, body=body
            )
        except TwilioRestException as exc:
            if exc.code == TWILIO_OPTED_OUT:
                raise OptedOut(f"twilio:{exc.code}") from None
            status = int(exc.status or 0)
            raise SendError(f"twilio:{exc.code or status}", retry=_retryable(status)) from None
        except Exception as exc:  # timeouts, refused connections, a reply that is not JSON
            raise SendError(f"twilio:{type(exc).__name__}", retry=True) from None
        sid = getattr(message, "sid", None)
        if not isinstance(sid, str):
            raise SendError("twilio:bad-reply", retry=True)
        return sid


def sender_for(settings: SmsSettings) -> Sender | None:
    """Return the configured provider's sender, or None when no provider is set."""
    if settings.provider == "notify":
        return NotifySender(settings)
    if settings.provider == "twilio":
        return TwilioSender(settings)
    return None
