"""End-to-end harness: the real ``studymate bot`` process against the in-process fake server."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studymate.i18n import t
from studymate.testing.fake_telegram.server import FakeTelegram

TOKEN = "123456789:" + "T" * 35
MENTOR_ID, GROUP_ID, STUDENT_ID = 1001, -100500, 2001
ADMIN_ID = 9001


def bot_env(
    *, fake: FakeTelegram, database_url: str, tmp_path: Path, **extra: str
) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "STUDYMATE_BOT_TOKEN": TOKEN,
        "STUDYMATE_DATABASE_URL": database_url,
        "STUDYMATE_TELEGRAM_API_URL": fake.base_url,
        "STUDYMATE_STATE_DIR": str(tmp_path / "state"),
        "STUDYMATE_LOG_DIR": str(tmp_path / "log"),
        "STUDYMATE_RUNTIME_DIR": str(tmp_path / "run"),
        "STUDYMATE_ENV_FILE": os.devnull,
        "STUDYMATE_ADMIN_TELEGRAM_IDS": str(ADMIN_ID),
        "PYTHONUNBUFFERED": "1",
        # Tests type faster than people; the throttling test turns these back on.
        "STUDYMATE_THROTTLE_MESSAGE_SECONDS": "0",
        "STUDYMATE_THROTTLE_CALLBACK_SECONDS": "0",
        # Notices arrive whatever the hour a test runs at; the quiet-hours tests set their own.
        "STUDYMATE_QUIET_HOURS": "off",
        # No fixed local ports: tests run side by side; a test that scrapes passes its own.
        "STUDYMATE_HTTP_PORT": "0",
        "STUDYMATE_WATCHDOG_HTTP_PORT": "0",
    }
    env.update(extra)
    return env


@dataclass
class BotProcess:
    """``python -m studymate <args>`` with its output in a log file."""

    env: dict[str, str]
    cwd: Path
    fake: FakeTelegram
    args: tuple[str, ...] = ("bot",)
    proc: asyncio.subprocess.Process | None = None
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.cwd / f"bot-{time.monotonic_ns()}.log"

    async def start(self, timeout: float = 20.0) -> BotProcess:
        """Start and wait until the bot polls the fake server."""
        since = time.monotonic()
        log = self.log_path.open("wb")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "studymate", *self.args,
            env=self.env, cwd=self.cwd, stdout=log, stderr=asyncio.subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.returncode is not None:
                raise AssertionError(f"bot exited {self.proc.returncode}:\n{self.log}")
            if self.fake.calls("getUpdates", since=since):
                return self
            await asyncio.sleep(0.05)
        raise AssertionError(f"bot did not start polling in {timeout}s:\n{self.log}")

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
            try:
                await asyncio.wait_for(self.proc.wait(), timeout)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
                raise AssertionError(f"bot did not stop within {timeout}s:\n{self.log}") from None
        return self.proc.returncode

    async def kill(self) -> None:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


class Chat:
    """A Telegram user talking to the bot through the fake server."""

    def __init__(self, fake: FakeTelegram, user_id: int) -> None:
        self.fake = fake
        self.user_id = user_id

    def last_bot_message_id(self) -> int:
        ids = [m["message_id"] for m in self.fake.messages(self.user_id) if m["outgoing"]]
        return max(ids, default=0)

    async def send(self, text: str, timeout: float = 10.0, expect: int = 1) -> list[dict[str, Any]]:
        """Send ``text``; return the bot's new messages once ``expect`` of them arrived."""
        after = self.last_bot_message_id()
        sent = await self.fake.send_text(self.user_id, text)
        return await self.replies(after, expect=expect, timeout=timeout, not_before=sent["message_id"])

    async def replies(
        self, after: int, *, expect: int = 1, timeout: float = 10.0, not_before: int = 0
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            messages = self.fake.messages(self.user_id)
            new = [
                m for m in messages
                if m["outgoing"] and m["message_id"] > max(after, not_before)
            ]
            if len(new) >= expect or time.monotonic() >= deadline:
                return new
            # Sleep until the chat changes (never spin: the fake shares this event loop).
            seq = max((m["seq"] for m in messages), default=0)
            last = max((m["message_id"] for m in messages), default=0)
            await self.fake.wait(self.user_id, last, timeout=0.5, since_seq=seq)

    async def click(self, message_id: int, data: str, timeout: float = 10.0) -> dict[str, Any]:
        """Press a button; return the callback answer once the bot gave it."""
        pressed = await self.fake.click(self.user_id, message_id, data)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            answers = self.fake.callback_answers(pressed["callback_query_id"])
            if answers:
                return answers[-1]
            await asyncio.sleep(0.02)
        raise AssertionError(f"no answer to the button {data!r}")


def button_data(message: dict[str, Any], label_contains: str) -> str:
    for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
        for button in row:
            if label_contains in button["text"]:
                return button["callback_data"]
    raise AssertionError(f"no button with {label_contains!r} in {message.get('reply_markup')}")


def keyboard_labels(message: dict[str, Any]) -> list[str]:
    rows = (message.get("reply_markup") or {}).get("keyboard", [])
    return [button["text"] if isinstance(button, dict) else button for row in rows for button in row]


def plain(key: str, lang: str = "ru", **params: Any) -> str:
    """The text of ``key`` as the user sees it (HTML tags removed)."""
    import html
    import re

    return html.unescape(re.sub(r"<[^>]+>", "", t(key, lang, **params)))


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str


async def studymate_cli(env: dict[str, str], cwd: Path, *args: str) -> CliResult:
    """Run ``studymate ARGS`` without blocking the event loop the fake server lives on."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "studymate", *args, env=env, cwd=cwd,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return CliResult(proc.returncode or 0, out.decode(), err.decode())


def make_school(fake: FakeTelegram, *, students: int = 1, lang: str = "ru") -> None:
    """Mentor Anna (1001, group -100500) and students 2001.. already registered."""
    from studymate.services import enrollment, mentors
    from studymate.services.enrollment import TelegramProfile

    mentors.add_mentor(telegram_id=MENTOR_ID, name="Anna", group_chat_id=GROUP_ID, language="ru")
    mentor_id = enrollment.identify(MENTOR_ID, ttl=0).mentor_id
    fake.add_user(MENTOR_ID, "Anna")
    fake.add_user(ADMIN_ID, "Admin")
    for n in range(students):
        user_id = STUDENT_ID + n
        fake.add_user(user_id, f"Student{n}", username=f"s{n}")
        fake.set_member(GROUP_ID, user_id, "member")
        enrollment.enroll(
            TelegramProfile(user_id, f"s{n}", f"Student{n}", ""), mentor_id=mentor_id, language=lang
        )


def inline_labels(message: dict[str, Any]) -> list[str]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [button["text"] for row in rows for button in row]


def bot_message(fake, chat_id, message_id):
    return next(m for m in fake.messages(chat_id) if m["message_id"] == message_id)


async def edited_to(fake, chat_id, message_id, text, timeout=10.0):
    """The message once the bot has edited it to ``text`` (the edit follows the toast)."""
    deadline = time.monotonic() + timeout
    while (message := bot_message(fake, chat_id, message_id))["text"] != text:
        if time.monotonic() > deadline:
            return message
        await asyncio.sleep(0.05)
    return message
