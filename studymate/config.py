"""Settings: one object built in each process's entry point and passed down.

Every variable is named ``STUDYMATE_<FIELD>`` (``STUDYMATE_BACKUP_<FIELD>`` and
``STUDYMATE_LOG_<FIELD>`` for the ``backup`` and ``logs`` sections), so a generic ``HTTP_PORT``
exported for something else never configures StudyMate. v1's names (``BOT_TOKEN``,
``DATABASE_URL``, ``REDIS_URL``, ``ADMIN_TELEGRAM_IDS``, ``TEST_STUDENT_IDS``, ``BACKUP_*``) are
still accepted; the prefixed name wins when both are set.

Sources, highest priority first: the process environment, then the installation's env file
(``$STUDYMATE_ENV_FILE``, else ``/etc/studymate/studymate.env`` when readable), then ``./.env``
only when no installation env file is in use and the working directory is a StudyMate checkout
(see :func:`env_files`). A bad value raises :class:`ConfigError` whose message is one line
naming the variable and the fix.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import zoneinfo
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Final, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

SYSTEM_ENV_FILE: Final = Path("/etc/studymate/studymate.env")
LANGUAGES: Final = ("ru", "kaa", "en")
LANGUAGE_ALIASES: Final = {"qq": "kaa"}
TOKEN_RE: Final = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{30,}$")
DB_SCHEMES: Final = ("sqlite", "postgres", "postgresql")
WEBHOOK_SECRET_RE: Final = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # what the Bot API allows
HOST_RE: Final = re.compile(r"[A-Za-z0-9._:-]+")  # a host name, IPv4 or IPv6 address
PREFIX: Final = "STUDYMATE_"
# v1's names, still read so a v1 env file works; the section ``backup`` also takes BACKUP_*.
V1_NAMES: Final = {
    "bot_token": "BOT_TOKEN",
    "database_url": "DATABASE_URL",
    "redis_url": "REDIS_URL",
    "admin_telegram_ids": "ADMIN_TELEGRAM_IDS",
    "test_student_ids": "TEST_STUDENT_IDS",
}
# Each section's part of the variable name, and whether v1 also read it unprefixed.
SECTIONS: Final = {"backup": ("BACKUP_", True), "logs": ("LOG_", False)}


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


class BackupSettings(BaseModel):
    """Nightly backups: where they go, when they run, which ones are kept."""

    dir: Path | None = None  # None: STATE_DIR/backups (Settings fills it in)
    retention_days: int = Field(default=30, ge=1)
    keep_daily: int = Field(default=7, ge=0)
    keep_weekly: int = Field(default=4, ge=0)
    keep_monthly: int = Field(default=12, ge=0)
    time: str = "03:00"  # local time (TIMEZONE) of the nightly run
    max_age_hours: float = Field(default=36, ge=0)  # the watchdog's limit; 0 turns the check off

    @field_validator("time")
    @classmethod
    def _check_time(cls, value: str) -> str:
        try:
            return dt.time.fromisoformat(value.strip()).strftime("%H:%M")
        except ValueError:
            raise ValueError(f"{value!r} is not a time of day: use HH:MM, e.g. 03:00") from None

    @property
    def at(self) -> dt.time:
        return dt.time.fromisoformat(self.time)


class LogSettings(BaseModel):
    """What ``studymate logrotate`` keeps of the rotated logs in LOG_DIR."""

    max_age_days: float = Field(default=30, gt=0)
    max_total_mb: float = Field(default=200, gt=0)
    rotate_interval: float = Field(default=600, gt=0)  # seconds between passes

    @property
    def max_total_bytes(self) -> int:
        return int(self.max_total_mb * 1024 * 1024)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=None, env_file_encoding="utf-8", extra="forbid", case_sensitive=False
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
    backup: BackupSettings = Field(default_factory=BackupSettings)
    logs: LogSettings = Field(default_factory=LogSettings)
    membership_cache_seconds: int = Field(default=300, ge=0)
    membership_check_concurrency: int = Field(default=10, ge=1)
    throttle_message_seconds: float = Field(default=0.5, ge=0)
    throttle_callback_seconds: float = Field(default=0.3, ge=0)
    quiz_question_seconds: int = Field(default=20, ge=3, le=600)
    quiz_countdown_seconds: float = Field(default=5.0, ge=1)
    # Notifications: quiet hours for students who did not choose their own ("off": none), the
    # reminder before a ranked quiz closes (hours), the mentors' digest and the streak nudge.
    quiet_hours: str = "22:00-08:00"
    remind_before_close: float = Field(default=2.0, gt=0)
    digest_time: str = "18:00"
    nudge_time: str = "19:00"
    shutdown_grace_seconds: float = Field(default=8.0, gt=0)
    # An update older than this when its turn comes (it waited out a crash or a restart) is
    # answered "please try again" instead of acted on.
    update_stale_seconds: float = Field(default=120, gt=0)
    db_threads: int = Field(default=4, ge=1, le=64)
    # SQLite's write lock held by another process (a CLI command, a backup): each attempt waits
    # up to DB_BUSY_TIMEOUT_SECONDS, the bot tries again for up to DB_LOCKED_RETRY_SECONDS.
    db_busy_timeout_seconds: float = Field(default=10, gt=0)
    db_locked_retry_seconds: float = Field(default=60, ge=0)
    log_level: str = "INFO"
    # `studymate watchdog`: how often it looks and what counts as a problem (0 turns a check off).
    watchdog_interval: float = Field(default=15, gt=0)
    heartbeat_stale_seconds: float = Field(default=90, gt=0)
    disk_min_free_mb: float = Field(default=500, ge=0)
    disk_min_free_percent: float = Field(default=10, ge=0, le=100)
    watchdog_max_errors: int = Field(default=20, ge=0)  # ERROR lines in bot.log per 10 minutes
    healthcheck_ping_url: SecretStr | None = None  # dead-man's switch, GET while healthy
    # Webhook mode (several replicas behind nginx): Telegram POSTs updates to the webhook URL,
    # whose path this bot serves on http_host:http_port; the secret proves it was Telegram.
    telegram_mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str = ""
    webhook_secret: SecretStr | None = None
    # Local HTTP: the bot's /metrics and /healthz, the watchdog's /metrics (0 turns one off).
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8390, ge=0, le=65535)
    watchdog_http_port: int = Field(default=8391, ge=0, le=65535)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then the environment, then the env files, each under our names only."""
        return (
            init_settings,
            _Variables(settings_cls, getattr(env_settings, "env_vars", {})),
            _Variables(settings_cls, getattr(dotenv_settings, "env_vars", {})),
        )

    @model_validator(mode="after")
    def _fill_backup_dir(self) -> Settings:
        if self.backup.dir is None:
            self.backup.dir = self.state_dir / "backups"
        return self

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

    @field_validator("digest_time", "nudge_time")
    @classmethod
    def _check_time_of_day(cls, value: str) -> str:
        try:
            return dt.time.fromisoformat(value.strip()).strftime("%H:%M")
        except ValueError:
            raise ValueError(f"{value!r} is not a time of day: use HH:MM, e.g. 18:00") from None

    @field_validator("quiet_hours")
    @classmethod
    def _check_quiet_hours(cls, value: str) -> str:
        text = value.strip().lower()
        if text in ("", "off", "none"):
            return "off"
        try:
            start, end = (dt.time.fromisoformat(p.strip()) for p in text.split("-"))
        except ValueError:
            raise ValueError(
                f"{value!r} is not a range of hours: use HH:MM-HH:MM, e.g. 22:00-08:00, or off"
            ) from None
        return f"{start:%H:%M}-{end:%H:%M}"

    @property
    def quiet_minutes(self) -> tuple[int, int]:
        """The default quiet hours as minutes after local midnight; (0, 0) when off."""
        if self.quiet_hours == "off":
            return (0, 0)
        start, end = (dt.time.fromisoformat(p) for p in self.quiet_hours.split("-"))
        return (start.hour * 60 + start.minute, end.hour * 60 + end.minute)

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
    def heartbeat_file(self) -> Path:
        return self.runtime_dir / "bot.heartbeat"

    @property
    def webhook_path(self) -> str:
        """The path of the webhook URL: the route the bot serves (nginx forwards it as is)."""
        return urlsplit(self.webhook_url).path or "/"

    def require_webhook(self) -> None:
        """In webhook mode both the URL and the secret token must be set."""
        if self.telegram_mode != "webhook":
            return
        if not self.webhook_url:
            raise ConfigError(
                "STUDYMATE_WEBHOOK_URL is not set: STUDYMATE_TELEGRAM_MODE=webhook needs the "
                "public https URL Telegram posts updates to, such as "
                "https://bot.example.org/telegram/webhook"
            )
        if self.webhook_secret is None:
            raise ConfigError(
                "STUDYMATE_WEBHOOK_SECRET is not set: STUDYMATE_TELEGRAM_MODE=webhook needs a "
                "secret token (1-256 characters A-Z a-z 0-9 _ -), for example from: "
                "openssl rand -hex 32"
            )
        if not self.http_port:
            raise ConfigError(
                "STUDYMATE_HTTP_PORT is 0: STUDYMATE_TELEGRAM_MODE=webhook serves the webhook on "
                "STUDYMATE_HTTP_PORT; give each replica its own port, such as 8390, 8392, 8394"
            )

    def require_token(self) -> str:
        if self.bot_token is None:
            raise ConfigError(
                "STUDYMATE_BOT_TOKEN is not set: create a bot with @BotFather in Telegram and put "
                "its token into /etc/studymate/studymate.env as STUDYMATE_BOT_TOKEN=..."
            )
        return self.bot_token.get_secret_value()


