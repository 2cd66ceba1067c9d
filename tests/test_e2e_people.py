"""People and languages, through the real bot and the fake server: the first screen speaks the
user's language, admins who are neither mentors nor students are first-class, and each refusal
says the right thing."""

from __future__ import annotations

import pytest
from e2e import (
    ADMIN_ID,
    GROUP_ID,
    MENTOR_ID,
    STUDENT_ID,
    TOKEN,
    Chat,
    bot_message,
    button_data,
    edited_to,
    keyboard_labels,
    make_school,
    plain,
)

from studymate.bot.limits import room_for
from studymate.db.models import Mentor, Question
from studymate.services import mentors

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(("telegram_lang", "lang"), [("en", "en"), ("kaa", "kaa"), ("qq", "kaa")])
async def test_first_screen_speaks_the_telegram_language(db, fake, run_bot, telegram_lang, lang):
    mentors.add_mentor(telegram_id=MENTOR_ID, name="Anna", group_chat_id=GROUP_ID, language="ru")
    fake.set_member(GROUP_ID, STUDENT_ID, "member")
    fake.add_user(STUDENT_ID, "Ali", language_code=telegram_lang)
    await run_bot()
    chat = Chat(fake, STUDENT_ID)
    [picker] = await chat.send("/start")
    assert picker["text"] == plain("choose_language_first", lang)


async def test_unknown_telegram_language_falls_back_to_the_default(db, fake, run_bot):
    fake.add_user(3005, "Hans", language_code="de")
    await run_bot(STUDYMATE_DEFAULT_LANGUAGE="en")
    [picker] = await Chat(fake, 3005).send("/start")
    assert picker["text"] == plain("choose_language_first", "en")


async def test_the_picker_is_edited_into_the_chosen_language(db, fake, run_bot):
    mentors.add_mentor(telegram_id=MENTOR_ID, name="Anna", group_chat_id=GROUP_ID, language="ru")
    fake.set_member(GROUP_ID, STUDENT_ID, "member")
    fake.add_user(STUDENT_ID, "Ali", language_code="ru")
    await run_bot()
    chat = Chat(fake, STUDENT_ID)
    [picker] = await chat.send("/start")
    after = chat.last_bot_message_id()
    await chat.click(picker["message_id"], button_data(picker, "English"))
    [welcome] = await chat.replies(after)
    assert welcome["text"] == plain("welcome_student", "en", name="Anna")
    edited = bot_message(fake, STUDENT_ID, picker["message_id"])
    assert edited["text"] == plain("language_chosen", "en", language="English")
    assert not (edited.get("reply_markup") or {}).get("inline_keyboard")
    # The 🌐 menu's picker too: it no longer reads in the old language after the choice.
    [again] = await chat.send(plain("btn_language", "en"))
    await chat.click(again["message_id"], button_data(again, "Qaraqalpaq"))
    chosen = plain("language_chosen", "kaa", language="Qaraqalpaq")
    edited = await edited_to(fake, STUDENT_ID, again["message_id"], chosen)
    assert edited["text"] == chosen


async def test_an_admin_who_is_no_mentor_gets_an_admin_welcome_in_their_language(db, fake, run_bot):
    fake.add_user(ADMIN_ID, "Admin", language_code="ru")
    await run_bot()
    chat = Chat(fake, ADMIN_ID)
    [picker] = await chat.send("/start")
    after = chat.last_bot_message_id()
    await chat.click(picker["message_id"], button_data(picker, "English"))
    [welcome] = await chat.replies(after)
    assert welcome["text"] == plain("welcome_admin", "en")  # not "only for group members"
    assert keyboard_labels(welcome) == [plain("btn_language", "en")]
    # The choice is kept: the next /start and /admin answer in English, no picker again.
    [again] = await chat.send("/start")
    assert again["text"] == plain("welcome_admin", "en")
    [help_] = await chat.send("/admin")
    assert help_["text"] == plain("admin_help", "en")


async def test_alerts_reach_an_admin_in_the_language_they_chose(db, fake, run_bot):
    mentors.add_mentor(telegram_id=MENTOR_ID, name="Anna", group_chat_id=GROUP_ID, language="ru")
    fake.add_user(MENTOR_ID, "Anna")
    fake.add_user(ADMIN_ID, "Admin", language_code="ru")
    await run_bot()
    admin = Chat(fake, ADMIN_ID)
    [picker] = await admin.send("/start")
    after = admin.last_bot_message_id()
    await admin.click(picker["message_id"], button_data(picker, "English"))
    await admin.replies(after)
    after = admin.last_bot_message_id()
    mentor = Chat(fake, MENTOR_ID)
    [menu_picker] = await mentor.send("🌐 Язык")
    fake.add_fault("answerCallbackQuery", 400, description="Bad Request: boom", times=1)
    await mentor.click(menu_picker["message_id"], button_data(menu_picker, "Русский"))
    [alert] = await admin.replies(after)
    english = plain("admin_alert_error", "en", user_id=MENTOR_ID, username="—",
                    error="TelegramBadRequest: x", update_type="CallbackQuery")
    assert alert["text"].split("\n")[0] == english.split("\n")[0]


