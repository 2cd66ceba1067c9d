"""Bad configuration stops every command with exit code 2 and one line naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from studymate.config import load_settings, normalize_language

GOOD_TOKEN = "123456:" + "A" * 35


def run_cli(env: dict[str, str], *args: str, cwd: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE", "REDIS", "ADMIN", "TEST_STUDENT", "STUDYMATE_"))}
    clean.update(env)
    clean["STUDYMATE_ENV_FILE"] = os.devnull
    return subprocess.run(
        [sys.executable, "-m", "studymate", *args],
        env=clean, cwd=cwd, capture_output=True, text=True, timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "args", "variable", "hint"),
    [
        ({}, ("bot",), "BOT_TOKEN", "@BotFather"),
        ({"BOT_TOKEN": "not-a-token"}, ("bot",), "BOT_TOKEN", "malformed"),
        ({"BOT_TOKEN": GOOD_TOKEN, "DATABASE_URL": "mysql://u@h/db"}, ("bot",), "DATABASE_URL", "postgresql://"),
        ({"STUDYMATE_DEFAULT_LANGUAGE": "de"}, ("migrate",), "DEFAULT_LANGUAGE", "ru, kaa, en"),
        ({"STUDYMATE_TIMEZONE": "Mars/Olympus"}, ("migrate",), "TIMEZONE", "Asia/Tashkent"),
        ({"ADMIN_TELEGRAM_IDS": "12,abc"}, ("migrate",), "ADMIN_TELEGRAM_IDS", "numeric"),
        ({"TEST_STUDENT_IDS": "x"}, ("migrate",), "TEST_STUDENT_IDS", "numeric"),
        ({"REDIS_URL": "localhost:6379"}, ("migrate",), "REDIS_URL", "redis://"),
        ({"STUDYMATE_HTTP_PORT": "70000"}, ("migrate",), "HTTP_PORT", "65535"),
        ({"STUDYMATE_WATCHDOG_HTTP_PORT": "-1"}, ("migrate",), "WATCHDOG_HTTP_PORT", "0"),
        ({"STUDYMATE_HTTP_HOST": "0.0.0.0/0"}, ("migrate",), "HTTP_HOST", "127.0.0.1"),
        ({"STUDYMATE_TELEGRAM_MODE": "push"}, ("migrate",), "TELEGRAM_MODE", "webhook"),
        ({"STUDYMATE_WEBHOOK_URL": "bot.example.org/hook"}, ("migrate",), "WEBHOOK_URL", "https://"),
        ({"STUDYMATE_WEBHOOK_SECRET": "has spaces"}, ("migrate",), "WEBHOOK_SECRET", "A-Z"),
        ({"STUDYMATE_WEBHOOK_SECRET": "x" * 257}, ("migrate",), "WEBHOOK_SECRET", "1-256"),
        ({"BOT_TOKEN": GOOD_TOKEN, "STUDYMATE_TELEGRAM_MODE": "webhook"}, ("bot",), "WEBHOOK_URL", "https://"),
        ({"BOT_TOKEN": GOOD_TOKEN, "STUDYMATE_TELEGRAM_MODE": "webhook", "STUDYMATE_WEBHOOK_URL": "https://b.example/h"},
         ("bot",), "WEBHOOK_SECRET", "openssl rand"),
        ({"BOT_TOKEN": GOOD_TOKEN, "STUDYMATE_TELEGRAM_MODE": "webhook", "STUDYMATE_WEBHOOK_URL": "https://b.example/h",
          "STUDYMATE_WEBHOOK_SECRET": "s3cret", "STUDYMATE_HTTP_PORT": "0"}, ("bot",), "HTTP_PORT", "own port"),
    ],
)
def test_bad_value_exits_2_with_one_clear_line(env, args, variable, hint, tmp_path):
    result = run_cli(env, *args, cwd=str(tmp_path))
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert variable in lines[0] and hint in lines[0]
    assert "Traceback" not in result.stderr


def test_v1_env_file_is_read(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text(
        f"BOT_TOKEN={GOOD_TOKEN}\nADMIN_TELEGRAM_IDS=5, 6\nTEST_STUDENT_IDS=2001\n"
        "BACKUP_RETENTION_DAYS=14\nSECRET_KEY=django-leftover\nUSE_REDIS=true\n"
    )
    monkeypatch.chdir(tmp_path)
    for name in ("BOT_TOKEN", "ADMIN_TELEGRAM_IDS", "TEST_STUDENT_IDS", "BACKUP_RETENTION_DAYS"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv("STUDYMATE_" + name, raising=False)
    monkeypatch.setenv("STUDYMATE_ENV_FILE", str(tmp_path / ".env"))  # v1's file as the installation's
    settings = load_settings()
    assert settings.require_token() == GOOD_TOKEN
    assert settings.admin_telegram_ids == [5, 6]
    assert settings.test_student_ids == [2001]
    assert settings.backup.retention_days == 14


def test_token_never_in_repr():
    settings = load_settings(bot_token=GOOD_TOKEN)
    assert GOOD_TOKEN not in repr(settings) and GOOD_TOKEN not in str(settings.model_dump())


@pytest.mark.parametrize(("code", "expected"), [("qq", "kaa"), ("en-US", "en"), ("ru", "ru"), ("de", "ru"), (None, "ru")])
def test_language_codes(code, expected):
    assert normalize_language(code) == expected