def env_names(path: tuple[str, ...]) -> tuple[str, ...]:
    """The variables that set the field at ``path``, the one that wins first.

    ``("http_port",)`` → ``STUDYMATE_HTTP_PORT``; ``("bot_token",)`` → ``STUDYMATE_BOT_TOKEN``,
    ``BOT_TOKEN``; ``("backup", "dir")`` → ``STUDYMATE_BACKUP_DIR``, ``BACKUP_DIR``.
    """
    if len(path) == 2 and path[0] in SECTIONS:
        part, v1_too = SECTIONS[path[0]]
        name = part + path[1].upper()
        return (PREFIX + name, name) if v1_too else (PREFIX + name,)
    v1 = V1_NAMES.get(path[0])
    return (PREFIX + path[0].upper(), v1) if v1 else (PREFIX + path[0].upper(),)


def all_env_names() -> dict[tuple[str, ...], tuple[str, ...]]:
    """Every field of :class:`Settings` (sections expanded) and the variables that set it."""
    paths: list[tuple[str, ...]] = []
    for name, field in Settings.model_fields.items():
        if name in SECTIONS:
            section: type[BaseModel] = field.annotation  # type: ignore[assignment]
            paths.extend((name, sub) for sub in section.model_fields)
        else:
            paths.append((name,))
    return {path: env_names(path) for path in paths}


