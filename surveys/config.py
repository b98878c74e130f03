"""Settings from the environment, with safe defaults for local development."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

DEFAULT_TELEGRAM_API_URL = "https://api.telegram.org/bot"
DEFAULT_SECOND_HELPLINE = "Meic 080880 23456"
DEFAULT_NOTIFY_BASE_URL = "https://api.notifications.service.gov.uk"
DEFAULT_TWILIO_BASE_URL = "https://api.twilio.com"
SMS_PROVIDERS = ("notify", "twilio")


class ConfigError(RuntimeError):
    """The environment is missing something the product needs."""


@dataclass(frozen=True)
class SmsSettings:
    """Text messages (the ``sms`` adapter, ``surveys.notify.sms``): provider, keys, limits."""

    provider: str | None = None  # SMS_PROVIDER: notify | twilio; None: no text messages
    notify_api_key: str | None = None
    notify_template_id: str | None = None  # a template whose whole body is ((body))
    notify_inbound_token: str | None = None  # the bearer token Notify sends with callbacks
    notify_base_url: str = DEFAULT_NOTIFY_BASE_URL
    notify_sender_id: str | None = None  # the inbound number's sms_sender_id, if not default
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from: str | None = None
    twilio_base_url: str = DEFAULT_TWILIO_BASE_URL
    number: str | None = None  # SMS_NUMBER: the number people text, as printed for them
    session_hours: float = 72.0  # a conversation idle this long is welcomed back first
    hourly_cap: int = 50  # texts to one number in an hour (networks block at 100)
    quiet_start: int = 21 * 60  # minutes after midnight, Europe/London: no invitations...
    quiet_end: int = 8 * 60  # ...until this time
    timeout: float = 3.0  # seconds a provider may take to accept a text

    @property
    def enabled(self) -> bool:
        """Return True when a provider is configured."""
        return self.provider is not None


@dataclass(frozen=True)
class Settings:
    """Everything the product reads from its environment."""

    instance_path: Path
    database_url: str
    secret_key: str
    production: bool = False
    telegram_token: str | None = None
    telegram_api_url: str = DEFAULT_TELEGRAM_API_URL
    telegram_webhook_secret: str | None = None
    telegram_bot_username: str | None = None
    public_base_url: str = "http://127.0.0.1:5000"
    sms: SmsSettings = field(default_factory=SmsSettings)
    banks_dir: Path | None = None
    #: Safeguarding alerts (surveys.notify.alerts): SMTP email, a Telegram staff chat, escalation.
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str | None = None
    smtp_starttls: bool = True
    smtp_timeout: float = 15.0
    #: The least time a worker owns an alert it is sending (ALERT_LEASE_SECONDS); the lease is
    #: 4 x SMTP_TIMEOUT when that is longer (surveys.notify.alerts.send_lease).
    alert_lease_seconds: float = 10.0
    safeguarding_alert_emails: tuple[str, ...] = ()
    safeguarding_deputy_emails: tuple[str, ...] = ()
    safeguarding_escalate_minutes: float = 30.0
    telegram_staff_chat_id: str | None = None
    service_phone: str | None = None
    #: A second helpline named after 999 and Childline (SECOND_HELPLINE; empty: none), in
    #: the languages SECOND_HELPLINE_LANGUAGES lists. Default: Meic, the helpline for
    #: children and young people in Wales, on Welsh pages and messages.
    second_helpline: str | None = DEFAULT_SECOND_HELPLINE
    second_helpline_languages: tuple[str, ...] = ("cy",)
    #: Fernet keys for raw answer text, newest first (ANSWER_KEYS); empty (development):
    #: a key derived from the secret key (surveys.storage.crypto.configure).
    answer_keys: tuple[str, ...] = ()
    #: Days after a round closes that raw answer text is kept (RETENTION_DAYS).
    retention_days: int = 90
    #: Minutes away after which the web form asks "is this still you?" (RESUME_IDLE_MINUTES).
    resume_idle_minutes: int = 30
    #: Minutes away after which a shared device starts afresh (SHARED_DEVICE_IDLE_MINUTES).
    shared_idle_minutes: int = 5
    #: Background jobs (surveys.jobs): the queue's storage (JOBS_URL; None: a SQLite file next
    #: to the database), how long a worker's claim on a job lasts without a heartbeat
    #: (JOBS_LEASE_SECONDS), how often a worker sweeps for lost or undelivered jobs
    #: (JOBS_SWEEP_SECONDS), how many jobs one worker process runs at once (JOBS_WORKERS) and
    #: whether a worker loads its models as it starts rather than at the first job that needs
    #: them (JOBS_WARM; off only in tests whose workers run no such job).
    jobs_url: str | None = None
    jobs_lease_seconds: float = 60.0
    jobs_sweep_seconds: float = 10.0
    jobs_workers: int = 2
    jobs_warm: bool = True
    #: Production hardening (docs/security.md, "Transport and load").
    #: Reverse proxies in front whose X-Forwarded-* headers are believed (TRUSTED_PROXIES).
    trusted_proxies: int = 0
    #: Where rate-limit counters live (RATELIMIT_STORAGE_URI): memory:// is per process.
    ratelimit_storage_uri: str = "memory://"
    #: Prefix of the counters' keys (RATELIMIT_KEY_PREFIX), when services share one Redis.
    ratelimit_key_prefix: str = "yjv"
    #: Public form limits (``limits`` syntax, ";" between limits), per client address and
    #: per respondent.
    form_start_limit: str = "30 per minute;300 per hour"
    form_answer_limit: str = "300 per minute;3000 per hour"
    form_respondent_limit: str = "60 per minute;600 per hour"
    #: Seconds: opening a database connection, one statement, waiting for a pooled connection.
    database_connect_timeout: float = 3.0
    database_statement_timeout: float = 15.0
    database_pool_timeout: float = 5.0

    def telegram_link(self, code: str) -> str | None:
        """Return the t.me deep link for a round, when the bot's username is known."""
        if not self.telegram_bot_username:
            return None
        return f"https://t.me/{self.telegram_bot_username}?start={code}"


