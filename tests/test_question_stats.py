"""Per-question statistics and their bar chart agree with the stored answers of a generated
class of 30 students (expected figures computed here from the generated plan, not from the
service), and the quiz CSV carries each question's answer."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
import struct
import zlib
from collections import Counter
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest

from studymate.bot.features.quiz.stats import chart_bars
from studymate.db.models import Quiz, QuizAnswer, QuizAttempt, QuizQuestion, Student
from studymate.services import mentors
from studymate.services.errors import NotFound
from studymate.services.quiz import chart
from studymate.services.quiz import export as quiz_export
from studymate.services.quiz.question_stats import question_stats

TZ = ZoneInfo("Asia/Tashkent")
BASE = dt.datetime(2026, 2, 10, 5, 0)
LETTERS = "ABCD"
NOT_REACHED = None  # an abandoned attempt stored no answer row for the question


@dataclass
class ClassPlan:
    quiz_id: int
    correct: list[str]  # per question number - 1
    first: dict[int, list[str | None]]  # student id → key per question of the counted attempt


def make_class(mentor_id: int, telegram_base: int, *, students: int = 30, questions: int = 12,
               seed: int = 17, make_students: bool = True) -> ClassPlan:
    """A practice quiz and a class of students taking it: shuffled question order, wrong
    answers, time-outs ("-"), attempts abandoned half-way, retakes (not counted) and an
    attempt still running (not counted)."""
    rng = random.Random(seed)
    quiz = Quiz.create(mentor=mentor_id, title="Class quiz", quiz_type="practice", max_attempts=999)
    correct = [rng.choice(LETTERS) for _ in range(questions)]
    rows = [
        QuizQuestion.create(quiz=quiz, question_text=f"Question {n + 1} <b>?</b>", option_a=f"a{n + 1}",
                            option_b=f"b{n + 1}", option_c=f"c{n + 1}", option_d=f"d{n + 1}",
                            correct_answer=correct[n], order=n + 1)
        for n in range(questions)
    ]
    difficulty = [rng.uniform(0.1, 0.95) for _ in range(questions)]  # chance of a right answer
    if make_students:
        people = [Student.create(telegram_id=telegram_base + i, mentor=mentor_id, full_name=f"S{i}")
                  for i in range(students)]
    else:
        people = list(Student.select().where(Student.mentor == mentor_id).order_by(Student.id))
    first: dict[int, list[str | None]] = {}

    def attempt(student: Student, started: dt.datetime, keys: list[str | None], finished: bool) -> None:
        order = list(range(questions))
        rng.shuffle(order)
        row = QuizAttempt.create(
            student=student, quiz=quiz, started_at=started, total=questions,
            finished_at=started + dt.timedelta(minutes=10) if finished else None,
            finish_reason="completed" if finished else None,
            question_ids=json.dumps([rows[n].id for n in order]),
            score=sum(1 for n, key in enumerate(keys) if key == correct[n]),
        )
        for n, key in enumerate(keys):
            if key is not NOT_REACHED:
                QuizAnswer.create(attempt=row, question=rows[n], selected_answer=key,
                                  is_correct=key == correct[n])

    for i, student in enumerate(people):
        if i == len(people) - 1:  # still taking it: nothing of this student counts yet
            attempt(student, BASE, [correct[0]] + [NOT_REACHED] * (questions - 1), finished=False)
            continue
        keys: list[str | None] = []
        stop = rng.randrange(questions // 2, questions) if i % 7 == 3 else questions
        for n in range(questions):
            roll = rng.random()
            if n >= stop:
                keys.append(NOT_REACHED)
            elif roll < 0.05:
                keys.append("-")
            elif roll < difficulty[n]:
                keys.append(correct[n])
            else:
                wrong = [c for c in LETTERS if c != correct[n]]
                keys.append(rng.choices(wrong, weights=(5, 3, 1))[0])
        started = BASE + dt.timedelta(minutes=i)
        attempt(student, started, keys, finished=True)
        first[student.id] = keys
        if i % 4 == 0:  # a later perfect retake is not counted
            attempt(student, started + dt.timedelta(hours=2), list(correct), finished=True)
    return ClassPlan(quiz.id, correct, first)


@dataclass
class Expected:
    seen: int
    correct: int
    no_answer: int
    wrong: Counter


def expected(plan: ClassPlan) -> list[Expected]:
    result = []
    for n, right in enumerate(plan.correct):
        keys = [keys[n] for keys in plan.first.values()]
        result.append(Expected(
            seen=len(keys),
            correct=sum(1 for k in keys if k == right),
            no_answer=sum(1 for k in keys if k in ("-", NOT_REACHED)),
            wrong=Counter(k for k in keys if k not in ("-", NOT_REACHED, right)),
        ))
    return result


@pytest.fixture
def mentor(db) -> int:
    mentors.add_mentor(telegram_id=1001, name="Anna", group_chat_id=-100500, language="ru")
    mentors.add_mentor(telegram_id=1002, name="Bob", group_chat_id=-100600, language="en")
    return 1


def test_figures_match_the_stored_answers_of_a_class_of_30(mentor):
    plan = make_class(mentor, 5000)
    want = expected(plan)
    stats = question_stats(mentor, plan.quiz_id)
    assert stats.attempts == 29  # 30 students, one still taking it; retakes not counted
    assert [q.number for q in stats.questions] == list(range(1, 13))
    for q, e, right in zip(stats.questions, want, plan.correct, strict=True):
        assert (q.seen, q.correct, q.no_answer, q.correct_key) == (e.seen, e.correct, e.no_answer, right)
        assert q.percent == int(e.correct / e.seen * 100 + 0.5)
        assert dict(q.wrong) == dict(e.wrong)
        if e.wrong:
            top = max(e.wrong.values())
            key = min(k for k, v in e.wrong.items() if v == top)  # a tie goes to the first letter
            assert q.top_wrong == (key, top) and q.top_wrong_text == f"{key.lower()}{q.number}"
    shares = [e.correct / e.seen for e in want]
    assert stats.most_missed.number == shares.index(min(shares)) + 1
    with pytest.raises(NotFound):  # another mentor's quiz
        question_stats(2, plan.quiz_id)


def test_a_regraded_question_and_an_added_one(mentor):
    """A new correct letter regrades the stored answers; a question added afterwards was part
    of no attempt, so nobody has seen it."""
    from studymate.services.quiz import questions as quiz_questions
    from studymate.services.quiz.questions import Field

    plan = make_class(mentor, 5000, students=10, questions=4, seed=3)
    first_question = QuizQuestion.get((QuizQuestion.quiz == plan.quiz_id) & (QuizQuestion.order == 1))
    new_letter = next(c for c in LETTERS if c != plan.correct[0])
    quiz_questions.update_question(mentor, plan.quiz_id, first_question.id, Field.CORRECT, new_letter, tz=TZ)
    quiz_questions.add_question(mentor, plan.quiz_id, text="Extra?", options=("w", "x", "y", "z"), correct="A")
    stats = question_stats(mentor, plan.quiz_id)
    chosen = [keys[0] for keys in plan.first.values()]
    assert stats.questions[0].correct == chosen.count(new_letter)
    assert stats.questions[0].correct_key == new_letter
    assert stats.questions[-1].seen == 0 and stats.questions[-1].percent == 0


# --- the chart: a PNG decoded here, bar by bar ----------------------------------------------


def decode_png(data: bytes) -> tuple[int, int, list[list[tuple[int, int, int]]]]:
    """Width, height and RGB rows of a PNG, every chunk's CRC and the IHDR checked."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, chunks = 8, []
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF, kind
        chunks.append((kind, body))
        offset += 12 + length
    assert offset == len(data)
    assert chunks[0][0] == b"IHDR" and chunks[-1] == (b"IEND", b"")
    width, height, depth, color, compression, filtering, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, color, compression, filtering, interlace) == (8, 2, 0, 0, 0)
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride = 1 + 3 * width
    assert len(raw) == stride * height
    rows = []
    for y in range(height):
        line = raw[y * stride : (y + 1) * stride]
        assert line[0] == 0  # filter "none"
        rows.append([tuple(line[1 + 3 * x : 4 + 3 * x]) for x in range(width)])
    return width, height, rows


