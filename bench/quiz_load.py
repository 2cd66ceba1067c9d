"""Benchmark: N students answering one quiz as fast as they can, through the real bot process.

    .venv/bin/python bench/quiz_load.py [--students 300] [--questions 20] [--database-url URL]
                                        [--redis-url URL] [--countdown SECONDS] [--think SECONDS]
                                        [--backend sqlite|postgres|both]
                                        [--kinds abcd|mixed|truefalse|multi|typed]
                                        [--profile DIR]

``--backend postgres`` creates an empty database on TEST_DATABASE_URL's server (dropped
afterwards) and keeps FSM state in Redis (``--redis-url``, default redis://127.0.0.1:6379/9,
flushed first); ``both`` runs SQLite and then PostgreSQL+Redis.

``--kinds mixed`` makes the quiz a round of single-choice A–D, true/false, select-all and
typed questions (in that order, over and over); a student taps the letter, taps True, marks
the two right options and presses ✅ Submit, or sends the typed answer as a message. The
press-to-next-question time of a select-all question counts from ✅ Submit; its marks are
presses too (for "answers lost"), not answers. ``--kinds truefalse``, ``multi`` or ``typed``
makes every question of that one kind, to see what each kind costs.

Each simulated student presses an answer as soon as the bot shows a question other than the one
they last pressed (a countdown redraw of the same question is not a new question). Prints
handled answers per second, p50/p99 time from the press to the bot's edit showing the next
question (or the result), the bot's CPU time per answer (steadier than the rates on a busy
machine: the students and the fake server share it) and its peak resident memory (VmHWM).

And whether every answer counted: "answers lost" are presses on the question on screen that
the bot refused (a toast instead of the next question), "students stuck" are students whose
screen showed no other question for 10 s after a press (or who never saw their result), and
"stale redraws" are edits that put an earlier question back over a later one (from the fake
server's call log). ``--countdown 1`` redraws every question message every second; ``--think 3``
lets each student read a question for a random 0–3 s first, so redraws meet answers often.

``--profile DIR`` samples the bot with py-spy (``pip install py-spy``) while the students answer,
writes the raw stacks to DIR and prints the functions where the bot spends its time (self time,
and time including callees, as shares of all samples).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

from studymate.db import migrate
from studymate.db.connection import open_database
from studymate.db.models import Quiz, QuizAnswer, QuizQuestion, utcnow
from studymate.ops.supervisor.memory import process_stats
from studymate.services import enrollment, mentors
from studymate.services.enrollment import TelegramProfile
from studymate.services.quiz.format import MULTI, SINGLE, TRUE_FALSE, TYPED, ParsedQuestion
from studymate.services.quiz.kinds import stored_fields
from studymate.testing.fake_telegram.server import FakeTelegram

TOKEN = "123456789:" + "Q" * 35
MENTOR, GROUP, FIRST = 1001, -100500, 200_000
STUCK_SECONDS = 10.0
# Every question's text names its position, so a question without buttons (typed) is known too.
MARK = re.compile(r"Load question (\d+)\.")
MIXED = (SINGLE, TRUE_FALSE, MULTI, TYPED)
TYPED_ANSWER = "42"


class Tally:
    """What went wrong for the students, counted as they go."""

    def __init__(self) -> None:
        self.lost = 0
        self.stuck = 0
        self.presses: list[str] = []  # callback query ids of answer presses
        self.typed = 0  # typed answers sent


def kind_at(position: int, kinds: str) -> str:
    """The kind of question ``position`` (1-based)."""
    if kinds in MIXED:
        return kinds
    return MIXED[(position - 1) % len(MIXED)] if kinds == "mixed" else SINGLE


def parsed(position: int, kind: str) -> ParsedQuestion:
    text = f"Load question {position}."
    if kind == TRUE_FALSE:
        return ParsedQuestion(position, 0, text, ("True", "False"), "A", 0, kind=kind)
    if kind == MULTI:
        return ParsedQuestion(position, 0, text, ("a", "b", "c", "d"), "AC", 0, kind=kind)
    if kind == TYPED:
        return ParsedQuestion(position, 0, text, (), "", 0, kind=kind, answers=(TYPED_ANSWER,))
    return ParsedQuestion(position, 0, text, ("a", "b", "c", "d"), "B", 0)


def seed(url: str, students: int, questions: int, kinds: str) -> None:
    database = open_database(url)
    migrate.apply(database)
    with database.connection_context(), database.atomic():
        mentors.add_mentor(telegram_id=MENTOR, name="Anna", group_chat_id=GROUP, language="en")
        add_load(enrollment.identify(MENTOR, ttl=0).mentor_id, students, questions, kinds)
    database.close()


def add_load(mentor_id: int, students: int, questions: int, kinds: str) -> None:
    """The students (enrolled with the mentor) and their quiz "Load", open now; inside a
    connection (bench/appliance_memory.py adds them to its own seed)."""
    for n in range(students):
        enrollment.enroll(TelegramProfile(FIRST + n, None, f"S{n}", ""), mentor_id=mentor_id, language="en")
    now = utcnow()
    quiz = Quiz.create(mentor=mentor_id, title="Load", quiz_type="ranked", max_attempts=1,
                       available_from=now - dt.timedelta(minutes=1),
                       available_until=now + dt.timedelta(hours=48), notified_at=now)
    for position in range(1, questions + 1):
        fields = stored_fields(parsed(position, kind_at(position, kinds)))
        QuizQuestion.create(quiz=quiz, order=position, **fields)


def button(message: dict, needle: str) -> str:
    for row in message["reply_markup"]["inline_keyboard"]:
        for b in row:
            if needle in b["text"]:
                return b["callback_data"]
    raise RuntimeError(f"no {needle!r}")


def message(fake: FakeTelegram, chat: int, message_id: int) -> dict:
    return next(m for m in fake.messages(chat) if m["message_id"] == message_id)


async def changed(fake: FakeTelegram, chat: int, message_id: int, seq: int) -> dict:
    while True:
        current = message(fake, chat, message_id)
        if current["seq"] > seq:
            return current
        await fake.wait(chat, message_id, timeout=5, since_seq=seq)


def shown_question(current: dict) -> int | None:
    """The position of the question a message shows (None for anything else: the result)."""
    found = MARK.search(current.get("text") or current.get("caption") or "")
    return int(found.group(1)) if found else None


async def until(fake: FakeTelegram, chat: int, message_id: int, done) -> dict | None:
    """Wait until the message satisfies ``done``; None when it did not within STUCK_SECONDS."""
    deadline = time.monotonic() + STUCK_SECONDS
    while True:
        current = message(fake, chat, message_id)
        if done(current):
            return current
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        # Changes after the newest one in the chat: the bot's reply to a typed answer is newer
        # than the question message and would otherwise end every wait at once (a busy loop
        # that never lets the in-process fake server take the bot's edit).
        everything = fake.messages(chat)
        await fake.wait(chat, max(m["message_id"] for m in everything), timeout=min(left, 5),
                        since_seq=max(m["seq"] for m in everything))


async def moved_on(fake: FakeTelegram, chat: int, message_id: int, pressed: int) -> dict | None:
    """Wait until the message shows something other than question ``pressed``; None when it
    did not within STUCK_SECONDS."""
    return await until(fake, chat, message_id, lambda current: shown_question(current) != pressed)


async def answer(fake: FakeTelegram, chat: int, mid: int, current: dict, kind: str,
                 tally: Tally) -> float | None:
    """Answer the question on screen the way its kind asks; returns when the answer went (a
    select-all question's ✅ Submit), None when a mark never showed."""
    if kind == TYPED:
        pressed = time.monotonic()
        await fake.send_text(chat, TYPED_ANSWER)
        tally.typed += 1
        return pressed
    if kind == MULTI:
        for letter in "AC":
            click = await fake.click(chat, mid, button(current, f"⬜ {letter}"))
            tally.presses.append(click["callback_query_id"])
            marked = await until(fake, chat, mid, lambda m, letter=letter: f"☑️ {letter}" in buttons(m))
            if marked is None:
                return None
            current = marked
        needle = "Submit"
    else:
        needle = "True" if kind == TRUE_FALSE else "B"
    pressed = time.monotonic()
    click = await fake.click(chat, mid, button(current, needle))
    tally.presses.append(click["callback_query_id"])
    return pressed


def buttons(current: dict) -> list[str]:
    return [b["text"] for row in (current.get("reply_markup") or {}).get("inline_keyboard", []) for b in row]


async def student(fake: FakeTelegram, n: int, latencies: list[float], tally: Tally, think: float,
                  kinds: str) -> None:
    rng = random.Random(n)
    chat = FIRST + n
    sent = await fake.send_text(chat, "📝 Quizzes")
    while not [m for m in fake.messages(chat) if m["outgoing"]]:
        await fake.wait(chat, sent["message_id"], timeout=5)
    menu = [m for m in fake.messages(chat) if m["outgoing"]][-1]
    mid = menu["message_id"]
    await fake.click(chat, mid, button(menu, "Ranked"))
    listing = await changed(fake, chat, mid, menu["seq"])
    await fake.click(chat, mid, button(listing, "Load"))
    current = await changed(fake, chat, mid, listing["seq"])
    while (question := shown_question(current)) is not None:
        if think:
            await asyncio.sleep(rng.uniform(0, think))
            current = message(fake, chat, mid)  # what is on screen now
            if (question := shown_question(current)) is None:
                break
        pressed = await answer(fake, chat, mid, current, kind_at(question, kinds), tally)
        if pressed is None:
            tally.stuck += 1
            return
        following = await moved_on(fake, chat, mid, question)
        if following is None:
            tally.stuck += 1
            return
        current = following
        latencies.append(time.monotonic() - pressed)


def add_students(fake: FakeTelegram, students: int) -> None:
    """The students of :func:`add_load`, as Telegram users of the fake server."""
    for n in range(students):
        fake.add_user(FIRST + n, f"S{n}")


async def students_answer(fake: FakeTelegram, students: int, think: float = 0.0,
                          kinds: str = "abcd") -> tuple[list[float], Tally]:
    """Every student opens the quiz and answers it to the end, all at once; the times from a
    press to the next question, and what went wrong."""
    latencies: list[float] = []
    tally = Tally()
    await asyncio.gather(*(student(fake, n, latencies, tally, think, kinds) for n in range(students)))
    return latencies, tally


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process used so far (fields 14 and 15 of /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU time spent by every process on the machine so far (all cores, idle and I/O wait
    excluded): the bot, the database server, Redis, and this process's students and fake server."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    busy = sum(fields[:8]) - fields[3] - fields[4]  # user nice system idle iowait irq softirq steal
    return busy / os.sysconf("SC_CLK_TCK")


def cpu_by_program(bot: int) -> Counter[str]:
    """CPU seconds used so far by the bot, this process (the students and the fake server), the
    database server and Redis (all their processes, with the server's ended ones). Other
    programs come and go during a run (their CPU is in the machine's figure)."""
    groups: Counter[str] = Counter()
    for pid, stat in process_stats():
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat.rsplit(")", 1)[1].split()
        seconds = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        if pid == bot:
            groups["bot"] += seconds
        elif pid == os.getpid():
            groups["students+fake server"] += seconds
        elif name.startswith(("postgres", "postmaster")):
            # With its ended children's (backends, autovacuum workers), which the server reaped.
            groups["postgres"] += seconds + (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")
        elif name.startswith("redis"):
            groups["redis"] += seconds
    return groups


def peak_rss_mb(pid: int, field: str = "VmHWM") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def stale_redraws(fake: FakeTelegram) -> int:
    """Edits that showed an earlier question than an edit before them on the same message."""
    furthest: dict[tuple[int, int], int] = {}
    stale = 0
    for call in fake.calls("editMessageText"):
        params = call["params"]
        markup = params.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        question = shown_question({"text": params.get("text")})
        key = (int(params["chat_id"]), int(params["message_id"]))
        if question is not None:
            position = question
        else:  # the result once a question was shown; the menus before it do not count
            position = 10**9 if key in furthest else 0
        if position < furthest.get(key, 0):
            stale += 1
        furthest[key] = max(furthest.get(key, 0), position)
    return stale


def stored_answers(url: str) -> tuple[int, int]:
    """(answers stored, of them timed out)."""
    database = open_database(url)
    with database.connection_context():
        total = QuizAnswer.select().count()
        timeouts = QuizAnswer.select().where(QuizAnswer.selected_answer == "-").count()
    database.close()
    return total, timeouts


@contextmanager
def postgres_database():
    """An empty database on TEST_DATABASE_URL's server, dropped afterwards."""
    import psycopg2

    server = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    admin = psycopg2.connect(server, connect_timeout=3)
    admin.autocommit = True
    name = f"studymate_bench_{uuid.uuid4().hex[:10]}"
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server.rsplit('/', 1)[0]}/{name}"
    finally:
        with admin.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
            cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


def flush_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()


def start_profile(pid: int, directory: Path | None, label: str):
    if directory is None:
        return None
    directory.mkdir(parents=True, exist_ok=True)
    out = directory / f"{label}.txt"
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return out, subprocess.Popen(
        [spy, "record", "--pid", str(pid), "--format", "raw", "--rate", "200",
         "--nonblocking", "--output", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def stop_profile(profile) -> None:
    if profile is None:
        return
    out, process = profile
    process.send_signal(signal.SIGINT)
    process.wait(timeout=60)
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in out.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [re.sub(r" \((/[^)]*/)?([^/)]+):\d+\)$", r" (\2)", f) for f in stack.split(";")]
        total += int(count)
        own[frames[-1]] += int(count)
        for frame in set(frames):
            inclusive[frame] += int(count)
    if not total:
        print("profile: no samples (is py-spy installed, may it read the process?)")
        return
    print(f"profile: {total} samples in {out}; self time:")
    for frame, count in own.most_common(12):
        print(f"  {count / total:6.1%}  {frame}")
    print("  including callees:")
    for frame, count in inclusive.most_common(40)[:25]:
        print(f"  {count / total:6.1%}  {frame}")


async def run(students: int, questions: int, database_url: str | None, redis_url: str | None,
              countdown: float | None, think: float, kinds: str, profile_dir: Path | None = None) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="studymate-quizbench-"))
    url = database_url or f"sqlite:///{workdir / 'bench.db'}"
    seed(url, students, questions, kinds)
    async with FakeTelegram() as fake:
        add_students(fake, students)
        env = {**os.environ, "STUDYMATE_BOT_TOKEN": TOKEN, "STUDYMATE_DATABASE_URL": url, "STUDYMATE_TELEGRAM_API_URL": fake.base_url,
               "STUDYMATE_STATE_DIR": str(workdir), "STUDYMATE_RUNTIME_DIR": str(workdir), "STUDYMATE_LOG_DIR": str(workdir),
               "STUDYMATE_ENV_FILE": os.devnull, "STUDYMATE_THROTTLE_MESSAGE_SECONDS": "0",
               "STUDYMATE_THROTTLE_CALLBACK_SECONDS": "0", "STUDYMATE_QUIZ_QUESTION_SECONDS": "600",
               "STUDYMATE_REDIS_URL": redis_url or ""}
        if countdown is not None:
            env["STUDYMATE_QUIZ_COUNTDOWN_SECONDS"] = str(countdown)
        bot = await asyncio.create_subprocess_exec(sys.executable, "-m", "studymate", "bot", env=env,
                                                   stderr=asyncio.subprocess.DEVNULL)
        try:
            while not fake.calls("getUpdates"):  # noqa: ASYNC110
                await asyncio.sleep(0.1)
            profile = start_profile(bot.pid, profile_dir, url.split(":")[0])
            started, cpu_before = time.monotonic(), cpu_seconds(bot.pid)
            busy_before, programs_before = machine_busy_seconds(), cpu_by_program(bot.pid)
            latencies, tally = await students_answer(fake, students, think, kinds)
            elapsed = time.monotonic() - started
            cpu = cpu_seconds(bot.pid) - cpu_before
            busy = machine_busy_seconds() - busy_before
            programs = cpu_by_program(bot.pid)
            programs.subtract(programs_before)
            stop_profile(profile)
            peak = peak_rss_mb(bot.pid)
            await asyncio.sleep(2)  # the last edits answered, nothing else to do
            after = peak_rss_mb(bot.pid, "VmRSS")
            await asyncio.sleep(1)  # the last toasts
            refused = {a["callback_query_id"] for a in fake.callback_answers() if a.get("text")}
            tally.lost = sum(1 for press in tally.presses if press in refused)
            stored, timeouts = stored_answers(url)
            stale = stale_redraws(fake)
            polls = len(fake.calls("getUpdates"))
            # Per student: the list, question 1, and one edit per press (a select-all mark:
            # of the buttons only) or typed answer; the rest are redraws.
            edits = len(fake.calls("editMessageText")) + len(fake.calls("editMessageReplyMarkup"))
            redraws = edits - 2 * students - len(tally.presses) - tally.typed
        finally:
            bot.terminate()
            await bot.wait()
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    storage = "redis" if redis_url else "database"
    print(f"backend={url.split(':')[0]} fsm={storage} kinds={kinds} students={students} questions={questions} "
          f"answers={len(latencies)}")
    print(f"answers/s: {len(latencies) / elapsed:.1f} (whole run {elapsed:.1f} s, including opening the quiz)")
    print(f"answer → next question: p50 {statistics.median(latencies) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms")
    print(f"bot CPU: {cpu:.1f} s, {cpu / len(latencies) * 1000:.1f} ms per answer (quiz opening included)")
    print(f"machine CPU: {busy:.1f} s of {elapsed * (os.cpu_count() or 1):.1f} s on {os.cpu_count()} cores, "
          f"{busy / len(latencies) * 1000:.1f} ms per answer (bot, database, students and fake server)")
    print("  of it, per answer: " + ", ".join(
        f"{name} {seconds / len(latencies) * 1000:.2f} ms" for name, seconds in programs.most_common() if seconds))
    updates = len(tally.presses) + tally.typed  # select-all marks are updates too
    print(f"bot CPU per update: {cpu / updates * 1000:.1f} ms ({updates} taps and typed answers)")
    print(f"getUpdates: {polls} calls, {updates / max(polls, 1):.1f} updates each on average")
    print(f"bot peak memory: {peak:.0f} MB, {after:.0f} MB resident 2 s after the load")
    print(f"countdown: every {countdown if countdown is not None else 'default'} s, think 0-{think} s; "
          f"answers stored {stored - timeouts} of {students * questions} (timed out {timeouts})")
    print(f"countdown redraws: {redraws}")
    print(f"answers lost: {tally.lost}, students stuck: {tally.stuck}, stale redraws: {stale}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--database-url", default=None, help="an empty database (default: temp SQLite)")
    parser.add_argument("--redis-url", default=None, help="FSM storage in Redis (default: in the database)")
    parser.add_argument("--countdown", type=float, default=None,
                        help="QUIZ_COUNTDOWN_SECONDS for the bot (default: its own, 5)")
    parser.add_argument("--think", type=float, default=0.0,
                        help="each student reads a question for a random 0..THINK seconds first")
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default=None,
                        help="a fresh database of that kind (postgres: with Redis); both: one after the other")
    parser.add_argument("--kinds", choices=("abcd", "mixed", TRUE_FALSE, MULTI, TYPED), default="abcd",
                        help="abcd: every question single-choice A-D; mixed: A-D, true/false, select-all, "
                             "typed; truefalse, multi or typed: every question of that kind")
    parser.add_argument("--profile", type=Path, default=None, metavar="DIR",
                        help="sample the bot with py-spy during the load; print where its time goes")
    args = parser.parse_args()
    options = (args.students, args.questions)
    tuning = (args.countdown, args.think, args.kinds, args.profile)
    if args.backend is None:
        asyncio.run(run(*options, args.database_url, args.redis_url, *tuning))
        return
    if args.backend in ("sqlite", "both"):
        print("== SQLite")
        asyncio.run(run(*options, None, None, *tuning))
    if args.backend in ("postgres", "both"):
        print("== PostgreSQL + Redis")
        redis_url = args.redis_url or "redis://127.0.0.1:6379/9"
        flush_redis(redis_url)
        with postgres_database() as url:
            asyncio.run(run(*options, url, redis_url, *tuning))


if __name__ == "__main__":
    main()