class _AlertSettings(TypedDict):
    """``Settings`` fields for safeguarding alerts, read by ``_alert_settings``."""

    smtp_host: str | None
    smtp_port: int
    smtp_username: str | None
    smtp_password: str | None
    smtp_from: str | None
    smtp_starttls: bool
    smtp_timeout: float
    alert_lease_seconds: float
    safeguarding_alert_emails: tuple[str, ...]
    safeguarding_deputy_emails: tuple[str, ...]
    safeguarding_escalate_minutes: float
    telegram_staff_chat_id: str | None


class _JobsSettings(TypedDict):
    """``Settings`` fields for background jobs, read by ``_jobs_settings``."""

    jobs_url: str | None
    jobs_lease_seconds: float
    jobs_sweep_seconds: float
    jobs_workers: int
    jobs_warm: bool


class _HelplineSettings(TypedDict):
    """``Settings`` fields for the second helpline, read by ``_helpline_settings``."""

    second_helpline: str | None
    second_helpline_languages: tuple[str, ...]


class _HardeningSettings(TypedDict):
    """``Settings`` fields for production hardening, read by ``_hardening_settings``."""

    trusted_proxies: int
    ratelimit_storage_uri: str
    ratelimit_key_prefix: str
    form_start_limit: str
    form_answer_limit: str
    form_respondent_limit: str
    database_connect_timeout: float
    database_statement_timeout: float
    database_pool_timeout: float


def _secret_key(env: Mapping[str, str], instance: Path, production: bool) -> str:
    key = env.get("SECRET_KEY", "").strip()
    if key:
        if len(key) < 32:
            raise ConfigError("SECRET_KEY must be at least 32 characters long")
        return key
    if production:
        raise ConfigError("SECRET_KEY is required when YJVOICE_ENV=production")
    # Development: generate once into the instance folder and reuse, so pseudonyms and
    # Telegram keyed hashes stay stable across restarts.
    path = instance / "secret_key"
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key)
    return key


def _answer_keys(env: Mapping[str, str], production: bool) -> tuple[str, ...]:
    from cryptography.fernet import Fernet

    keys = tuple(k.strip() for k in env.get("ANSWER_KEYS", "").split(",") if k.strip())
    if keys:
        for key in keys:
            try:
                Fernet(key)
            except (ValueError, TypeError):
                raise ConfigError("ANSWER_KEYS must be Fernet keys (comma-separated)") from None
        return keys
    if production:
        raise ConfigError("ANSWER_KEYS is required when YJVOICE_ENV=production")
    # Development: none; surveys.storage.crypto derives a key from the secret key (itself generated
    # once into the instance folder), so text written by the web app, the bot and the CLI
    # of one instance stays readable across restarts.
    return ()


def _whole_number(env: Mapping[str, str], name: str, default: int, what: str) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number of {what}") from None
    if value < 1:
        raise ConfigError(f"{name} must be at least 1")
    return value


def _emails(value: str | None) -> tuple[str, ...]:
    out: list[str] = []
    for item in (value or "").replace(";", ",").split(","):
        email = item.strip().lower()
        if email and email not in out:
            out.append(email)
    return tuple(out)


def _switch(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        raise ConfigError(f"{name} must be true or false")
    return raw in ("1", "true", "yes", "on")


def _number(env: Mapping[str, str], name: str, default: float, minimum: float) -> float:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum:g}")
    return value