class _Variables(PydanticBaseSettingsSource):
    """The values of one set of variables (the environment, or the env files) under our names.

    Nothing else is looked at: a variable that is not one of :func:`all_env_names` is ignored.
    """

    def __init__(self, settings_cls: type[BaseSettings], variables: Mapping[str, str | None]):
        super().__init__(settings_cls)
        self.variables = {key.upper(): value for key, value in variables.items()}

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ maps every name at once

    def __call__(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for path, names in all_env_names().items():
            value = next((self.variables[n] for n in names if self.variables.get(n) is not None), None)
            if value is None:
                continue
            if len(path) == 2:
                found.setdefault(path[0], {})[path[1]] = value
            else:
                found[path[0]] = value
        return found


def is_checkout(folder: Path) -> bool:
    """A StudyMate source checkout: its package folder and build files are there."""
    return (folder / "studymate" / "config.py").is_file() and (folder / "pyproject.toml").is_file()


def env_files() -> tuple[Path, ...]:
    """The env file read below the environment (none, or one).

    An installation's file (``$STUDYMATE_ENV_FILE``, else ``/etc/studymate/studymate.env`` when
    it is readable) is the only one read. ``./.env`` is read only without one, and only in a
    StudyMate checkout: an operator running ``sudo studymate backup restore`` from a folder
    holding some other program's (or v1's) ``.env`` must not pick up its DATABASE_URL.
    """
    explicit = os.environ.get("STUDYMATE_ENV_FILE")
    if explicit:
        return (Path(explicit),)
    if SYSTEM_ENV_FILE.is_file() and os.access(SYSTEM_ENV_FILE, os.R_OK):
        return (SYSTEM_ENV_FILE,)
    if is_checkout(Path.cwd()):
        return (Path(".env"),)
    return ()


def _variable_for(path: tuple[str | int, ...], files: tuple[Path, ...]) -> str:
    """The variable to name in an error about ``path``: the one that was set, else ours."""
    names = env_names(tuple(str(p) for p in path[:2]))
    from dotenv import dotenv_values  # only on the error path

    sources: list[Mapping[str, str | None]] = [os.environ]
    sources += [dotenv_values(f) for f in reversed(files) if f.is_file()]
    for source in sources:
        upper = {key.upper() for key in source}
        for name in names:
            if name in upper:
                return name
    return names[0]


def load_settings(**overrides: object) -> Settings:
    """Build Settings, turning pydantic's report into one actionable line."""
    files = env_files()
    try:
        return Settings(_env_file=files, **overrides)  # type: ignore[call-arg]
    except ValidationError as exc:
        error = exc.errors()[0]
        name = _variable_for(tuple(error["loc"]), files) if error["loc"] else "configuration"
        message = str(error["msg"]).removeprefix("Value error, ").replace("Input should be", "must be")
        raise ConfigError(f"{name}: {message}") from None
