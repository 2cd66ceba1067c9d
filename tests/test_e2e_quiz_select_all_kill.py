"""A select-all question survives a kill -9 of the bot between two toggles and the submit:
the toggle made before stays, the question's deadline does not move."""

from __future__ import annotations

import asyncio
import re
import signal

import pytest
from e2e import STUDENT_ID, Chat, make_school
from test_e2e_quiz_taking import current, open_quiz, wait_text

from studymate.db.models import QuizAnswer, QuizAttempt
from studymate.services.quiz import authoring
from studymate.services.quiz.authoring import SaveMode
from studymate.services.quiz.format import parse_quiz

pytestmark = pytest.mark.e2e
QUIZ = """Topic: Exam
1. Select every even number
A*) two
B) three
C*) four

2. 1 + 1?
A) 3
B*) 2
"""
SETTINGS = {"STUDYMATE_QUIZ_QUESTION_SECONDS": "40", "STUDYMATE_QUIZ_COUNTDOWN_SECONDS": "30"}


def letter_of(message: dict, option: str) -> str:
    """The displayed letter of ``option`` (an exam shuffles the options)."""
    found = re.search(rf"([A-H])\) {option}\b", message["text"])
    assert found, f"{option!r} not on {message['text']!r}"
    return found.group(1)


async def toggle(chat: Chat, message: dict, label: str) -> None:
    for row in message["reply_markup"]["inline_keyboard"]:
        for button in row:
            if label in button["text"].split():
                await chat.click(message["message_id"], button["callback_data"])
                return
    raise AssertionError(f"{label!r} not on {message['reply_markup']!r}")


async def wait_marked(fake, message_id: int, letter: str, timeout: float = 20.0) -> dict:
    """The question message once its button of ``letter`` shows ☑️."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        message = current(fake, STUDENT_ID, message_id)
        if f"☑️ {letter}" in labels(message):
            return message
        await asyncio.sleep(0.1)
    raise AssertionError(f"{letter} never marked; last: {labels(message)}")


def labels(message: dict) -> list[str]:
    return [b["text"] for row in (message["reply_markup"] or {}).get("inline_keyboard", []) for b in row]


async def test_select_all_toggles_and_deadline_survive_sigkill(db, fake, run_bot):
    make_school(fake)
    authoring.publish(1, parse_quiz(QUIZ, file_name="e.txt"), mode=SaveMode.NEW, ranked=True)
    bot = await run_bot(**SETTINGS)
    chat = Chat(fake, STUDENT_ID)
    question = await open_quiz(fake, chat, "🏆", "Exam")
    mid = question["message_id"]
    two, four = letter_of(question, "two"), letter_of(question, "four")
    await toggle(chat, question, two)
    question = await wait_marked(fake, mid, two)
    deadline = QuizAttempt.get().question_deadline

    await bot.stop(signal.SIGKILL)
    await asyncio.sleep(1)
    await run_bot(**SETTINGS)

    attempt = QuizAttempt.get()
    assert attempt.question_deadline == deadline and attempt.current_index == 0
    await toggle(chat, current(fake, STUDENT_ID, mid), four)
    question = await wait_marked(fake, mid, four)
    assert f"☑️ {two}" in labels(question)  # the toggle before the kill is still there
    assert QuizAttempt.get().question_deadline == deadline
    await toggle(chat, question, "✅")
    second = await wait_text(fake, STUDENT_ID, mid, "1 + 1?")
    await toggle(chat, second, letter_of(second, "2"))
    await wait_text(fake, STUDENT_ID, mid, "2/2")
    first = QuizAnswer.select().order_by(QuizAnswer.id).first()
    assert first.is_correct
