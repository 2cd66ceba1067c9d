"""Quiz authoring in process: duplicates, publish modes, the typed start time, question
management, crafted buttons. Moved from the e2e tier;
the upload errors and the CSV export stay there."""

from __future__ import annotations

import datetime as dt

import pytest
from e2e import (
    ADMIN_ID,
    MENTOR_ID,
    STUDENT_ID,
    button_data,
    inline_labels,
    keyboard_labels,
    make_school,
    plain,
)
from inproc import Chat
from test_e2e_quiz_authoring import (  # the same steps in both tiers
    EXAMPLE,
    PNG,
    TZ,
    current,
    finish,
    local,
    press,
    publish_flow,
    ru,
    upload,
)

from studymate.bot.features.quiz.authoring_callbacks import (
    Draft,
    DraftCb,
    QuizAction,
    QuizCb,
    QuizQuestionAction,
    QuizQuestionCb,
)
from studymate.db.models import Quiz, QuizAttempt, QuizQuestion, Student, utcnow
from studymate.services import mentors
from studymate.services.quiz import authoring as quizzes
from studymate.services.quiz.authoring import SaveMode
from studymate.services.quiz.format import parse_quiz
from studymate.services.quiz.questions import Field


@pytest.fixture
def school(db, fake):
    make_school(fake, students=2)


async def test_duplicate_copy_then_replace_with_ranked_start_now(school, fake, run_bot):
    Student.update(language="kaa").where(Student.telegram_id == STUDENT_ID + 1).execute()
    old = quizzes.publish(1, parse_quiz(EXAMPLE, file_name="a.txt"), mode=SaveMode.NEW, ranked=False).quiz
    quizzes.publish(1, parse_quiz(EXAMPLE, file_name="a.txt"), mode=SaveMode.COPY, ranked=False,
                    copy_word="копия")
    bot = await run_bot()
    mentor = Chat(fake, MENTOR_ID)

    # "Python basics" and "Python basics (копия)" exist → "(копия 2)", the suffix in the
    # mentor's language.
    preview = await upload(mentor, fake, EXAMPLE, "basics.txt")
    assert preview["text"].startswith(plain("quiz_duplicate_found", title="Python basics"))
    # the topic line gives title and topic; three questions, the first shown.
    intro = plain("quiz_preview", title="Python basics", topic="Python basics", count=3, preview="").rstrip()
    assert intro in preview["text"] and "A) func\nB) def\nC) lambda\nD) define" in preview["text"]
    assert inline_labels(preview) == [
        ru("btn_view_all_questions"), ru("btn_quiz_settings"), ru("btn_replace_quiz"), ru("btn_copy_quiz"), ru("btn_cancel_quiz")]
    modes = await press(mentor, fake, preview, ru("btn_copy_quiz"))
    done, _ = await finish(mentor, fake, modes, ru("btn_publish_practice"))
    assert done["text"] == plain("quiz_published_practice", title="Python basics (копия 2)")

    # Replace, as a ranked quiz that starts now; students are told.
    preview = await upload(mentor, fake, EXAMPLE, "basics.txt")
    start = await publish_flow(mentor, fake, preview, ru("btn_replace_quiz"), ru("btn_publish_ranked"))
    assert start["text"] == plain("choose_ranked_start")
    done, _ = await finish(mentor, fake, start, ru("btn_start_now"))
    new = Quiz.select().where(Quiz.quiz_type == "ranked").get()
    assert (new.title, new.is_active, new.max_attempts) == ("Python basics", True, 1)
    assert new.available_until - new.available_from == dt.timedelta(hours=48)
    assert new.notified_at is not None and abs(new.available_from - utcnow()) < dt.timedelta(seconds=30)
    assert not Quiz.get_by_id(old.id).is_active
    assert Quiz.select().where(Quiz.is_active).count() == 3  # (копия), (копия 2) and the new one
    window = {"start": local(new.available_from), "end": local(new.available_until)}
    assert done["text"] == (
        plain("quiz_scheduled", title="Python basics", **window) + "\n\n" + plain("quiz_students_notified", count=2))
    await bot.drain_outbox()  # the notices go through the outbox
    for user_id, lang in ((STUDENT_ID, "ru"), (STUDENT_ID + 1, "kaa")):
        [notice] = await Chat(fake, user_id).replies(0)
        assert notice["text"] == plain("new_ranked_quiz_notification", lang, title="Python basics", **window)


