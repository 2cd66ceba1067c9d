"""In-process handler tests: the real dispatcher, fed updates directly, no bot process.

``create_dispatcher(settings)`` builds the same Dispatcher ``studymate bot`` runs (storage,
middlewares, routers); :class:`InProcessBot` hands it each update with ``Dispatcher.feed_update``,
one after another, and a :class:`RecordingSession` answers its Bot API calls in memory. The
answers come from the fake Telegram's own world (the one the e2e fake server serves), so message
ids, edits, deletions, pins, files and Telegram's errors (400 "message is not modified", 403
blocked, injected faults) are the same as end to end, without HTTP, polling or a subprocess: a
test takes milliseconds. Every call is recorded (method and parameters).

The e2e vocabulary works unchanged: :class:`InProcessTelegram` is the fake server's
:class:`FakeTelegram` without its HTTP server (``add_user``, ``set_member``, ``messages``,
``callback_answers``, ``calls``, ``add_fault``...), and :class:`Chat` is ``e2e.Chat`` whose
``send``/``click``/``replies`` deliver the pending updates first and then read what the user sees.

Background workers do not run: the outbox sender and the quiz sweeper are stepped by hand
(:meth:`InProcessBot.drain_outbox`, :meth:`InProcessBot.sweep`). Updates are handled one at a
time, in order. What needs the protocol (restarts, kill -9, polling, webhooks, flood limits
and pacing, concurrency between updates) stays in the e2e tier (``tests/e2e.py``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studymate.bot.app import create_bot, create_dispatcher  # first: it sets up aiogram

# isort: split

import e2e
from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.methods import TelegramMethod
from aiogram.types import InputFile, Update
from peewee import Database

from studymate.bot.features.routers import get_routers
from studymate.bot.infra.flood import handles_flood_itself
from studymate.bot.infra.pacing import Pacer
from studymate.config import Settings
from studymate.db.connection import Db
from studymate.testing.fake_telegram.bot_api import BotApi
from studymate.testing.fake_telegram.params import Params, Upload
from studymate.testing.fake_telegram.server import FakeTelegram
from studymate.testing.fake_telegram.world import FakeWorld

# Never contacted: only the shape of file URLs (getFile → download) needs a base.
BASE_URL = "http://telegram.invalid"


@dataclass(frozen=True)
class Call:
    """One Bot API call the bot made: Telegram's method name and its parameters (decoded)."""

    method: str
    params: dict[str, Any]


class RecordingSession(BaseSession):
    """A Bot API session without a network: records each call and answers it from ``world``.

    Parameters are prepared exactly as aiogram's aiohttp session prepares its form (defaults
    filled in, objects as JSON, uploads read), and answers go through aiogram's own
    ``check_response``, so results parse and errors raise as they would from Telegram.
    """

    def __init__(self, world: FakeWorld) -> None:
        super().__init__(api=TelegramAPIServer.from_base(BASE_URL))
        self.world = world
        self.telegram = BotApi(world)
        self.calls: list[Call] = []

    async def make_request(
        self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None
    ) -> Any:
        params = await self._params(bot, method)
        status, content = await self.execute(bot.token, method.__api_method__, params)
        return self.check_response(bot=bot, method=method, status_code=status, content=content).result

    async def execute(self, token: str, method: str, params: dict[str, Any]) -> tuple[int, str]:
        """Record one call and run it against the world: (HTTP status, JSON answer)."""
        self.calls.append(Call(method, Params(params).decoded()))
        status, payload = await self.telegram.execute(token, method, params)
        return status, json.dumps(payload)

    async def _params(self, bot: Bot, method: TelegramMethod[Any]) -> dict[str, Any]:
        files: dict[str, InputFile] = {}
        params: dict[str, Any] = {}
        for key, value in method.model_dump(warnings=False).items():
            prepared = self.prepare_value(value, bot=bot, files=files)
            if prepared:  # as aiohttp's form: empty values are not sent
                params[key] = prepared
        uploads = {}
        for name, file in files.items():
            data = b"".join([chunk async for chunk in file.read(bot)])
            uploads[name] = Upload(data, file.filename or name, "application/octet-stream")
        for key, value in list(params.items()):
            if isinstance(value, str) and value.startswith("attach://"):
                params[key] = uploads.pop(value.removeprefix("attach://"), value)
        return {**uploads, **params}

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        """A file download (``/file/bot<token>/<path>``), from the world's stored files."""
        path = url.split("/file/bot", 1)[1].split("/", 1)[1]
        stored = self.world.find_file_by_path(path)
        if stored is None:
            raise FileNotFoundError(url)
        for start in range(0, len(stored.data), chunk_size):
            yield stored.data[start : start + chunk_size]

    async def close(self) -> None:
        pass

    def since(self, mark: int) -> list[Call]:
        return self.calls[mark:]


class InProcessTelegram(FakeTelegram):
    """The fake Telegram without its HTTP server: the same world and control helpers, and the
    in-process bot that takes the users' updates (:meth:`deliver`)."""

    def __init__(self) -> None:
        super().__init__()
        self.bot: InProcessBot | None = None

    @property
    def base_url(self) -> str:
        return BASE_URL

    async def deliver(self) -> int:
        """Hand every pending update to the bot; how many there were (0 before it started)."""
        return await self.bot.deliver() if self.bot is not None else 0


