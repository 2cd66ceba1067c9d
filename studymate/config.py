"""Settings: one object built in each process's entry point and passed down.

Sources, highest priority first: the process environment, ``$STUDYMATE_ENV_FILE`` (or
``/etc/studymate/studymate.env`` when it exists), then ``./.env`` so a v1 checkout keeps working.
A bad value raises :class:`ConfigError` whose message is one line naming the variable and the fix.
"""

from __future__ import annotations

import os
import re
import zoneinfo
from pathlib import Path
from typing import Annotated, Final, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

SYSTEM_ENV_FILE: Final = Path("/etc/studymate/studymate.env")
LANGUAGES: Final = ("ru", "kaa", "en")
LANGUAGE_ALIASES: Final = {"qq": "kaa"}
TOKEN_RE: Final = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{30,}$")
DB_SCHEMES: Final = ("sqlite", "postgres", "postgresql")
WEBHOOK_SECRET_RE: Final = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # what the Bot API allows
HOST_RE: Final = re.compile(r"[A-Za-z0-9._:-]+")  # a host name, IPv4 or IPv6 address


class ConfigError(Exception):
    """A configuration value is missing or wrong; ``str()`` is the one line shown to the operator."""


def normalize_language(code: str | None, default: str = "ru") -> str:
    """Map a stored or Telegram language code onto one of ours (``qq`` is v1's Karakalpak)."""
    if not code:
        return default
    code = code.strip().lower().replace("_", "-").split("-")[0]
    code = LANGUAGE_ALIASES.get(code, code)
    return code if code in LANGUAGES else default


def _id_list(value: object, name: str) -> list[int]:
    if value is None or value == "":
        return []
    if isinstance(value, int):
        return [value]
    if isinstance(value, (list, tuple)):
        items = [str(v) for v in value]
    else:
        items = str(value).split(",")
    ids = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        if not re.fullmatch(r"-?\d+", item):
            raise ValueError(f"{item!r} is not a numeric Telegram id; use comma-separated numbers")
        ids.append(int(item))
    return ids