async def test_scheduled_ranked_start_validates_the_typed_time(school, fake, run_bot):
    await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    preview = await upload(mentor, fake, EXAMPLE, "basics.txt")
    start = await publish_flow(mentor, fake, preview, ru("btn_save_quiz"), ru("btn_publish_ranked"))
    asking = await press(mentor, fake, start, ru("btn_schedule_start"))
    assert asking["text"] == plain("enter_ranked_start_time")
    now_local = dt.datetime.now(TZ)
    past = (now_local - dt.timedelta(hours=1)).strftime("%d.%m %H:%M")
    for typed in ("31.02 10:00", "tomorrow", past):
        [refused] = await mentor.send(typed)
        assert refused["text"] == plain("invalid_datetime_format")
    after = mentor.last_bot_message_id()
    await fake.send_photo(MENTOR_ID, PNG)
    [prompt] = await mentor.replies(after)
    assert prompt["text"] == plain("not_text_prompt")
    assert Quiz.select().count() == 0

    typed = (now_local + dt.timedelta(days=2)).replace(second=0, microsecond=0)
    scheduled, ready = await mentor.send(typed.strftime("%d.%m %H:%M"), expect=2)
    quiz = Quiz.get()
    assert quiz.available_from == typed.astimezone(dt.UTC).replace(tzinfo=None)
    assert quiz.available_until - quiz.available_from == dt.timedelta(hours=48)
    assert quiz.notified_at is None  # the sweeper announces it when it opens
    window = {"start": local(quiz.available_from), "end": local(quiz.available_until)}
    assert scheduled["text"] == (
        plain("quiz_scheduled", title="Python basics", **window) + "\n\n" + plain("quiz_students_notified_later"))
    assert ready["text"] == plain("quiz_ready_actions")
    # No generic error after the success (v1 sent one), and no alert to the admins.
    assert mentor.last_bot_message_id() == ready["message_id"]
    assert not fake.messages(ADMIN_ID) and not fake.messages(STUDENT_ID)


async def test_question_management(school, fake, run_bot):
    six = "".join(f"{n}. A rather long question number {n} that does not fit a button\nA*) a\nB) b\nC) c\nD) d\n"
                  for n in range(1, 7))
    quiz = quizzes.publish(1, parse_quiz(six, file_name="six.txt"), mode=SaveMode.NEW, ranked=False).quiz
    await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    [menu] = await mentor.send("📝 Квизы")
    listing = await press(mentor, fake, menu, ru("btn_active_quizzes"))
    screen = await press(mentor, fake, listing, "six")
    questions = await press(mentor, fake, screen, ru("btn_manage_questions"))
    assert questions["text"] == plain("quiz_questions_title", title="six", count=6)
    labels = inline_labels(questions)
    assert labels[0] == "1. A rather long question number 1 that doe..."
    assert labels[5:] == ["1/2", "▶️", ru("btn_add_question"), ru("btn_back_quiz")]
    page2 = await press(mentor, fake, questions, "▶️")
    assert inline_labels(page2)[0].startswith("6. ")

    # Adding: non-text and duplicate options get a prompt, the letter is checked.
    after = mentor.last_bot_message_id()
    await mentor.click(page2["message_id"], button_data(page2, ru("btn_add_question")))
    [ask] = await mentor.replies(after)
    assert ask["text"] == plain("enter_question_text") and keyboard_labels(ask) == [ru("btn_cancel")]
    after = mentor.last_bot_message_id()
    await fake.send_photo(MENTOR_ID, PNG)
    assert (await mentor.replies(after))[0]["text"] == plain("not_text_prompt")
    for typed, expected in (
        ("What does print(2**3) show?", plain("enter_option_a")),
        ("6", plain("enter_option_b")),
        ("8", plain("enter_option_c")),
        ("9", plain("enter_option_d")),
        (" 8 ", plain("question_input_duplicate", other="B")),
        ("10", plain("enter_correct_option")),
        ("e", plain("invalid_correct_option")),
    ):
        [reply] = await mentor.send(typed)
        assert reply["text"] == expected
    added, back = await mentor.send("c", expect=2)
    assert added["text"] == plain("question_added") and ru("btn_quizzes") in keyboard_labels(added)
    # Back to the question list, on the page with the new question: no dead end.
    assert back["text"] == plain("quiz_questions_title", title="six", count=7)
    assert "7. What does print(2**3) show?" in inline_labels(back)
    new = QuizQuestion.select().where(QuizQuestion.quiz == quiz.id).order_by(QuizQuestion.order.desc()).get()
    assert (new.order, new.correct_answer, new.option_d) == (7, "C", "10")

    # A menu button always wins over a form: it is not taken as the question text.
    after = mentor.last_bot_message_id()
    await mentor.click(page2["message_id"], button_data(page2, ru("btn_add_question")))
    await mentor.replies(after)
    note, menu = await mentor.send("📝 Квизы", expect=2)
    assert ru("btn_quizzes") in keyboard_labels(note)  # the ❌ keyboard does not stay
    assert menu["text"] == plain("quiz_management_header")
    [hint] = await mentor.send("Some text")
    assert hint["text"] == plain("unknown_input_hint")
    assert QuizQuestion.select().where(QuizQuestion.quiz == quiz.id).count() == 7

    # Edit the correct answer; the refreshed detail shows it.
    questions = await press(mentor, fake, page2, "◀️")
    detail = await press(mentor, fake, questions, "1. ")
    fields = await press(mentor, fake, detail, ru("btn_edit_question"))
    after = mentor.last_bot_message_id()
    await mentor.click(fields["message_id"], button_data(fields, ru("btn_edit_correct")))
    assert (await mentor.replies(after))[0]["text"] == plain("enter_correct_option")
    [refused] = await mentor.send("x")
    assert refused["text"] == plain("invalid_correct_option")
    updated, detail = await mentor.send("b", expect=2)
    assert updated["text"] == plain("question_updated")
    assert detail["text"].split("\n\n")[-2].endswith("B") and QuizQuestion.get(QuizQuestion.order == 1).correct_answer == "B"

    # Delete with confirmation; the list comes back one shorter.
    confirm = await press(mentor, fake, detail, ru("btn_delete_question"))
    assert confirm["text"] == plain("confirm_delete_question", text="A rather long question number 1 that does not fit a button")
    answer = await mentor.click(confirm["message_id"], button_data(confirm, ru("btn_yes_delete")))
    assert answer["text"] == plain("question_deleted")
    assert current(fake, confirm["message_id"])["text"] == plain("quiz_questions_title", title="six", count=6)
    orders = [q.order for q in QuizQuestion.select().where(QuizQuestion.quiz == quiz.id).order_by(QuizQuestion.order)]
    assert orders == [1, 2, 3, 4, 5, 6]


