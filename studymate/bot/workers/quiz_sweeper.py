"""One loop for every student's quiz: timeouts, session ends, the countdown and openings.

It reads deadlines from the attempt rows, so after a restart it simply picks up where the
previous process stopped. The countdown edits each question message at most once every
``QUIZ_COUNTDOWN_SECONDS`` (Telegram's flood limits); the deadline itself is exact either way.

Every bot replica runs one; nothing here is kept in process memory. Overdue attempts, countdown
redraws and quiz openings are claimed in the database (``FOR UPDATE SKIP LOCKED`` and
conditional updates on PostgreSQL), so each deadline fires once and each notice is queued once,
whichever replica gets there first. Every edit of a question message takes its turn in the
``Drawer`` shared with the answer handler, so a redraw never lands over a newer question.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError

from studymate.bot.features.quiz.drawing import Drawer, key
from studymate.bot.features.quiz.views import (
    local_time,
    seconds_left,
    show_finish,
    show_question,
    start_markup,
)
from studymate.bot.workers.notices import Notices
from studymate.bot.workers.outbox_sender import OutboxSender
from studymate.config import Settings, normalize_language
from studymate.db.connection import Db
from studymate.i18n import t
from studymate.services import notifications
from studymate.services.enrollment import language_of
from studymate.services.outbox import Outgoing
from studymate.services.quiz import countdown as quiz_countdown
from studymate.services.quiz import engine as quiz_engine
from studymate.services.quiz import schedule as quiz_openings
from studymate.services.quiz.engine import QuestionView

logger = logging.getLogger(__name__)
TICK_SECONDS = 1.0
REDRAW_BATCH = 20  # countdown redraws checked against the database together


class QuizSweeper:
    def __init__(self, db: Db, settings: Settings, sender: OutboxSender) -> None:
        self.db = db
        self.settings = settings
        self.sender = sender
        self.countdown_every = settings.quiz_countdown_seconds
        self.drawer = Drawer()  # shared with the answer handler (``Runtime.sweeper``)
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.notices = Notices(db, settings)  # reminders, digests, nudges
        self.last_run = 0.0  # time.time() after the last step that went through (metrics)

    def start(self, bot: Bot) -> None:
        self._task = asyncio.create_task(self._run(bot), name="quiz-sweeper")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task

    async def _run(self, bot: Bot) -> None:
        while not self._stop.is_set():
            try:
                await self.sweep(bot)
                self.last_run = time.time()
            except Exception:  # the loop must survive a bad row or a database hiccup
                logger.exception("quiz sweeper step failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), TICK_SECONDS)

    async def _language(self, telegram_id: int | None) -> str:
        if telegram_id is None:
            return self.settings.default_language
        return await self.db.run(language_of, telegram_id, self.settings.default_language)

    async def sweep(self, bot: Bot) -> None:
        steps = await self.db.run(
            quiz_engine.expire_due, tz=self.settings.tz,
            base_seconds=self.settings.quiz_question_seconds,
        )
        for step in steps:
            if step.next is not None and step.next.chat_id is not None:
                await show_question(bot, self.drawer, step.next, await self._language(step.next.chat_id),
                                    db=self.db)
            elif step.finished is not None:
                lang = await self._language(step.finished.student_telegram_id)
                await show_finish(bot, self.db, self.drawer, step.finished, lang)
        await self._countdown(bot)
        await self._openings()
        if await self.notices.step():
            self.sender.wake()

    async def _countdown(self, bot: Bot) -> None:
        claimed = await self.db.run(quiz_countdown.claim_countdowns, self.countdown_every)
        for start in range(0, len(claimed), REDRAW_BATCH):
            await self.redraw(bot, claimed[start : start + REDRAW_BATCH])

    async def redraw(self, bot: Bot, claimed: list[QuestionView]) -> int:
        """Send claimed countdown redraws whose question is still the current one (checked
        right before, for the batch); returns how many were sent."""
        live = [view for view in claimed if seconds_left(view.deadline) >= 1]
        current = await self.db.run(quiz_countdown.still_current, live)
        sent = []
        for view in live:
            if view.attempt_id not in current:
                continue  # answered (or ended) since it was claimed
            lang = normalize_language(current[view.attempt_id], self.settings.default_language)
            with contextlib.suppress(TelegramAPIError):
                if await show_question(bot, self.drawer, view, lang, db=self.db):
                    sent.append(view)
        # Another replica may have moved an attempt on while its redraw travelled: then its
        # newer question was perhaps drawn first, and is drawn again now.
        for newer in await self.db.run(quiz_countdown.moved_on, sent):
            if self.drawer.drawn(key(newer.attempt_id, newer.chat_id, newer.message_id)) < newer.number:
                lang = await self._language(newer.chat_id)
                with contextlib.suppress(TelegramAPIError):
                    await show_question(bot, self.drawer, newer, lang, db=self.db)
        return len(sent)

    def _notice(self, opening: quiz_openings.Opening, chat_id: int, lang: str) -> Outgoing:
        end = local_time(opening.available_until, self.settings.tz)
        return Outgoing(chat_id, "sendMessage", {
            "text": t("quiz_opened_notification", lang, title=opening.title, end=end),
            "parse_mode": "HTML",
            "reply_markup": start_markup(opening.quiz_id, lang),
        })

    async def _openings(self) -> None:
        # Claimed and queued in one transaction: a crash in between leaves neither.
        school = notifications.School(self.settings.tz, self.settings.quiet_minutes)
        if await self.db.run(quiz_openings.open_due, self._notice, school=school):
            self.sender.wake()