def _alert_settings(env: Mapping[str, str]) -> _AlertSettings:
    """Read the safeguarding alert settings (SMTP, staff chat, deputies, escalation)."""
    return {
        "smtp_host": (env.get("SMTP_HOST") or "").strip() or None,
        "smtp_port": int(_number(env, "SMTP_PORT", 587, 1)),
        "smtp_username": env.get("SMTP_USERNAME") or None,
        "smtp_password": env.get("SMTP_PASSWORD") or None,
        "smtp_from": (env.get("SMTP_FROM") or "").strip() or None,
        "smtp_starttls": _switch(env, "SMTP_STARTTLS", True),
        "smtp_timeout": _number(env, "SMTP_TIMEOUT", 15.0, 1),
        "alert_lease_seconds": _number(env, "ALERT_LEASE_SECONDS", 10.0, 1),
        "safeguarding_alert_emails": _emails(env.get("SAFEGUARDING_ALERT_EMAILS")),
        "safeguarding_deputy_emails": _emails(env.get("SAFEGUARDING_DEPUTY_EMAILS")),
        "safeguarding_escalate_minutes": _number(env, "SAFEGUARDING_ESCALATE_MINUTES", 30.0, 1),
        "telegram_staff_chat_id": (env.get("TELEGRAM_STAFF_CHAT_ID") or "").strip() or None,
    }


def _clock(env: Mapping[str, str], name: str, default: str) -> int:
    raw = (env.get(name) or default).strip()
    try:
        hours, minutes = (int(x) for x in raw.split(":"))
        if not (0 <= hours < 24 and 0 <= minutes < 60):
            raise ValueError
    except ValueError:
        raise ConfigError(f"{name} must be a time of day like 21:00") from None
    return hours * 60 + minutes


def _sms_settings(env: Mapping[str, str]) -> SmsSettings:
    """Read the text message settings; a chosen provider must have its keys."""

    def get(name: str) -> str | None:
        return (env.get(name) or "").strip() or None

    provider = (get("SMS_PROVIDER") or "").lower() or None
    if provider is not None and provider not in SMS_PROVIDERS:
        raise ConfigError("SMS_PROVIDER must be notify or twilio")
    needed = {
        "notify": ("NOTIFY_API_KEY", "NOTIFY_TEMPLATE_ID", "NOTIFY_INBOUND_TOKEN"),
        "twilio": ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM"),
    }.get(provider or "", ())
    missing = [name for name in needed if not get(name)]
    if missing:
        raise ConfigError(f"SMS_PROVIDER={provider} needs {', '.join(missing)}")
    key = get("NOTIFY_API_KEY")
    if key is not None and (len(key) < 74 or key[-37] != "-" or key[-74] != "-"):
        raise ConfigError("NOTIFY_API_KEY must look like name-<service id>-<secret>")
    cap = int(_number(env, "SMS_HOURLY_CAP", 50, 1))
    if cap >= 100:
        raise ConfigError("SMS_HOURLY_CAP must be below 100 (networks block at 100 an hour)")
    return SmsSettings(
        provider=provider,
        notify_api_key=key,
        notify_template_id=get("NOTIFY_TEMPLATE_ID"),
        notify_inbound_token=get("NOTIFY_INBOUND_TOKEN"),
        notify_base_url=(get("NOTIFY_BASE_URL") or DEFAULT_NOTIFY_BASE_URL).rstrip("/"),
        notify_sender_id=get("NOTIFY_SMS_SENDER_ID"),
        twilio_account_sid=get("TWILIO_ACCOUNT_SID"),
        twilio_auth_token=get("TWILIO_AUTH_TOKEN"),
        twilio_from=get("TWILIO_FROM"),
        twilio_base_url=(get("TWILIO_BASE_URL") or DEFAULT_TWILIO_BASE_URL).rstrip("/"),
        number=" ".join((get("SMS_NUMBER") or "").split())[:40] or None,
        session_hours=_number(env, "SMS_SESSION_HOURS", 72.0, 0.1),
        hourly_cap=cap,
        quiet_start=_clock(env, "SMS_QUIET_START", "21:00"),
        quiet_end=_clock(env, "SMS_QUIET_END", "08:00"),
        timeout=_number(env, "SMS_TIMEOUT", 3.0, 0.5),
    )


