"""Mentor: a quiz's per-question statistics, as pages of text and as a bar chart photo.

The chart is drawn by ``services.quiz.chart`` with the standard library only (the bot keeps
no imaging library resident), in a worker thread so a 200-question chart does not hold up
other updates.
"""

from __future__ import annotations

import asyncio
import html
import logging
from typing import Final

from aiogram import F, Router
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup

from studymate.bot.features.quiz.authoring_callbacks import QuizAction, QuizCb
from studymate.bot.features.quiz.authoring_views import edit
from studymate.bot.features.quiz.stats_callbacks import QuizStatsAction, QuizStatsCb
from studymate.bot.filters import IsMentor
from studymate.bot.keyboards import button, list_keyboard
from studymate.bot.limits import shorten
from studymate.db.connection import Db
from studymate.i18n import Html, t
from studymate.services.enrollment import Identity
from studymate.services.quiz import chart
from studymate.services.quiz.question_stats import QuestionStat, QuizQuestionStats, question_stats
from studymate.services.quiz.rendering import question_plain

logger = logging.getLogger(__name__)
router = Router(name="quiz_stats")
router.callback_query.filter(IsMentor())

PAGE_SIZE: Final = 8  # questions a page: 8 × ~300 characters stays far below 4,096
QUESTION_CHARS: Final = 60
OPTION_CHARS: Final = 40


def _item(q: QuestionStat) -> str:
    text = Html(html.escape(shorten(question_plain(q.text), QUESTION_CHARS), quote=False))
    if not q.seen:
        return t("qstats_item_unseen", num=q.number, text=text)
    line = t("qstats_item", num=q.number, text=text, percent=q.percent, correct=q.correct,
             seen=q.seen, answer=q.correct_key)
    if q.top_wrong is not None:
        key, count = q.top_wrong
        line += "\n" + t("qstats_top_wrong", answer=key, option=shorten(q.top_wrong_text, OPTION_CHARS),
                         count=count)
    if q.no_answer:
        line += "\n" + t("qstats_no_answer", count=q.no_answer)
    return line


def stats_page(stats: QuizQuestionStats, origin: QuizStatsCb) -> tuple[str, InlineKeyboardMarkup]:
    questions = stats.questions
    pages = max(1, -(-len(questions) // PAGE_SIZE)) if stats.attempts else 1
    page = min(max(origin.page, 0), pages - 1)
    head = [t("qstats_title", title=stats.quiz.title, attempts=stats.attempts)]
    worst = stats.most_missed
    if worst is not None:
        head.append(t("qstats_most_missed", num=worst.number, percent=worst.percent))
    if pages > 1:
        head.append(t("qstats_page", page=page + 1, total=pages))
    chunk = questions[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    body = "\n\n".join(_item(q) for q in chunk) if stats.attempts else t("qstats_empty")
    text = "\n".join(head) + "\n\n" + body

    def go(action: QuizStatsAction, to: int = page) -> QuizStatsCb:
        return origin.model_copy(update={"action": action, "page": to})

    back = QuizCb(action=QuizAction.SHOW, quiz=stats.quiz.id, archived=origin.archived,
                  page=origin.list_page)
    footer = [[button(t("btn_back_quiz"), back)]]
    if stats.attempts:
        footer.insert(0, [button(t("btn_quiz_chart"), go(QuizStatsAction.CHART))])
    markup = list_keyboard([], page=page, pages=pages, make_page=lambda p: go(QuizStatsAction.PAGE, p),
                           footer=footer)
    return text, markup


def chart_bars(stats: QuizQuestionStats) -> list[chart.Bar]:
    worst = stats.most_missed
    return [
        chart.Bar(q.number, q.correct, q.seen, worst=worst is not None and q.id == worst.id)
        for q in stats.questions
    ]


@router.callback_query(QuizStatsCb.filter(F.action == QuizStatsAction.PAGE))
async def page(callback: CallbackQuery, callback_data: QuizStatsCb, identity: Identity, db: Db) -> None:
    stats = await db.run(question_stats, identity.mentor_id, callback_data.quiz)
    text, markup = stats_page(stats, callback_data)
    await edit(callback, text, markup)
    await callback.answer()


@router.callback_query(QuizStatsCb.filter(F.action == QuizStatsAction.CHART))
async def picture(callback: CallbackQuery, callback_data: QuizStatsCb, identity: Identity, db: Db) -> None:
    stats = await db.run(question_stats, identity.mentor_id, callback_data.quiz)
    if not stats.attempts:
        await callback.answer(t("qstats_empty"))
        return
    await callback.answer()
    png = await asyncio.to_thread(chart.bar_chart_png, chart_bars(stats))
    caption = t("qstats_chart_caption", title=shorten(stats.quiz.title, 200), attempts=stats.attempts)
    photo = BufferedInputFile(png, filename=f"quiz_{stats.quiz.id}_questions.png")
    await callback.message.answer_photo(photo, caption=caption)
    logger.info("mentor %s chart of quiz %s (%d questions)", identity.mentor_id, stats.quiz.id,
                len(stats.questions))
