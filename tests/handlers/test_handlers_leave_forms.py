"""Leaving a form through a main-menu button brings the menu keyboard back: the ❌ Cancel
keyboard of the form does not stay on screen."""

from __future__ import annotations

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

from studymate.bot.keyboards import mentor_menu, student_menu

CANCEL = ["❌ Отмена"]


def labels(markup) -> list[str]:
    return [button.text for row in markup.keyboard for button in row]


async def test_student_leaves_the_question_form_through_the_menu(db, fake, run_bot):
    make_school(fake)
    await run_bot()
    student = Chat(fake, STUDENT_ID)
    [prompt] = await student.send("❓ Задать вопрос")
    assert keyboard_labels(prompt) == CANCEL
    [board] = await student.send("🏆 Рейтинг")  # one answer, now with the menu keyboard
    assert keyboard_labels(board) == labels(student_menu("ru"))
    [again] = await student.send("🏆 Рейтинг")  # outside a form nothing changes
    assert again["text"] == board["text"] and not again.get("reply_markup")


async def test_mentor_leaves_a_message_form_through_an_inline_screen(db, fake, run_bot):
    make_school(fake)
    await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    [picker] = await mentor.send("✉️ Написать ученику")
    after = mentor.last_bot_message_id()
    await mentor.click(picker["message_id"], button_data(picker, "Student0"))
    [prompt] = await mentor.replies(after)
    assert keyboard_labels(prompt) == CANCEL
    note, menu = await mentor.send("📝 Квизы")
    assert note["text"] == plain("menu_restored") and keyboard_labels(note) == labels(mentor_menu("ru"))
    assert menu["text"] == plain("quiz_management_header") and inline_labels(menu)
    [menu_again] = await mentor.send("📝 Квизы")  # no note once out of the form
    assert menu_again["text"] == menu["text"]


async def test_leaving_the_broadcast_confirmation_restores_the_menu(db, fake, run_bot):
    make_school(fake, students=2)
    await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    [picker] = await mentor.send("✉️ Написать ученику")
    after = mentor.last_bot_message_id()
    await mentor.click(picker["message_id"], button_data(picker, "📢"))
    await mentor.replies(after)
    await mentor.send("Draft")
    [nothing] = await mentor.send("❓ Вопросы")  # no questions yet: a plain answer
    assert keyboard_labels(nothing) == labels(mentor_menu("ru"))
