"""The in-process tier (see tests/inproc.py): here ``fake`` and ``run_bot`` keep their e2e
names and meaning, but the bot is the dispatcher in this process and Telegram is the fake's
world without its HTTP server, so a handler test ported from the e2e tier keeps its body."""

from __future__ import annotations

import pytest
from inproc import InProcessBot, InProcessTelegram, settings_for


@pytest.fixture
def fake() -> InProcessTelegram:
    return InProcessTelegram()


@pytest.fixture
async def run_bot(fake, db, database_url, tmp_path):
    """Build the bot in process: ``await run_bot(**env_overrides)`` (the e2e env names)."""
    started: list[InProcessBot] = []

    async def start(**extra: str) -> InProcessBot:
        bot = InProcessBot(fake, settings_for(fake, database_url, tmp_path, **extra), db)
        started.append(bot)
        return bot

    yield start
    for bot in started:
        await bot.stop()
