"""Quiz reminders, the mentors' digest, the streak nudge and new material notices, queued by
the quiz sweeper.

What is due and who gets it is decided (and claimed once) in ``services.reminders``; this
module renders each notice in the recipient's language with the button that does what it
talks about: ▶️ Start the quiz, 💬 Reply to a question, 📝 To quizzes, 📂 Open the topic.
"""

from __future__ import annotations

import datetime as dt
import html
import time
from typing import Any, Final

from aiogram.types import InlineKeyboardMarkup

from studymate.bot.features.materials.callbacks import Library, LibraryCb
from studymate.bot.features.questions.callbacks import QuestionCb, Questions
from studymate.bot.features.quiz.callbacks import Take, TakeCb
from studymate.bot.features.quiz.views import local_time, start_markup
from studymate.bot.keyboards import button
from studymate.config import Settings
from studymate.db.connection import Db
from studymate.i18n import t
from studymate.services import material_notices, reminders
from studymate.services.notifications import School
from studymate.services.outbox import Outgoing

CHECK_EVERY: Final = 5.0  # seconds between looks; each notice is due for hours, not seconds
SNIPPET: Final = 60  # characters of a question shown in the digest


def markup_json(markup: InlineKeyboardMarkup) -> dict[str, Any]:
    """A keyboard as an outbox payload stores it (plain JSON)."""
    return markup.model_dump(mode="json", exclude_none=True)


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SNIPPET else text[: SNIPPET - 1] + "…"


class Notices:
    def __init__(self, db: Db, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.school = School(settings.tz, settings.quiet_minutes)
        self.before = dt.timedelta(hours=settings.remind_before_close)
        self.digest_at = dt.time.fromisoformat(settings.digest_time)
        self.nudge_at = dt.time.fromisoformat(settings.nudge_time)
        self._last = -CHECK_EVERY

    def quiz_reminder(self, due: reminders.QuizReminder) -> Outgoing:
        lang = due.language
        return Outgoing(due.chat_id, "sendMessage", {
            "text": t("quiz_reminder_notification", lang, title=due.title,
                      end=local_time(due.closes, self.settings.tz)),
            "parse_mode": "HTML",
            "reply_markup": start_markup(due.quiz_id, lang),
        })

    def digest(self, digest: reminders.Digest) -> Outgoing:
        lang = digest.language
        # The question texts are the students' words: escaped, one short line each.
        lines = [t("mentor_digest", lang, count=digest.total), ""] + [
            f"{number}. {html.escape(_snippet(item.text), quote=False)}"
            for number, item in enumerate(digest.questions, start=1)
        ]
        rows = [
            [button(t("btn_reply_to", lang, num=number),
                    QuestionCb(action=Questions.REPLY, question=item.question_id))]
            for number, item in enumerate(digest.questions, start=1)
        ]
        return Outgoing(digest.chat_id, "sendMessage", {
            "text": "\n".join(lines), "parse_mode": "HTML",
            "reply_markup": markup_json(InlineKeyboardMarkup(inline_keyboard=rows)),
        })

    def nudge(self, nudge: reminders.Nudge) -> Outgoing:
        lang = nudge.language
        return Outgoing(nudge.chat_id, "sendMessage", {
            "text": t("streak_nudge", lang, streak=nudge.streak), "parse_mode": "HTML",
            "reply_markup": markup_json(InlineKeyboardMarkup(inline_keyboard=[[
                button(t("btn_take_quiz_now", lang), TakeCb(action=Take.PRACTICE)),
            ]])),
        })

    def material_news(self, news: material_notices.MaterialNews) -> Outgoing:
        lang = news.language
        text = (t("material_notice_one", lang, topic=news.topic) if news.count == 1
                else t("material_notice", lang, topic=news.topic, count=news.count))
        return Outgoing(news.chat_id, "sendMessage", {
            "text": text, "parse_mode": "HTML",
            "reply_markup": markup_json(InlineKeyboardMarkup(inline_keyboard=[[
                button(t("btn_open_topic", lang), LibraryCb(action=Library.TOPIC, topic=news.topic_id)),
            ]])),
        })

    def _queue_all(self, now: dt.datetime | None) -> int:
        return (
            reminders.queue_quiz_reminders(self.quiz_reminder, before=self.before, now=now,
                                           school=self.school)
            + reminders.queue_digests(self.digest, at=self.digest_at, now=now, school=self.school)
            + reminders.queue_nudges(self.nudge, at=self.nudge_at, now=now, school=self.school)
            + material_notices.queue_due(self.material_news, now=now, school=self.school)
        )

    async def step(self, *, now: dt.datetime | None = None, force: bool = False) -> int:
        """Queue whatever is due (at most every ``CHECK_EVERY`` seconds unless forced); how many
        messages were queued. Claims and outbox rows are written in one transaction."""
        if not force and time.monotonic() - self._last < CHECK_EVERY:
            return 0
        self._last = time.monotonic()
        return await self.db.run(self._queue_all, now)
