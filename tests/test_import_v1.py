"""``studymate import-v1``: a v1 school comes over with every value (issue 7).

The v1 database is built by SQL (``v1_schema``), on SQLite and on PostgreSQL; the target is
the backend under test.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg2
import pytest
import v1_schema
from conftest import TEST_DATABASE_URL, service_missing
from v1_schema import ALI, ANNA, DANA, V1School

from studymate.db.models import (
    MODELS,
    Download,
    Material,
    Mentor,
    Question,
    Quiz,
    QuizAnswer,
    QuizAttempt,
    QuizQuestion,
    Season,
    SeasonRating,
    Student,
    Topic,
    V1ImportMap,
    utcnow,
)
from studymate.services import mentors
from studymate.services.import_v1.report import RatingValue, Summary
from studymate.services.import_v1.run import ImportRefused, import_v1
from studymate.services.import_v1.source import SourceError, V1Source
from studymate.services.ratings import month_start

TZ = ZoneInfo("Asia/Tashkent")
LANG = {"qq": "kaa"}


@pytest.fixture
def v1(tmp_path: Path) -> tuple[V1School, str]:
    """The test school in a v1 SQLite file: (what was written, its DATABASE_URL)."""
    school = v1_schema.school(utcnow())
    return school, v1_schema.sqlite_v1(tmp_path / "v1.sqlite3", school)


def run_import(db, url: str, **kwargs) -> Summary:
    with V1Source(url) as source:
        return import_v1(db, source, tz=TZ, **kwargs)


def counts() -> dict[str, int]:
    return {m._meta.table_name: m.select().count() for m in MODELS}


# -- what v1 held, and what we hold, in the same shape ----------------------------------------


def srt(rows) -> list[tuple]:
    """Sorted, None included."""
    return sorted(rows, key=repr)


def expected(s: V1School) -> dict[str, list[tuple]]:
    mentor = {r["id"]: r["telegram_id"] for r in s.rows("mentors_mentor")}
    student = {r["id"]: r["telegram_id"] for r in s.rows("students_student")}
    topic = {r["id"]: r["name"] for r in s.rows("materials_topic")}
    material = {r["id"]: r["title"] for r in s.rows("materials_material")}
    quiz = {r["id"]: r["title"] for r in s.rows("quizzes_quiz")}
    question = {r["id"]: r["question_text"] for r in s.rows("quizzes_quizquestion")}
    attempts = {r["id"]: r for r in s.rows("quizzes_quizattempt") if r["finished_at"]}
    seen, answers = set(), []
    for r in s.rows("quizzes_quizanswer"):
        key = (r["attempt_id"], r["question_id"])
        if r["attempt_id"] in attempts and key not in seen:  # duplicates: the first is kept
            seen.add(key)
            a = attempts[r["attempt_id"]]
            answers.append((student[a["student_id"]], quiz[a["quiz_id"]], a["started_at"],
                            question[r["question_id"]], r["selected_answer"], r["is_correct"]))
    return {
        "mentors": srt(
            (r["telegram_id"], r["name"], r["group_chat_id"], LANG.get(r["language"], r["language"]),
             r["is_active"], r["created_at"]) for r in s.rows("mentors_mentor")),
        "students": srt(
            (r["telegram_id"], r["username"], r["first_name"], r["last_name"], r["full_name"],
             r["profile_completed"], mentor.get(r["mentor_id"]),
             LANG.get(r["language"], r["language"]), r["joined_at"], r["last_active"],
             r["current_streak"], r["longest_streak"], r["last_quiz_date"])
            for r in s.rows("students_student")),
        "topics": srt((mentor[r["mentor_id"]], r["name"], r["order"], r["created_at"])
                         for r in s.rows("materials_topic")),
        "materials": srt(
            (topic[r["topic_id"]], r["title"], r["file_id"], r["file_name"], r["order"],
             r["created_at"]) for r in s.rows("materials_material")),
        "downloads": srt((student[r["student_id"]], material[r["material_id"]], r["downloaded_at"])
                            for r in s.rows("downloads_download")),
        "questions": srt(
            (mentor[r["mentor_id"]], student.get(r["student_id"]), r["student_telegram_id"],
             r["text"], r["reply_text"], r["is_answered"], r["created_at"], r["replied_at"],
             r["message_id"]) for r in s.rows("questions_question")),
        "quizzes": srt(
            (mentor[r["mentor_id"]], r["title"], r["topic"], r["is_active"], r["quiz_type"],
             r["available_from"], r["available_until"], r["max_attempts"], r["created_at"])
            for r in s.rows("quizzes_quiz")),
        "quiz_questions": srt(
            (quiz[r["quiz_id"]], r["question_text"], r["option_a"], r["option_b"], r["option_c"],
             r["option_d"], r["correct_answer"], r["order"], r["time_bonus"])
            for r in s.rows("quizzes_quizquestion")),
        "attempts": srt(
            (student[r["student_id"]], quiz[r["quiz_id"]], r["score"], r["total"],
             r["started_at"], r["finished_at"]) for r in attempts.values()),
        "answers": srt(answers),
    }


def ours() -> dict[str, list[tuple]]:
    def tid(student: Student | None) -> int | None:
        return student.telegram_id if student else None

    return {
        "mentors": srt((m.telegram_id, m.name, m.group_chat_id, m.language, m.is_active,
                           m.created_at) for m in Mentor.select()),
        "students": srt(
            (s.telegram_id, s.username, s.first_name, s.last_name, s.full_name,
             s.profile_completed, s.mentor.telegram_id if s.mentor_id else None, s.language,
             s.joined_at, s.last_active, s.current_streak, s.longest_streak, s.last_quiz_date)
            for s in Student.select()),
        "topics": srt((t.mentor.telegram_id, t.name, t.order, t.created_at)
                         for t in Topic.select()),
        "materials": srt((m.topic.name, m.title, m.file_id, m.file_name, m.order, m.created_at)
                            for m in Material.select()),
        "downloads": srt((d.student.telegram_id, d.material.title, d.downloaded_at)
                            for d in Download.select()),
        "questions": srt(
            (q.mentor.telegram_id, tid(q.student), q.student_telegram_id, q.text, q.reply_text,
             q.is_answered, q.created_at, q.replied_at, q.message_id) for q in Question.select()),
        "quizzes": srt(
            (q.mentor.telegram_id, q.title, q.topic, q.is_active, q.quiz_type, q.available_from,
             q.available_until, q.max_attempts, q.created_at) for q in Quiz.select()),
        "quiz_questions": srt(
            (q.quiz.title, q.question_text, q.option_a, q.option_b, q.option_c, q.option_d,
             q.correct_answer, q.order, q.time_bonus) for q in QuizQuestion.select()),
        "attempts": srt(
            (a.student.telegram_id, a.quiz.title, a.score, a.total, a.started_at, a.finished_at)
            for a in QuizAttempt.select()),
        "answers": srt(
            (a.attempt.student.telegram_id, a.attempt.quiz.title, a.attempt.started_at,
             a.question.question_text, a.selected_answer, a.is_correct)
            for a in QuizAnswer.select()),
    }


def assert_same_school(s: V1School) -> None:
    want, have = expected(s), ours()
    for table in want:
        assert have[table] == want[table], table


def rating(student_tid: int, month: dt.date) -> RatingValue | None:
    row = (SeasonRating.select(SeasonRating).join(Season).switch(SeasonRating).join(Student)
           .where((Student.telegram_id == student_tid) & (Season.start_date == month)).first())
    if row is None:
        return None
    return RatingValue(row.rating_score, row.total_ranked_quizzes, row.total_score,
                       row.total_possible)


def check_imported(s: V1School, summary: Summary) -> None:
    """Every value came over; the extra columns got honest values; ratings by our rules."""
    assert summary.ok and summary.saved, summary.format()
    assert_same_school(s)
    # v1's quirks, resolved as the issue asks
    attempts = summary.tallies["attempt"]
    assert attempts.skipped == {"unfinished in v1: abandoned, never counted there": 2}
    answers = summary.tallies["answer"]
    assert answers.skipped == Counter({
        "belongs to a skipped attempt": 2,
        "another answer to the same question in the same attempt (a v1 double tap):"
        " the first one is kept": 1,
    })
    assert (answers.read, answers.imported) == (33, 30)
    assert Student.get(Student.telegram_id == v1_schema.AZIZ).mentor_id is None
    deleted = Question.get(Question.student_telegram_id == v1_schema.DELETED_STUDENT)
    assert deleted.student_id is None and deleted.text == "Can I retake it?"
    assert Question.select().where(Question.delivered_at.is_null()).count() == 0
    assert [m.kind for m in Material.select().order_by(Material.created_at)] == [
        "document", "photo", "document", "document"]
    assert Quiz.get(Quiz.title == "Future exam").notified_at is None  # told when it opens
    assert Quiz.select().where(Quiz.notified_at.is_null()).count() == 1
    assert {a.finish_reason for a in QuizAttempt.select()} == {"completed"}
    assert QuizAttempt.select().where(QuizAttempt.finished_at.is_null()).count() == 0
    exam = QuizAttempt.select().join(Quiz).where(Quiz.title == "November test")
    assert sorted(a.is_exam for a in exam) == [False, True, True]  # Timur started too late
    # Ratings by this version's rules: Ali's 00:30 attempt of 1 December counts in December.
    now = utcnow()
    current = month_start(now.replace(tzinfo=dt.UTC).astimezone(TZ).date())
    assert rating(ALI, dt.date(2025, 11, 1)) == RatingValue(78.8, 1, 3, 4)
    assert rating(ALI, dt.date(2025, 12, 1)) == RatingValue(105.0, 1, 2, 2)
    assert rating(DANA, dt.date(2025, 11, 1)) == RatingValue(105.0, 1, 4, 4)  # v1's score kept
    assert rating(ALI, current) == RatingValue(70.0, 1, 2, 3)
    assert rating(DANA, current) == RatingValue(105.0, 1, 3, 3)
    anna = Mentor.get(Mentor.telegram_id == ANNA)
    assert sorted(s.start_date for s in anna.seasons) == [
        dt.date(2025, 11, 1), dt.date(2025, 12, 1), current]
    assert summary.ratings_compared == 5
    [diff] = summary.rating_diffs
    assert (diff.mentor, diff.month, diff.student) == ("Anna (1001)", dt.date(2025, 12, 1),
                                                        "2001 Ali Karimov")
    assert (diff.v1, diff.now) == (None, RatingValue(105.0, 1, 2, 2))


# -- the service ------------------------------------------------------------------------------


def test_import_keeps_every_value_and_resolves_v1_quirks(db, v1):
    school, url = v1
    summary = run_import(db, url)
    check_imported(school, summary)
    tallies = summary.tallies
    assert {k: (t.read, t.imported) for k, t in tallies.items() if k not in ("answer", "rating")} == {
        "mentor": (2, 2), "student": (6, 6), "topic": (4, 4), "material": (4, 4),
        "download": (6, 6), "question": (4, 4), "quiz": (6, 6), "quiz_question": (15, 15),
        "attempt": (12, 10), "season": (4, 3),
    }
    assert tallies["student"].adjusted["language qq → kaa"] == 2
    assert tallies["student"].adjusted["no mentor in v1: imported without one"] == 1
    assert tallies["attempt"].adjusted == {
        "score kept from v1 though its stored answers say otherwise"
        " (v1 counted double taps, and kept scores after edits)": 1}


def test_dry_run_changes_nothing_and_a_second_run_imports_nothing_new(db, v1):
    school, url = v1
    empty = counts()
    dry = run_import(db, url, dry_run=True)
    assert dry.ok and not dry.saved and counts() == empty
    real = run_import(db, url)
    # The dry run reports exactly what the real run then does.
    assert dry.format().splitlines()[2:-1] == real.format().splitlines()[2:-1]
    assert real.format().splitlines()[-1] == "saved: 90 new rows"
    after = counts()
    again = run_import(db, url)
    assert again.ok and counts() == after
    for key, tally in again.tallies.items():
        assert tally.imported == 0, key
        assert tally.already == real.tallies[key].imported, key
    assert again.format().splitlines()[-1] == "saved: nothing new to import"
    assert_same_school(school)

    # v1 kept running meanwhile: a third run brings only what is new.
    v1_schema.sqlite_execute(
        url, 'INSERT INTO "downloads_download" (student_id, material_id, downloaded_at)'
        " VALUES (?, ?, ?)", 2, 1, dt.datetime(2025, 12, 5, 9))
    third = run_import(db, url)
    assert third.tallies["download"].imported == 1 and third.tallies["download"].already == 6
    assert counts()["download"] == after["download"] + 1


def test_refuses_a_database_with_other_data_unless_merge(db, v1):
    school, url = v1
    mentors.add_mentor(telegram_id=ANNA, name="Anna K.", group_chat_id=-100500, language="en")
    mentors.add_mentor(telegram_id=1003, name="Carl", group_chat_id=-100700)
    before = counts()
    with pytest.raises(ImportRefused, match=r"mentors: 2.*--merge"):
        run_import(db, url)
    assert counts() == before
    summary = run_import(db, url, merge=True)
    assert summary.ok and summary.saved
    anna = Mentor.get(Mentor.telegram_id == ANNA)
    assert (anna.name, anna.language) == ("Anna K.", "en")  # matched, kept as it is
    assert Mentor.select().count() == 3
    assert Topic.select().where(Topic.mentor == anna).count() == 3
    assert summary.tallies["mentor"].adjusted == {
        "already here with the same Telegram id: matched, kept as it is": 1,
        "language qq → kaa": 1,
    }
    # The next run of the same v1 database needs --merge (Carl is not from it): nothing new.
    again = run_import(db, url, merge=True)
    assert sum(t.imported for t in again.tallies.values()) == 0


def test_unresolvable_inconsistencies_save_nothing(db, v1):
    school, url = v1
    v1_schema.sqlite_execute(
        url, 'INSERT INTO "quizzes_quizanswer" (attempt_id, question_id, selected_answer,'
        " is_correct) VALUES (?, ?, ?, ?)", 1, 999, "A", True)
    v1_schema.sqlite_execute(url, 'UPDATE "quizzes_quizquestion" SET correct_answer = ? WHERE id = ?',
                             "E", 5)
    summary = run_import(db, url)
    assert not summary.ok and not summary.saved
    assert counts() == {m._meta.table_name: 0 for m in MODELS}
    text = summary.format()
    assert "quizzes_quizanswer id 34: question 999 does not exist in v1" in text
    assert "quizzes_quizquestion id 5: correct_answer 'E' is not A, B, C or D" in text
    assert text.splitlines()[-1].startswith("nothing was saved")


@pytest.fixture
def v1_postgres() -> Iterator[str]:
    """A v1 database of its own on the PostgreSQL test server."""
    try:
        admin = psycopg2.connect(TEST_DATABASE_URL, connect_timeout=3)
    except psycopg2.OperationalError:
        service_missing("PostgreSQL at TEST_DATABASE_URL")
    admin.autocommit = True
    name = f"studymate_v1_{uuid.uuid4().hex[:10]}"
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    yield f"{TEST_DATABASE_URL.rsplit('/', 1)[0]}/{name}"
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.mark.services
def test_import_from_postgresql(db, v1_postgres):
    school = v1_schema.school(utcnow())
    v1_schema.postgres_v1(v1_postgres, school)
    summary = run_import(db, v1_postgres)
    check_imported(school, summary)


def test_not_a_v1_database(tmp_path):
    (tmp_path / "other.db").touch()
    with pytest.raises(SourceError, match="not a StudyMate v1 database"):
        V1Source(f"sqlite:///{tmp_path / 'other.db'}")
    with pytest.raises(SourceError, match="no SQLite database"):
        V1Source(f"sqlite:///{tmp_path / 'missing.db'}")


def test_fingerprint_tells_v1_databases_apart(tmp_path):
    now = utcnow()
    first = v1_schema.sqlite_v1(tmp_path / "a.sqlite3", v1_schema.school(now))
    other = v1_schema.school(now)
    other.rows("django_migrations")[0]["applied"] = dt.datetime(2024, 1, 1)
    second = v1_schema.sqlite_v1(tmp_path / "b.sqlite3", other)
    with V1Source(first) as a, V1Source(second) as b, V1Source(first) as a_again:
        assert a.fingerprint == a_again.fingerprint != b.fingerprint


# -- the command ------------------------------------------------------------------------------


def cli(database_url: str, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(cwd),
           "STUDYMATE_DATABASE_URL": database_url, "STUDYMATE_ENV_FILE": os.devnull,
           "STUDYMATE_STATE_DIR": str(cwd / "state"), "STUDYMATE_LOG_DIR": str(cwd / "log")}
    return subprocess.run([sys.executable, "-m", "studymate", "import-v1", *args], env=env,
                          cwd=cwd, capture_output=True, text=True, timeout=120)


def test_cli_summary_dry_run_refusal_and_exit_codes(db, database_url, v1, tmp_path):
    school, url = v1
    dry = cli(database_url, tmp_path, "--from", url, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    lines = dry.stdout.splitlines()
    assert lines[0] == f"StudyMate v1 import from {url} (dry run)"
    assert lines[2].split() == ["table", "read", "imported", "already", "skipped"]
    assert lines[3].split() == ["mentors", "2", "2", "0", "0"]
    assert lines[11].split() == ["attempts", "12", "10", "0", "2"]
    assert "  attempts             2  unfinished in v1: abandoned, never counted there" in lines
    assert lines[-1] == "dry run: nothing was saved"
    assert V1ImportMap.select().count() == 0 and Mentor.select().count() == 0

    done = cli(database_url, tmp_path, "--from", url)
    assert done.returncode == 0 and done.stdout.splitlines()[-1] == "saved: 90 new rows"
    assert "2025-12  2001 Ali Karimov" in done.stdout
    again = cli(database_url, tmp_path, "--from", url)
    assert again.returncode == 0 and again.stdout.splitlines()[-1] == "saved: nothing new to import"
    assert_same_school(school)

    other = v1_schema.school(utcnow())  # another v1 school into this non-empty database
    other.rows("django_migrations")[0]["applied"] = dt.datetime(2024, 1, 1)
    other_url = v1_schema.sqlite_v1(tmp_path / "other.sqlite3", other)
    refused = cli(database_url, tmp_path, "--from", other_url)
    assert refused.returncode == 2 and "--merge" in refused.stderr and not refused.stdout

    v1_schema.sqlite_execute(other_url, 'UPDATE "quizzes_quiz" SET quiz_type = ? WHERE id = 2',
                             "exam")
    broken = cli(database_url, tmp_path, "--from", other_url, "--merge")
    assert broken.returncode == 1
    assert "quizzes_quiz id 2: unknown quiz_type 'exam'" in broken.stdout

    missing = cli(database_url, tmp_path, "--from", f"sqlite:///{tmp_path / 'nope.db'}")
    assert missing.returncode == 2 and "no SQLite database" in missing.stderr
