"""Taking quizzes in process: what is blocked during an exam, one ranked attempt, archived
quizzes. Moved from the e2e tier; timeouts, restarts and concurrent taps stay there."""

from __future__ import annotations

from e2e import STUDENT_ID, button_data, make_school, plain
from inproc import Chat
from test_e2e_quiz_taking import make_quiz, open_quiz, tap, wait_text

from studymate.db.models import QuizAttempt, utcnow

FAST = {"STUDYMATE_QUIZ_QUESTION_SECONDS": "3", "STUDYMATE_QUIZ_COUNTDOWN_SECONDS": "1"}


async def test_blocking_during_quizzes(db, fake, run_bot):
    make_school(fake)
    make_quiz("Practice", 3)
    make_quiz("Exam", 3, ranked=True)
    await run_bot(STUDYMATE_QUIZ_QUESTION_SECONDS="60")
    chat = Chat(fake, STUDENT_ID)
    [old_menu] = await chat.send("📝 Квизы")  # its buttons stay under the old message
    await open_quiz(fake, chat, "🏆", "Exam")
    for label in ("📚 Материалы", "🏆 Рейтинг"):
        [blocked] = await chat.send(label)
        assert blocked["text"] == plain("quiz_in_progress", "ru")
    alert = await chat.click(old_menu["message_id"], button_data(old_menu, "📚"))
    assert alert["show_alert"] and alert["text"] == plain("quiz_in_progress", "ru")
    for label in ("/cancel", "❌ Отмена"):  # an exam cannot be left
        [blocked] = await chat.send(label)
        assert blocked["text"] == plain("quiz_in_progress", "ru")
    QuizAttempt.update(finished_at=utcnow()).execute()  # end the exam
    await open_quiz(fake, chat, "📚", "Practice")
    [cancelled] = await chat.send("/cancel")
    assert cancelled["text"] == plain("cancelled", "ru")
    assert QuizAttempt.select().where(QuizAttempt.finished_at.is_null()).count() == 0
    [free] = await chat.send("📚 Материалы")
    assert free["text"] == plain("no_materials_yet", "ru")


async def test_ranked_once_and_archived_quiz_unavailable(db, fake, run_bot):
    make_school(fake)
    quiz = make_quiz("Exam", 1, ranked=True, correct="B")
    await run_bot()
    chat = Chat(fake, STUDENT_ID)
    q1 = await open_quiz(fake, chat, "🏆", "Exam")
    await tap(fake, chat, q1, "b1")
    result = plain("quiz_exam_mode_result", "ru", score=1, total=1)
    done = await wait_text(fake, STUDENT_ID, q1["message_id"], result.split("\n")[0])
    assert done["text"] == result  # the score only while the exam runs
    from studymate.bot.features.quiz.callbacks import Take, TakeCb

    again = await chat.click(q1["message_id"], TakeCb(action=Take.START, quiz=quiz.id).pack())
    assert again["text"] == plain("quiz_max_attempts", "ru")
    quiz.is_active = False
    quiz.save()
    archived = await chat.click(q1["message_id"], TakeCb(action=Take.START, quiz=quiz.id).pack())
    assert archived["text"] == plain("quiz_archived_unavailable", "ru")