def columns(rows, baseline: int) -> list[tuple[int, int, tuple]]:
    """Each column's bar found in the picture: (height in pixels, x, colour)."""
    drawn = {chart.TRACK, *chart.BAR_COLORS}
    line = rows[baseline - 1]
    runs, x = [], 0
    while x < len(line):
        if line[x] in drawn:
            start = x
            while x < len(line) and line[x] in drawn:
                x += 1
            runs.append((start, x))
        x += 1
    found = []
    for start, end in runs:
        middle = (start + end) // 2
        y = baseline - 1
        while y >= 0 and rows[y][middle] in chart.BAR_COLORS:
            y -= 1
        colour = rows[baseline - 1][middle]
        found.append((baseline - 1 - y, middle, colour))
    return found


def test_the_chart_draws_each_question_share(mentor):
    plan = make_class(mentor, 5000)
    want = expected(plan)
    stats = question_stats(mentor, plan.quiz_id)
    png = chart.bar_chart_png(chart_bars(stats))
    width, height, rows = decode_png(png)
    assert (width, height) == chart.size(12)
    found = columns(rows, chart.TOP + chart.PLOT_HEIGHT)
    assert len(found) == 12
    worst = min(range(12), key=lambda n: (want[n].correct / want[n].seen, n))
    for n, ((tall, _x, colour), e) in enumerate(zip(found, want, strict=True)):
        share = e.correct / e.seen
        assert abs(tall - share * chart.PLOT_HEIGHT) <= 0.5, (n, tall, share)
        if n == worst:
            assert colour == chart.WORST
        elif tall:
            band = chart.GOOD if share >= 0.695 else chart.FAIR if share >= 0.395 else chart.POOR
            assert colour == band, (n, share)


def test_a_chart_of_200_questions_fits_telegram_photo_limits():
    bars = [chart.Bar(n, n % 7, 6) for n in range(1, 201)]
    width, height, rows = decode_png(chart.bar_chart_png(bars))
    assert width + height <= 10_000 and width / height <= 20
    assert len(columns(rows, chart.TOP + chart.PLOT_HEIGHT)) == 200


# --- the CSV: one column per question ------------------------------------------------------


def test_the_quiz_csv_has_each_questions_answer(mentor):
    plan = make_class(mentor, 5000, students=6, questions=5, seed=5)
    content = quiz_export.export_csv(mentor, plan.quiz_id, tz=TZ)
    table = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""), delimiter=";"))
    fixed = len(quiz_export.CSV_COLUMNS)
    assert table[0] == [*quiz_export.CSV_COLUMNS, "q1", "q2", "q3", "q4", "q5"]
    by_student = {}
    for row in table[1:]:
        by_student.setdefault(int(row[1]), row[fixed:])  # the first row of each is the first attempt
    students = {s.id: s.telegram_id for s in Student.select()}
    for student_id, keys in plan.first.items():
        assert by_student[students[student_id]] == [k or "" for k in keys]
    assert len(table) - 1 == QuizAttempt.select().where(QuizAttempt.finished_at.is_null(False)).count()
