"""Anonymous questions in process: asked, delivered without identity, answered in a thread.
Moved from the e2e tier: handler logic only."""

from __future__ import annotations

import pytest
from e2e import (
    MENTOR_ID,
    STUDENT_ID,
    button_data,
    inline_labels,
    keyboard_labels,
    make_school,
    plain,
)
from inproc import Chat

from studymate.db.models import Question
from studymate.services import questions


@pytest.fixture
def school(db, fake):
    make_school(fake)


async def ask(fake, text: str) -> tuple[Chat, int]:
    student = Chat(fake, STUDENT_ID)
    [prompt] = await student.send("❓ Задать вопрос")
    assert prompt["text"] == plain("write_question", "ru")
    assert keyboard_labels(prompt) == ["❌ Отмена"]
    after = student.last_bot_message_id()
    sent = await fake.send_text(STUDENT_ID, text)
    await student.replies(after)
    return student, sent["message_id"]


async def test_ask_reply_threaded_and_appended(school, fake, run_bot):
    await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    before = mentor.last_bot_message_id()
    student, question_message = await ask(fake, 'Is <div> a block element & "why"?')
    assert [m for m in fake.messages(STUDENT_ID) if m["outgoing"]][-1]["text"] == plain("question_sent", "ru")
    [notice] = await mentor.replies(before)
    assert notice["text"] == plain("anonymous_question", "ru", text='Is <div> a block element & "why"?')
    assert "Student0" not in notice["text"] and "s0" not in notice["text"] and str(STUDENT_ID) not in str(notice)
    question = Question.get()
    assert (question.student_telegram_id, question.message_id, question.is_answered) == (STUDENT_ID, question_message, False)

    for reply in ("В пятницу <b>&</b>", "В 10:00"):
        after = mentor.last_bot_message_id()
        await mentor.click(notice["message_id"], button_data(notice, "Ответить"))
        [prompt] = await mentor.replies(after)
        assert 'Is <div> a block element & "why"?' in prompt["text"]
        student_after = student.last_bot_message_id()
        [done] = await mentor.send(reply)
        assert done["text"] == plain("reply_sent", "ru")
        [answer] = await student.replies(student_after)
        assert answer["text"] == plain("mentor_reply", "ru", text=reply)
        assert answer["reply_to_message_id"] == question_message
    question = Question.get()
    assert question.reply_text == "В пятницу <b>&</b>\n\n---\n\nВ 10:00"
    assert question.is_answered and question.replied_at is not None


async def test_undeliverable_reply_is_saved(school, fake, run_bot):
    await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    before = mentor.last_bot_message_id()
    await ask(fake, "Когда экзамен?")
    [notice] = await mentor.replies(before)
    fake.set_blocked(STUDENT_ID, True)
    after = mentor.last_bot_message_id()
    await mentor.click(notice["message_id"], button_data(notice, "Ответить"))
    await mentor.replies(after)
    [done] = await mentor.send("В пятницу")
    assert done["text"] == plain("reply_saved_not_sent", "ru")
    assert Question.get().reply_text == "В пятницу"


async def test_question_to_unreachable_mentor_is_kept_and_delivered_later(school, fake, run_bot):
    await run_bot()
    fake.set_blocked(MENTOR_ID, True)  # the mentor has not started the bot yet
    student, _ = await ask(fake, "Можно пересдать?")
    assert [m for m in fake.messages(STUDENT_ID) if m["outgoing"]][-1]["text"] == plain(
        "question_received_pending", "ru"
    )
    assert Question.get().delivered_at is None
    fake.set_blocked(MENTOR_ID, False)
    mentor = Chat(fake, MENTOR_ID)
    replies = await mentor.send("/start", expect=3)
    texts = [m["text"] for m in replies]
    assert plain("anonymous_question", "ru", text="Можно пересдать?") in texts
    assert plain("pending_questions_delivered", "ru", count=1) in texts
    assert Question.get().delivered_at is not None


async def test_non_text_question_gets_a_prompt_and_state_is_kept(school, fake, run_bot):
    await run_bot()
    student = Chat(fake, STUDENT_ID)
    await student.send("❓ Задать вопрос")
    after = student.last_bot_message_id()
    await fake.send(STUDENT_ID, document={"file_name": "q.pdf", "content_base64": "eA=="})
    [prompt] = await student.replies(after)
    assert prompt["text"] == plain("not_text_prompt", "ru")
    [ok] = await student.send("Text after all")
    assert ok["text"] in (plain("question_sent", "ru"), plain("question_received_pending", "ru"))
    assert Question.select().count() == 1


async def test_menu_button_in_question_state_is_not_sent_as_question(school, fake, run_bot):
    await run_bot()
    student = Chat(fake, STUDENT_ID)
    await student.send("❓ Задать вопрос")
    await student.send("📚 Материалы")
    assert Question.select().count() == 0


async def test_mentor_list_of_unanswered_with_reply_buttons(school, fake, run_bot):
    for n in range(12):
        delivery = questions.ask(STUDENT_ID, f"Question {n} " + "x" * 120, 100 + n)
        questions.mark_delivered(delivery.question_id)
    await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    [listing] = await mentor.send("❓ Вопросы")
    assert listing["text"].startswith(plain("unanswered_questions", "ru", count=12))
    assert "1. Question 11 " in listing["text"] and ("x" * 80 + "...") in listing["text"]
    labels = inline_labels(listing)
    assert labels[:3] == [plain("btn_reply_to", "ru", num=1), plain("btn_dismiss_to", "ru", num=1),
                          plain("btn_reply_to", "ru", num=2)]
    assert labels[-2:] == ["1/2", "▶️"]
    after = mentor.last_bot_message_id()
    await mentor.click(listing["message_id"], button_data(listing, plain("btn_reply_to", "ru", num=1)))
    [prompt] = await mentor.replies(after)
    assert "Question 11" in prompt["text"]
    await mentor.send("Answer")
    assert Question.get(Question.text.startswith("Question 11")).reply_text == "Answer"


async def test_crafted_reply_to_another_mentors_question_is_refused(school, fake, run_bot):
    from studymate.bot.features.questions.callbacks import QuestionCb, Questions
    from studymate.services import enrollment, mentors
    from studymate.services.enrollment import TelegramProfile

    mentors.add_mentor(telegram_id=1002, name="Bob", group_chat_id=-2, language="ru")
    enrollment.enroll(TelegramProfile(3003, None, "Other", ""), mentor_id=2, language="ru")
    foreign = questions.ask(3003, "Bob's secret question", 5)
    await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    [menu] = await mentor.send("/start")
    data = QuestionCb(action=Questions.REPLY, question=foreign.question_id).pack()
    answer = await mentor.click(menu["message_id"], data)
    assert answer["show_alert"] and answer["text"] == plain("callback_not_allowed", "ru")
