"""Refusals are polite and in the user's language: crafted buttons with ids no database can hold,
another mentor's objects, buttons of answers that are not the user's."""

from __future__ import annotations

import pytest
from e2e import ADMIN_ID, MENTOR_ID, STUDENT_ID, Chat, make_school, plain

from studymate.bot.features.materials.callbacks import Materials, MaterialsCb
from studymate.bot.features.questions.callbacks import QuestionCb, Questions
from studymate.bot.features.quiz.callbacks import AnswerCb, Take, TakeCb
from studymate.db.models import Mentor
from studymate.services import enrollment, mentors, questions
from studymate.services.enrollment import TelegramProfile

pytestmark = pytest.mark.e2e

HUGE = (2**63, 2**64 + 5, -(2**63) - 1)


@pytest.fixture
def english_school(db, fake):
    make_school(fake, lang="en")
    Mentor.update(language="en").where(Mentor.telegram_id == MENTOR_ID).execute()


PLACE = 777_000_777  # stands for the id in a packed button, then replaced


def beyond(data, n: int) -> str:
    """The button ``data`` with its id replaced by ``n`` (which it would refuse to pack)."""
    packed = data.pack()
    assert packed.count(str(PLACE)) == 1
    return packed.replace(str(PLACE), str(n))


def raw(prefix: str, *parts: object) -> str:
    return ":".join([prefix, *(str(p) for p in parts)])


async def test_ids_beyond_64_bits_are_refused_politely_in_english(english_school, fake, run_bot):
    await run_bot()
    student = Chat(fake, STUDENT_ID)
    [menu] = await student.send("/start")
    refusal = plain("callback_not_allowed", "en")
    for n in HUGE:
        for data in (
            beyond(TakeCb(action=Take.START, quiz=PLACE), n),
            beyond(TakeCb(action=Take.REVIEW, attempt=PLACE), n),
            beyond(AnswerCb(attempt=PLACE, question=1, letter="A"), n),
            beyond(AnswerCb(attempt=1, question=PLACE, letter="A"), n),
        ):
            answer = await student.click(menu["message_id"], data)
            assert answer["show_alert"] and answer["text"] == refusal, data
    mentor = Chat(fake, MENTOR_ID)
    [menu] = await mentor.send("/start")
    for n in HUGE:
        for data in (
            beyond(QuestionCb(action=Questions.REPLY, question=PLACE), n),
            beyond(MaterialsCb(action=Materials.TOPIC, topic=PLACE), n),
        ):
            answer = await mentor.click(menu["message_id"], data)
            assert answer["show_alert"] and answer["text"] == refusal, data
    assert not [m for m in fake.messages(ADMIN_ID) if m["outgoing"]]  # no admin alert


async def test_another_mentors_object_is_refused_in_the_users_language(english_school, fake, run_bot):
    mentors.add_mentor(telegram_id=1002, name="Bob", group_chat_id=-2, language="ru")
    enrollment.enroll(TelegramProfile(3003, None, "Other", ""), mentor_id=2, language="ru")
    foreign = questions.ask(3003, "Bob's question", 5)
    await run_bot()
    mentor = Chat(fake, MENTOR_ID)
    [menu] = await mentor.send("/start")
    answer = await mentor.click(menu["message_id"], QuestionCb(action=Questions.REPLY, question=foreign.question_id).pack())
    assert answer["show_alert"] and answer["text"] == plain("callback_not_allowed", "en")


async def test_a_malformed_answer_button_is_refused_in_the_users_language(english_school, fake, run_bot):
    await run_bot()
    student = Chat(fake, STUDENT_ID)
    [menu] = await student.send("/start")
    for data in (raw(AnswerCb.__prefix__, "x", "1", "A"), raw(AnswerCb.__prefix__, "1")):
        answer = await student.click(menu["message_id"], data)
        assert answer["show_alert"] and answer["text"] == plain("callback_not_allowed", "en"), data