async def test_buttons_for_another_mentors_quiz_or_an_old_upload_change_nothing(school, fake, run_bot):
    mentors.add_mentor(telegram_id=1002, name="Bob", group_chat_id=-2, language="ru")
    foreign = quizzes.publish(2, parse_quiz(EXAMPLE, file_name="x.txt"), mode=SaveMode.NEW, ranked=False).quiz
    own = quizzes.publish(1, parse_quiz(EXAMPLE, file_name="x.txt"), mode=SaveMode.NEW, ranked=False).quiz
    bob = Student.create(telegram_id=3001, mentor=2, first_name="Боб")
    QuizAttempt.create(student=bob, quiz=foreign.id, score=1, total=3, finished_at=utcnow())
    question = QuizQuestion.select().where(QuizQuestion.quiz == foreign.id).first()
    await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    [menu] = await mentor.send("/start")
    crafted = [
        QuizCb(action=QuizAction.ARCHIVE, quiz=foreign.id),
        QuizCb(action=QuizAction.EXPORT, quiz=foreign.id),
        QuizCb(action=QuizAction.SHOW, quiz=foreign.id),
        QuizQuestionCb(action=QuizQuestionAction.DELETE, quiz=foreign.id, question=question.id),
        QuizQuestionCb(action=QuizQuestionAction.DELETE, quiz=own.id, question=question.id),
        QuizQuestionCb(action=QuizQuestionAction.FIELD, quiz=foreign.id, question=question.id, field=Field.TEXT),
        QuizQuestionCb(action=QuizQuestionAction.ADD, quiz=foreign.id),
        DraftCb(action=Draft.SAVE, draft="deadbeef"),
    ]
    for data in crafted:
        answer = await mentor.click(menu["message_id"], data.pack())
        assert answer["show_alert"] and answer["text"] == plain("callback_not_allowed"), data
    assert Quiz.get_by_id(foreign.id).is_active
    assert QuizQuestion.select().where(QuizQuestion.quiz == foreign.id).count() == 3
    assert not [c for c in fake.calls("sendDocument")]
    [reply] = await mentor.send("New text")  # no form was started by the crafted buttons
    assert reply["text"] == plain("unknown_input_hint")
