"""A student's quiz lists, results, reviews and retakes through the real bot; old buttons and
other people's ids; an exam left while the bot was down; the countdown's pace."""

from __future__ import annotations

import datetime as dt
import math
import signal
import time
from zoneinfo import ZoneInfo

import pytest
from e2e import STUDENT_ID, Chat, button_data, inline_labels, make_school, plain
from test_e2e_quiz_taking import current, make_quiz, open_quiz, tap, wait_text

from studymate.bot.features.quiz.callbacks import Take, TakeCb
from studymate.db.models import (
    AllTimeRating,
    QuizAnswer,
    QuizAttempt,
    SeasonRating,
    utcnow,
)
from studymate.i18n import t

pytestmark = pytest.mark.e2e
TZ = ZoneInfo("Asia/Tashkent")


def ru(key: str, **params) -> str:
    return t(key, "ru", **params)


def local(moment: dt.datetime) -> str:
    return moment.replace(tzinfo=dt.UTC).astimezone(TZ).strftime("%d.%m %H:%M")


async def press(chat: Chat, fake, message: dict, label: str) -> dict:
    """Press the button whose label contains ``label``; the message as it is afterwards."""
    await chat.click(message["message_id"], button_data(message, label))
    return current(fake, chat.user_id, message["message_id"])


async def quiz_list(chat: Chat, fake, icon: str) -> dict:
    [menu] = await chat.send("📝 Квизы")
    return await press(chat, fake, menu, icon)


def rating_rows() -> list[tuple]:
    season = [(r.student_id, r.total_ranked_quizzes, r.total_score, r.total_possible)
              for r in SeasonRating.select().order_by(SeasonRating.id)]
    alltime = [(r.student_id, r.total_ranked_quizzes, r.total_score, r.total_possible)
               for r in AllTimeRating.select().order_by(AllTimeRating.id)]
    return season + alltime


async def test_an_exam_abandoned_while_the_bot_was_down_is_finalised(db, fake, run_bot):
    """The bot was down for 16 minutes mid-exam."""
    make_school(fake)
    quiz = make_quiz("Exam", 3, ranked=True, correct="BCD")
    bot = await run_bot(STUDYMATE_QUIZ_QUESTION_SECONDS="60")
    chat = Chat(fake, STUDENT_ID)
    message = await open_quiz(fake, chat, "🏆", "Exam")
    mid = message["message_id"]
    await tap(fake, chat, message, "b1")
    await wait_text(fake, STUDENT_ID, mid, "Question 2")
    await bot.stop(signal.SIGKILL)
    past = utcnow() - dt.timedelta(minutes=16)
    QuizAttempt.update(question_deadline=past, session_deadline=past + dt.timedelta(minutes=3)).execute()

    await run_bot(STUDYMATE_QUIZ_QUESTION_SECONDS="60")
    told = plain("quiz_session_expired", score=1, total=3)
    done = await wait_text(fake, STUDENT_ID, mid, told.split("\n")[0])
    assert done["text"] == told and inline_labels(done) == [t("btn_back_to_list", "ru")]  # an exam: the score only
    attempt = QuizAttempt.get()
    assert (attempt.score, attempt.total, attempt.finish_reason) == (1, 3, "expired")
    assert QuizAnswer.select().count() == 1  # unanswered questions are simply wrong
    assert SeasonRating.get(SeasonRating.student == attempt.student_id).total_score == 1
    [free] = await chat.send("📚 Материалы")
    assert free["text"] == plain("no_materials_yet")
    again = await chat.click(mid, TakeCb(action=Take.START, quiz=quiz.id).pack())
    assert again["text"] == plain("quiz_max_attempts") and QuizAttempt.select().count() == 1


async def test_countdown_redraws_at_most_once_per_interval_and_tells_the_truth(db, fake, run_bot):
    """The countdown respects Telegram's limits and never shows more time than is left."""
    make_school(fake)
    make_quiz("Clock", 2)
    seconds, every = 7, 2.0
    await run_bot(STUDYMATE_QUIZ_QUESTION_SECONDS=str(seconds), STUDYMATE_QUIZ_COUNTDOWN_SECONDS=str(every))
    chat = Chat(fake, STUDENT_ID)
    message = await open_quiz(fake, chat, "📚", "Clock")
    mid = message["message_id"]
    await wait_text(fake, STUDENT_ID, mid, "Question 2", timeout=seconds + 10)
    # Question 1's deadline (server time) on the clock the fake server logs calls with.
    started = QuizAttempt.get().started_at.replace(tzinfo=dt.UTC).timestamp()
    deadline = started + seconds - (time.time() - time.monotonic())
    edits = [c for c in fake.calls("editMessageText")
             if c["params"].get("message_id") in (mid, str(mid)) and "Question 1\n" in c["params"]["text"]]
    assert f"⏱ {seconds} сек." in edits[0]["params"]["text"]  # drawn with its full time
    redraws = edits[1:]
    assert 1 <= len(redraws) <= math.ceil(seconds / every)
    times = [c["t"] for c in edits]
    assert all(b - a >= every - 0.3 for a, b in zip(times, times[1:], strict=False)), times
    for call in redraws:
        left = deadline - call["t"]  # what is really left when the message changes
        number = int(call["params"]["text"].rsplit("⏱ ", 1)[1].split()[0])
        assert left > 0 and left - 0.2 <= number <= left + 2, (number, left)
