"""Benchmark: achieved send rate of a broadcast to N students through the real bot process.

    .venv/bin/python bench/broadcast.py [--students 1000] [--database-url URL]

The fake Bot API enforces Telegram's limits (1 msg/s per chat, 30 msg/s overall); the mentor
goes through the real flow (✉️ → 📢 → text → ✅). Prints the rate between the first and the
last delivered copy, and how many 429 answers the bot received on the way.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

from studymate.db import migrate
from studymate.db.connection import open_database
from studymate.services import enrollment, mentors
from studymate.services.enrollment import TelegramProfile
from studymate.testing.fake_telegram.server import FakeTelegram

TOKEN = "123456789:" + "B" * 35
MENTOR, GROUP, FIRST_STUDENT = 1001, -100500, 100_000


def seed(url: str, students: int) -> None:
    database = open_database(url)
    migrate.apply(database)
    with database.connection_context(), database.atomic():
        mentors.add_mentor(telegram_id=MENTOR, name="Anna", group_chat_id=GROUP, language="en")
        for n in range(students):
            uid = FIRST_STUDENT + n
            enrollment.enroll(TelegramProfile(uid, None, f"S{n}", ""), mentor_id=1, language="en")
    database.close()


async def click_button(fake: FakeTelegram, message: dict, needle: str) -> None:
    for row in message["reply_markup"]["inline_keyboard"]:
        for button in row:
            if needle in button["text"]:
                await fake.click(MENTOR, message["message_id"], button["callback_data"])
                return
    raise RuntimeError(f"no button {needle!r}")


async def next_bot_message(fake: FakeTelegram) -> dict:
    last = max((m["message_id"] for m in fake.messages(MENTOR)), default=0)
    seq = max((m["seq"] for m in fake.messages(MENTOR)), default=0)
    for _ in range(100):
        new = await fake.wait(MENTOR, last, timeout=0.5, since_seq=seq)
        if new:
            return new[-1]
    raise RuntimeError("the bot did not answer")


async def run(students: int, database_url: str | None) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="studymate-bench-"))
    url = database_url or f"sqlite:///{workdir / 'bench.db'}"
    seed(url, students)
    async with FakeTelegram() as fake:
        fake.add_user(MENTOR, "Anna")
        for n in range(students):
            fake.add_user(FIRST_STUDENT + n, f"S{n}")
        fake.set_limits(per_chat_per_second=1, global_per_second=30, group_per_minute=20)
        env = {**os.environ, "STUDYMATE_BOT_TOKEN": TOKEN, "STUDYMATE_DATABASE_URL": url, "STUDYMATE_TELEGRAM_API_URL": fake.base_url,
               "STUDYMATE_STATE_DIR": str(workdir), "STUDYMATE_RUNTIME_DIR": str(workdir), "STUDYMATE_LOG_DIR": str(workdir),
               "STUDYMATE_ENV_FILE": os.devnull, "STUDYMATE_THROTTLE_MESSAGE_SECONDS": "0", "STUDYMATE_THROTTLE_CALLBACK_SECONDS": "0"}
        bot = await asyncio.create_subprocess_exec(sys.executable, "-m", "studymate", "bot", env=env,
                                                   stderr=asyncio.subprocess.DEVNULL)
        try:
            while not fake.calls("getUpdates"):  # noqa: ASYNC110
                await asyncio.sleep(0.1)
            await fake.send_text(MENTOR, "✉️ Message Student")
            await click_button(fake, await next_bot_message(fake), "📢")
            await next_bot_message(fake)
            await asyncio.sleep(1.1)  # the mentor types; Telegram's per-chat limit applies to us too
            await fake.send_text(MENTOR, "Lesson moved to room 12")
            await click_button(fake, await next_bot_message(fake), "✅")
            started = time.monotonic()
            while True:
                sends = [c for c in fake.calls("sendMessage") if c["chat_id"] and c["chat_id"] >= FIRST_STUDENT]
                delivered = [c for c in sends if c["status"] == 200]
                if len(delivered) >= students or time.monotonic() - started > students:
                    break
                await asyncio.sleep(0.5)
        finally:
            bot.terminate()
            await bot.wait()
    first, last = delivered[0]["t"], delivered[-1]["t"]
    rate = (len(delivered) - 1) / (last - first) if last > first else float("nan")
    flood = sum(1 for c in fake.calls() if c["status"] == 429)
    if os.environ.get("BENCH_DEBUG"):
        for c in [c for c in fake.calls() if c["status"] == 429][:10]:
            print(c["method"], c["chat_id"], round(c["t"] - first, 3), c.get("description"))
    print(f"students={students} delivered={len(delivered)} backend={url.split(':')[0]}")
    print(f"send rate: {rate:.1f} messages/s over {last - first:.1f} s; 429 answers: {flood}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--database-url", default=None, help="an empty database (default: temp SQLite)")
    args = parser.parse_args()
    asyncio.run(run(args.students, args.database_url))


if __name__ == "__main__":
    main()
