"""A kill -9 in the first half second of 50 students asking for the quiz menu at once: the
restarted bot handles the leftovers and every student gets on to the quiz.

The "hang" seen after such kills was the test's own wait helper: once a replayed update showed
the menu a second time (a later message in the chat), ``until`` counted that message as a
change on every turn and spun without yielding, which froze the in-process fake Telegram
server, so the bot's calls went unanswered for the whole timeout."""

from __future__ import annotations

import asyncio
import random
import signal

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from e2e import STUDENT_ID, TOKEN, Chat, button_data, make_school
from test_e2e_durable_updates import until
from test_e2e_quiz_taking import make_quiz

pytestmark = pytest.mark.e2e
STUDENTS = 50


async def test_waiting_for_an_edit_while_a_later_message_exists_lets_the_server_answer(fake):
    """The wait helper yields to the fake server even when the chat has a newer message."""
    fake.add_user(STUDENT_ID, "Student")
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url)))
    try:
        menu = await bot.send_message(STUDENT_ID, "menu")
        await bot.send_message(STUDENT_ID, "menu again")  # what a replayed update shows

        async def edit_soon() -> None:
            await asyncio.sleep(0.2)
            await bot.edit_message_text("Exam list", chat_id=STUDENT_ID, message_id=menu.message_id)

        editing = asyncio.create_task(edit_soon())
        shown = await until(fake, STUDENT_ID, menu.message_id, "Exam", timeout=3)
        await editing
        assert shown["text"] == "Exam list"
    finally:
        await bot.session.close()


async def test_kill_in_the_first_half_second_every_student_reaches_the_quiz(db, fake, run_bot):
    make_school(fake, students=STUDENTS)
    make_quiz("Exam", 2, ranked=True, correct="BC")
    env = {"STUDYMATE_QUIZ_QUESTION_SECONDS": "300", "STUDYMATE_QUIZ_COUNTDOWN_SECONDS": "60"}
    bots = [await run_bot(**env)]
    reached: set[int] = set()

    async def take(n: int) -> None:
        user = STUDENT_ID + n
        [menu] = await Chat(fake, user).send("📝 Квизы", timeout=20)
        mid = menu["message_id"]
        await fake.click(user, mid, button_data(menu, "🏆"))
        listing = await until(fake, user, mid, "Exam", timeout=20)
        await fake.click(user, mid, button_data(listing, "Exam"))
        await until(fake, user, mid, "Question 1\n", timeout=20)
        reached.add(n)

    async def kill_early() -> None:
        await asyncio.sleep(random.uniform(0.0, 0.5))
        await bots[-1].stop(signal.SIGKILL)
        bots.append(await run_bot(**env))

    await asyncio.wait_for(asyncio.gather(kill_early(), *(take(n) for n in range(STUDENTS))), 25)
    assert len(reached) == STUDENTS
    assert bots[0].proc.returncode == -signal.SIGKILL