def _jobs_settings(env: Mapping[str, str]) -> _JobsSettings:
    url = (env.get("JOBS_URL") or "").strip() or None
    if url and not url.startswith(("sqlite:", "redis:", "rediss:", "postgres")):
        raise ConfigError(
            "JOBS_URL must start with sqlite:///, redis://, rediss:// or postgresql://"
        )
    return {
        "jobs_url": url,
        "jobs_lease_seconds": _number(env, "JOBS_LEASE_SECONDS", 60.0, 1),
        "jobs_sweep_seconds": _number(env, "JOBS_SWEEP_SECONDS", 10.0, 0.2),
        "jobs_workers": int(_number(env, "JOBS_WORKERS", 2, 1)),
        "jobs_warm": _switch(env, "JOBS_WARM", True),
    }


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read settings from the environment (``os.environ`` by default)."""
    env = os.environ if env is None else env
    production = env.get("YJVOICE_ENV", "development").strip().lower() == "production"
    instance = Path(env.get("YJVOICE_INSTANCE") or Path.cwd() / "instance").resolve()
    url = env.get("DATABASE_URL", "").strip()
    if not url:
        instance.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{instance / 'yjvoice.sqlite3'}"
    elif url.startswith(("postgres://", "postgresql://")):
        # Use psycopg 3 whatever the URL's scheme says (Heroku-style URLs say postgres://).
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    banks = env.get("YJVOICE_BANKS_DIR")
    return Settings(
        instance_path=instance,
        database_url=url,
        secret_key=_secret_key(env, instance, production),
        production=production,
        telegram_token=env.get("TELEGRAM_TOKEN") or None,
        telegram_api_url=(env.get("TELEGRAM_API_URL") or DEFAULT_TELEGRAM_API_URL).rstrip("/"),
        telegram_webhook_secret=env.get("TELEGRAM_WEBHOOK_SECRET") or None,
        telegram_bot_username=(env.get("TELEGRAM_BOT_USERNAME") or "").lstrip("@") or None,
        public_base_url=(env.get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000").rstrip("/"),
        sms=_sms_settings(env),
        banks_dir=Path(banks) if banks else None,
        **_alert_settings(env),
        answer_keys=_answer_keys(env, production),
        retention_days=_whole_number(env, "RETENTION_DAYS", 90, "days"),
        resume_idle_minutes=_whole_number(env, "RESUME_IDLE_MINUTES", 30, "minutes"),
        shared_idle_minutes=_whole_number(env, "SHARED_DEVICE_IDLE_MINUTES", 5, "minutes"),
        **_jobs_settings(env),
        service_phone=" ".join((env.get("SERVICE_PHONE") or "").split())[:40] or None,
        **_helpline_settings(env),
        **_hardening_settings(env),
    )


def _helpline_settings(env: Mapping[str, str]) -> _HelplineSettings:
    line = env.get("SECOND_HELPLINE")
    line = DEFAULT_SECOND_HELPLINE if line is None else " ".join(line.split())[:80]
    langs = env.get("SECOND_HELPLINE_LANGUAGES")
    codes = ("cy",) if langs is None else tuple(c.strip().lower() for c in langs.split(","))
    unknown = [c for c in codes if c and c not in ("en", "cy")]
    if unknown:
        raise ConfigError(f"SECOND_HELPLINE_LANGUAGES: unknown languages {unknown} (en, cy)")
    return {
        "second_helpline": line or None,
        "second_helpline_languages": tuple(c for c in codes if c),
    }


def _limit(env: Mapping[str, str], name: str, default: str) -> str:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    from limits import parse_many

    try:
        parse_many(raw)
    except ValueError:
        raise ConfigError(f"{name} must be limits like '30 per minute;300 per hour'") from None
    return raw


def _hardening_settings(env: Mapping[str, str]) -> _HardeningSettings:
    """Read the proxy, rate-limit and database-timeout settings."""
    hops = (env.get("TRUSTED_PROXIES") or "0").strip()
    if not hops.isdigit():
        raise ConfigError("TRUSTED_PROXIES must be a whole number of proxies (0 for none)")
    return {
        "trusted_proxies": int(hops),
        "ratelimit_storage_uri": (env.get("RATELIMIT_STORAGE_URI") or "").strip() or "memory://",
        "ratelimit_key_prefix": (env.get("RATELIMIT_KEY_PREFIX") or "").strip() or "yjv",
        "form_start_limit": _limit(env, "FORM_START_LIMIT", Settings.form_start_limit),
        "form_answer_limit": _limit(env, "FORM_ANSWER_LIMIT", Settings.form_answer_limit),
        "form_respondent_limit": _limit(
            env, "FORM_RESPONDENT_LIMIT", Settings.form_respondent_limit
        ),
        "database_connect_timeout": _number(env, "DATABASE_CONNECT_TIMEOUT", 3.0, 1),
        "database_statement_timeout": _number(env, "DATABASE_STATEMENT_TIMEOUT", 15.0, 1),
        "database_pool_timeout": _number(env, "DATABASE_POOL_TIMEOUT", 5.0, 0.1),
    }
