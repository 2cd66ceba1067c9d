"""A lost PostgreSQL connection heals (issue 16): after ``pg_terminate_backend`` on every bot
connection (what a PostgreSQL restart, a failover or a restore does), the next taps are
answered within seconds and every score comes out right.

PostgreSQL only: the module runs in the PostgreSQL pass (conftest's POSTGRES_ONLY).
"""

from __future__ import annotations

import asyncio
import time

import pytest
from e2e import MENTOR_ID, STUDENT_ID, Chat, make_school, plain
from test_e2e_quiz_taking import make_quiz, open_quiz, tap, wait_text

from studymate.db.models import QuizAttempt, database_proxy

pytestmark = pytest.mark.e2e

STUDENTS = 10
CORRECT = "BCDA"


def option(n: int, i: int) -> str:
    """Student n answers question i (0-based) right when n + i is even."""
    right = CORRECT[i]
    letter = right if (n + i) % 2 == 0 else ("A" if right != "A" else "B")
    return f"{letter.lower()}{i + 1}"


def terminate_bot_connections() -> int:
    """Every other backend on this database, as a restart would (ours stays for the checks)."""
    cursor = database_proxy.obj.execute_sql(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    return cursor.fetchone()[0]


async def test_terminated_connections_heal_within_seconds(db, fake, run_bot):
    make_school(fake, students=STUDENTS)
    make_quiz("Exam", len(CORRECT), ranked=True, correct=CORRECT)
    await run_bot(STUDYMATE_QUIZ_QUESTION_SECONDS="120")
    chats = [Chat(fake, STUDENT_ID + n) for n in range(STUDENTS)]

    async def first_question(n: int) -> dict:
        message = await open_quiz(fake, chats[n], "🏆", "Exam")
        await tap(fake, chats[n], message, option(n, 0))
        return await wait_text(fake, chats[n].user_id, message["message_id"], "Question 2\n")

    shown = await asyncio.gather(*(first_question(n) for n in range(STUDENTS)))
    killed = terminate_bot_connections()
    assert killed >= 1  # the bot's pool really had connections to lose
    killed_at = time.monotonic()

    # Every tap right after the kill is answered within 5 s, and the next /start too.
    answers = await asyncio.gather(
        *(tap(fake, chats[n], shown[n], option(n, 1)) for n in range(STUDENTS)),
        Chat(fake, MENTOR_ID).send("/start", timeout=5),
    )
    assert time.monotonic() - killed_at < 5
    *taps, [welcome] = answers
    assert all(not a["text"] for a in taps), taps  # accepted, not the error alert
    assert welcome["text"] == plain("welcome_mentor", "ru", name="Anna")

    async def finish(n: int) -> None:
        mid = shown[n]["message_id"]
        for i in range(2, len(CORRECT)):
            message = await wait_text(fake, chats[n].user_id, mid, f"Question {i + 1}\n", timeout=10)
            await tap(fake, chats[n], message, option(n, i))
        await wait_text(fake, chats[n].user_id, mid, f"/{len(CORRECT)}", timeout=10)

    await asyncio.gather(*(finish(n) for n in range(STUDENTS)))
    scores = {a.student.telegram_id - STUDENT_ID: a.score for a in QuizAttempt.select()}
    expected = {n: sum(1 for i in range(len(CORRECT)) if (n + i) % 2 == 0) for n in range(STUDENTS)}
    assert scores == expected
    assert all(a.finished_at is not None for a in QuizAttempt.select())
