"""Settings from the environment, with safe defaults for local development."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_TELEGRAM_API_URL = "https://api.telegram.org/bot"


class ConfigError(RuntimeError):
    """The environment is missing something the product needs."""


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
    banks_dir: Path | None = None

    def telegram_link(self, code: str) -> str | None:
        """Return the t.me deep link for a round, when the bot's username is known."""
        if not self.telegram_bot_username:
            return None
        return f"https://t.me/{self.telegram_bot_username}?start={code}"


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
        banks_dir=Path(banks) if banks else None,
    )