def _default_dirs() -> dict[str, Path]:
    """systemd hands us directories through $STATE_DIRECTORY & co.; a checkout uses ./var."""
    base = Path.cwd() / "var"
    env = os.environ
    return {
        "state_dir": Path(env.get("STATE_DIRECTORY", base / "lib")),
        "log_dir": Path(env.get("LOGS_DIRECTORY", base / "log")),
        "runtime_dir": Path(env.get("RUNTIME_DIRECTORY", base / "run")),
    }


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=(".env",), env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    bot_token: SecretStr | None = None
    database_url: str = ""
    redis_url: str = ""
    admin_telegram_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    test_student_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    timezone: str = "Asia/Tashkent"
    default_language: str = "ru"
    telegram_api_url: str = "https://api.telegram.org"
    state_dir: Path = Field(default_factory=lambda: _default_dirs()["state_dir"])
    log_dir: Path = Field(default_factory=lambda: _default_dirs()["log_dir"])
    runtime_dir: Path = Field(default_factory=lambda: _default_dirs()["runtime_dir"])
    backup_dir: Path | None = None
    backup_retention_days: int = Field(default=30, ge=1)
    log_max_age_days: float = Field(default=30, gt=0)
    log_max_total_mb: float = Field(default=200, gt=0)
    log_rotate_interval: float = Field(default=600, gt=0)
    membership_cache_seconds: int = Field(default=300, ge=0)
    membership_check_concurrency: int = Field(default=10, ge=1)
    throttle_message_seconds: float = Field(default=0.5, ge=0)
    throttle_callback_seconds: float = Field(default=0.3, ge=0)
    quiz_question_seconds: int = Field(default=20, ge=3, le=600)
    quiz_countdown_seconds: float = Field(default=5.0, ge=1)
    shutdown_grace_seconds: float = Field(default=8.0, gt=0)
    # An update older than this when its turn comes (it waited out a crash or a restart) is
    # answered "please try again" instead of acted on.
    update_stale_seconds: float = Field(default=120, gt=0)
    db_threads: int = Field(default=4, ge=1, le=64)
    log_level: str = "INFO"
    # `studymate watchdog`: how often it looks and what counts as a problem (0 turns a check off).
    watchdog_interval: float = Field(default=15, gt=0)
    heartbeat_stale_seconds: float = Field(default=90, gt=0)
    disk_min_free_mb: float = Field(default=500, ge=0)
    disk_min_free_percent: float = Field(default=10, ge=0, le=100)
    backup_max_age_hours: float = Field(default=36, ge=0)
    watchdog_max_errors: int = Field(default=20, ge=0)  # ERROR lines in bot.log per 10 minutes
    healthcheck_ping_url: SecretStr | None = None  # dead-man's switch, GET while healthy
    # Webhook mode (several replicas behind nginx): Telegram POSTs updates to WEBHOOK_URL,
    # whose path this bot serves on HTTP_HOST:HTTP_PORT; WEBHOOK_SECRET proves it was Telegram.
    telegram_mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str = ""
    webhook_secret: SecretStr | None = None
    # Local HTTP: the bot's /metrics and /healthz, the watchdog's /metrics (0 turns one off).
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8390, ge=0, le=65535)
    watchdog_http_port: int = Field(default=8391, ge=0, le=65535)

    @field_validator("admin_telegram_ids", "test_student_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object, info) -> list[int]:
        return _id_list(value, info.field_name)

    @field_validator("bot_token", mode="before")
    @classmethod
    def _check_token(cls, value: object) -> object:
        if value is None or str(value).strip() == "":
            return None
        token = str(value).strip()
        if not TOKEN_RE.match(token):
            raise ValueError(
                "malformed token: expected '<digits>:<secret>' exactly as @BotFather gave it"
            )
        return token

    @field_validator("database_url")
    @classmethod
    def _check_db_url(cls, value: str) -> str:
        value = value.strip()
        if value:
            scheme = value.split("://", 1)[0].split("+", 1)[0].lower()
            if "://" not in value or scheme not in DB_SCHEMES:
                raise ValueError(
                    f"unknown scheme {scheme!r}: use sqlite:///path/to/file.db "
                    "or postgresql://user:password@host:5432/dbname"
                )
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://, or be empty")
        return value

    @field_validator("default_language")
    @classmethod
    def _check_language(cls, value: str) -> str:
        code = LANGUAGE_ALIASES.get(value.strip().lower(), value.strip().lower())
        if code not in LANGUAGES:
            raise ValueError(f"unknown language {value!r}: use one of {', '.join(LANGUAGES)}")
        return code

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value.strip())
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}: use an IANA name such as Asia/Tashkent"
            ) from None
        return value.strip()

    @field_validator("telegram_api_url")
    @classmethod
    def _check_api_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL such as https://api.telegram.org")
        return value

    @field_validator("http_host")
    @classmethod
    def _check_http_host(cls, value: str) -> str:
        value = value.strip()
        if not HOST_RE.fullmatch(value):
            raise ValueError("use an address to listen on, such as 127.0.0.1 (this machine only)")
        return value

    @field_validator("telegram_mode", mode="before")
    @classmethod
    def _check_mode(cls, value: object) -> str:
        mode = str(value or "polling").strip().lower()
        if mode not in ("polling", "webhook"):
            raise ValueError(f"unknown mode {value!r}: use polling (the default) or webhook")
        return mode

    @field_validator("webhook_url")
    @classmethod
    def _check_webhook_url(cls, value: str) -> str:
        value = value.strip()
        if value:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(
                    "must be the public URL Telegram posts to, such as "
                    "https://bot.example.org/telegram/webhook"
                )
        return value

    @field_validator("webhook_secret", mode="before")
    @classmethod
    def _check_webhook_secret(cls, value: object) -> object:
        if value is None or str(value).strip() == "":
            return None
        secret = str(value).strip()
        if not WEBHOOK_SECRET_RE.match(secret):
            raise ValueError(
                "use 1-256 characters A-Z, a-z, 0-9, _ and - only "
                "(for example: openssl rand -hex 32)"
            )
        return secret

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        value = value.strip().upper()
        if value not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ValueError("use DEBUG, INFO, WARNING or ERROR")
        return value

    # -- derived values -------------------------------------------------------------------
    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.state_dir / 'studymate.db'}"

    @property
    def effective_backup_dir(self) -> Path:
        return self.backup_dir or self.state_dir / "backups"

    @property
    def heartbeat_file(self) -> Path:
        return self.runtime_dir / "bot.heartbeat"

    @property
    def webhook_path(self) -> str:
        """The path of ``WEBHOOK_URL``: the route the bot serves (nginx forwards it as is)."""
        return urlsplit(self.webhook_url).path or "/"

    def require_webhook(self) -> None:
        """In webhook mode both the URL and the secret token must be set."""
        if self.telegram_mode != "webhook":
            return
        if not self.webhook_url:
            raise ConfigError(
                "WEBHOOK_URL is not set: TELEGRAM_MODE=webhook needs the public https URL "
                "Telegram posts updates to, such as https://bot.example.org/telegram/webhook"
            )
        if self.webhook_secret is None:
            raise ConfigError(
                "WEBHOOK_SECRET is not set: TELEGRAM_MODE=webhook needs a secret token "
                "(1-256 characters A-Z a-z 0-9 _ -), for example from: openssl rand -hex 32"
            )
        if not self.http_port:
            raise ConfigError(
                "HTTP_PORT is 0: TELEGRAM_MODE=webhook serves the webhook on HTTP_PORT; "
                "give each replica its own port, such as 8390, 8392, 8394"
            )

    def require_token(self) -> str:
        if self.bot_token is None:
            raise ConfigError(
                "BOT_TOKEN is not set: create a bot with @BotFather in Telegram and put its "
                "token into /etc/studymate/studymate.env as BOT_TOKEN=..."
            )
        return self.bot_token.get_secret_value()


def _env_files() -> tuple[Path, ...]:
    """Files read below the environment; later files win over earlier ones."""
    files: list[Path] = [Path(".env")]
    explicit = os.environ.get("STUDYMATE_ENV_FILE")
    if explicit:
        files.append(Path(explicit))
    elif SYSTEM_ENV_FILE.is_file() and os.access(SYSTEM_ENV_FILE, os.R_OK):
        files.append(SYSTEM_ENV_FILE)
    return tuple(files)


def load_settings(**overrides: object) -> Settings:
    """Build Settings, turning pydantic's report into one actionable line."""
    try:
        return Settings(_env_file=_env_files(), **overrides)  # type: ignore[call-arg]
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]).upper() if error["loc"] else "configuration"
        message = str(error["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{name}: {message}") from None