class InProcessBot:
    """The dispatcher ``studymate bot`` builds, fed updates from ``fake``'s world directly."""

    def __init__(self, fake: InProcessTelegram, settings: Settings, database: Database) -> None:
        self.fake = fake
        self.settings = settings
        self.session = RecordingSession(fake.world)
        self.bot = create_bot(settings, session=self.session)
        _release_routers()
        self.dp = create_dispatcher(settings, db=Db(database, threads=settings.db_threads))
        self.runtime = self.dp.workflow_data["runtime"]
        # Stepped by hand: no per-chat spacing, so one drain sends everything that is due.
        self.runtime.sender.pacer = Pacer(per_second=1e9, chat_interval=0.0)
        self.runtime.alerts.sender = self  # admin alerts land in the world too
        self._offset: int | None = None
        fake.bot = self

    @property
    def calls(self) -> list[Call]:
        """Every Bot API call made so far (updates and workers), in order."""
        return self.session.calls

    async def deliver(self) -> int:
        """Feed the pending updates to the dispatcher one by one, as a poll would deliver them."""
        count = 0
        while updates := self.fake.world.take_updates(self._offset, 100):
            for raw in updates:
                self._offset = raw["update_id"] + 1
                await self.feed(raw)
                count += 1
        return count

    async def feed(self, raw: dict[str, Any]) -> list[Call]:
        """Handle one update (Bot API JSON); the calls made meanwhile."""
        mark = len(self.session.calls)
        update = Update.model_validate(raw, context={"bot": self.bot})
        result = await self.dp.feed_update(self.bot, update)
        if isinstance(result, TelegramMethod):  # a handler's returned method, as polling does
            await self.dp.silent_call_request(self.bot, result)
        return self.session.since(mark)

    async def text(self, user_id: int, text: str) -> list[Call]:
        """The user writes ``text`` in their private chat; the calls the bot made in answer."""
        mark = len(self.session.calls)
        await self.fake.send_text(user_id, text)
        await self.deliver()
        return self.session.since(mark)

    async def tap(self, user_id: int, message_id: int, data: str) -> list[Call]:
        """The user presses a button with ``data`` under ``message_id``; the calls in answer."""
        mark = len(self.session.calls)
        await self.fake.click(user_id, message_id, data)
        await self.deliver()
        return self.session.since(mark)

    async def drain_outbox(self) -> int:
        """Send every outbox message that is due now (the sender's loop, stepped by hand)."""
        token = handles_flood_itself.set(True)  # as in the sender's own task
        try:
            sent = 0
            while claimed := await self.runtime.sender.step(self.bot):
                sent += claimed
            return sent
        finally:
            handles_flood_itself.reset(token)

    async def sweep(self) -> None:
        """One pass of the quiz sweeper: expired questions, countdowns, quizzes that open."""
        await self.runtime.sweeper.sweep(self.bot)

    async def stop(self) -> None:
        await self.dp.emit_shutdown(bot=self.bot, dispatcher=self.dp, **self.dp.workflow_data)
        self.runtime.db.close()
        await self.bot.session.close()

    async def send(self, chat_id: int, text: str, *, key: str) -> None:
        """The alerts' sender: ``sendMessage`` into the fake world."""
        payload = {"chat_id": chat_id, "text": text[:4096], "parse_mode": "HTML"}
        await self.session.execute(self.bot.token, "sendMessage", payload)


def _release_routers() -> None:
    """The feature routers are module-level and aiogram attaches a router to one dispatcher:
    let the previous test's dispatcher go of them (a bot process builds just one)."""
    for router in get_routers():
        router._parent_router = None


def settings_for(fake: InProcessTelegram, database_url: str, tmp_path: Path, **extra: str) -> Settings:
    """The settings an e2e bot process gets from ``e2e.bot_env`` (same names and overrides)."""
    env = {"REDIS_URL": "", **e2e.bot_env(fake=fake, database_url=database_url, tmp_path=tmp_path, **extra)}
    fields = {}
    for name, value in env.items():
        field = name.removeprefix("STUDYMATE_").lower()
        if field in Settings.model_fields:
            fields[field] = value
    return Settings(_env_file=None, **fields)


class Chat(e2e.Chat):
    """``e2e.Chat`` in process: the pending updates are handled before anything is read, so a
    reply is there at once (nothing waits; ``expect`` and ``timeout`` are not needed)."""

    fake: InProcessTelegram

    async def replies(
        self, after: int, *, expect: int = 1, timeout: float = 0.0, not_before: int = 0
    ) -> list[dict[str, Any]]:
        await self.fake.deliver()
        return [
            m for m in self.fake.messages(self.user_id)
            if m["outgoing"] and m["message_id"] > max(after, not_before)
        ]

    async def click(self, message_id: int, data: str, timeout: float = 0.0) -> dict[str, Any]:
        pressed = await self.fake.click(self.user_id, message_id, data)
        await self.fake.deliver()
        answers = self.fake.callback_answers(pressed["callback_query_id"])
        if not answers or not answers[-1]["answered"]:
            raise AssertionError(f"no answer to the button {data!r}")
        return answers[-1]


async def on_first_question(fake: InProcessTelegram, run_bot: Any, quiz_file: str, title: str, *,
                            ranked: bool = False, **env: str) -> tuple[InProcessBot, Chat, dict[str, Any]]:
    """The e2e school, its mentor's quiz ``quiz_file`` published, the bot started with ``env``
    and the student on the quiz's first question: (the bot, the student's chat, the question)."""
    from test_e2e_quiz_taking import open_quiz  # a test module: imported when used

    from studymate.services.quiz import authoring
    from studymate.services.quiz.authoring import SaveMode
    from studymate.services.quiz.format import parse_quiz

    e2e.make_school(fake)
    authoring.publish(1, parse_quiz(quiz_file, file_name="quiz.txt"), mode=SaveMode.NEW, ranked=ranked)
    bot = await run_bot(**env)
    chat = Chat(fake, e2e.STUDENT_ID)
    return bot, chat, await open_quiz(fake, chat, "🏆" if ranked else "📚", title)