BOT_ID = int(TOKEN.split(":")[0])


async def test_a_deactivated_mentor_and_their_students_are_told_so(db, fake, run_bot):
    make_school(fake, students=1)
    mentors.deactivate_mentor(MENTOR_ID)
    await run_bot()
    [student_start] = await Chat(fake, STUDENT_ID).send("/start")
    assert student_start["text"] == plain("mentor_inactive", "ru")
    [student_menu] = await Chat(fake, STUDENT_ID).send(plain("btn_quizzes", "ru"))
    assert student_menu["text"] == plain("mentor_inactive", "ru")
    [mentor_start] = await Chat(fake, MENTOR_ID).send("/start")
    assert mentor_start["text"] == plain("mentor_self_inactive", "ru")


async def test_addmentor_checks_the_bot_is_a_group_admin(db, fake, run_bot):
    await run_bot()
    fake.add_user(ADMIN_ID, "Admin")
    admin = Chat(fake, ADMIN_ID)
    fake.set_member(GROUP_ID, BOT_ID, "member")
    [refused] = await admin.send(f"/addmentor {MENTOR_ID} {GROUP_ID} Anna")
    assert refused["text"] == plain("admin_bot_not_admin", "ru", group_chat_id=GROUP_ID)
    assert Mentor.select().count() == 0
    fake.set_member(GROUP_ID, BOT_ID, "administrator")
    [added] = await admin.send(f"/addmentor {MENTOR_ID} {GROUP_ID} Anna")
    assert added["text"] == plain(
        "admin_mentor_added", "ru", name="Anna", telegram_id=MENTOR_ID, group_chat_id=GROUP_ID
    )


async def test_deactivate_asks_first_and_activate_brings_the_mentor_back(db, fake, run_bot):
    make_school(fake, students=2)
    await run_bot()
    admin = Chat(fake, ADMIN_ID)
    [ask] = await admin.send(f"/deactivate {MENTOR_ID}")
    assert ask["text"] == plain("admin_confirm_deactivate", "ru", name="Anna", students=2)
    await admin.click(ask["message_id"], button_data(ask, plain("btn_no_cancel", "ru")))
    kept = await edited_to(fake, ADMIN_ID, ask["message_id"], plain("admin_deactivate_cancelled", "ru"))
    assert kept["text"] == plain("admin_deactivate_cancelled", "ru")
    assert Mentor.get(Mentor.telegram_id == MENTOR_ID).is_active
    [ask] = await admin.send(f"/deactivate {MENTOR_ID}")
    await admin.click(ask["message_id"], button_data(ask, plain("btn_yes_deactivate", "ru")))
    done = plain("admin_mentor_deactivated", "ru", name="Anna")
    assert (await edited_to(fake, ADMIN_ID, ask["message_id"], done))["text"] == done
    assert not Mentor.get(Mentor.telegram_id == MENTOR_ID).is_active
    [back] = await admin.send(f"/activate {MENTOR_ID}")
    assert back["text"] == plain("admin_mentor_activated", "ru", name="Anna")
    [welcome] = await Chat(fake, STUDENT_ID).send("/start")
    assert welcome["text"] == plain("welcome_student", "ru", name="Anna")


async def test_a_question_too_long_to_pass_on_whole_is_refused_not_cut(db, fake, run_bot):
    make_school(fake, students=1)
    await run_bot()
    student = Chat(fake, STUDENT_ID)
    await student.send(plain("btn_ask_question", "ru"))
    long_text = "я" * 4090  # Telegram takes it from the student, but not with the heading around it
    [refused] = await student.send(long_text)
    room = room_for("anonymous_question", field="text")
    assert refused["text"] == plain("text_too_long", "ru", limit=room, length=4090)
    assert Question.select().count() == 0
    [sent] = await student.send("я" * room)  # still in the form: the shorter text is taken
    assert sent["text"] == plain("question_sent", "ru")
    [delivered] = [m for m in fake.messages(MENTOR_ID) if m["outgoing"]]
    assert delivered["text"].count("я") == room and "…" not in delivered["text"]


async def test_a_broadcast_too_long_for_its_heading_is_refused(db, fake, run_bot):
    make_school(fake, students=2)
    await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    [picker] = await mentor.send(plain("btn_message_students", "ru"))
    after = mentor.last_bot_message_id()
    await mentor.click(picker["message_id"], button_data(picker, "📢"))
    await mentor.replies(after)
    [refused] = await mentor.send("z" * 4096)
    room = room_for("mentor_message", field="text")
    assert refused["text"] == plain("text_too_long", "ru", limit=room, length=4096)
    [confirm] = await mentor.send("z" * 10)
    assert confirm["text"] == plain("broadcast_confirm", "ru", count=2)
