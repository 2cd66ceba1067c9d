"""How each StudyMate v1 row becomes a row of ours (``studymate.db.models``).

Values are kept as they were (timestamps stay UTC, ids of Telegram files stay, so materials
still download). Where this version has more columns, they get honest values:
- a finished v1 attempt is a finished attempt here (``finish_reason`` completed, no deadlines,
  exam mode as it was at its start); an unfinished one is skipped — v1 never counted it and we
  do not know when or how it ended;
- a v1 question was delivered (or shown in the mentor's list), so it is marked delivered and
  is not sent again;
- a quiz's students were told about it when it was published in v1, except a scheduled quiz
  that has not opened yet: it is announced when it opens, as this version does;
- a material whose v1 file name is ``photo.jpg`` (what v1 stored for photos) is a photo, so it
  is sent with sendPhoto (v1 sent it as a document, which Telegram rejects).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Final, Protocol

from peewee import CharField, Model

from studymate.config import LANGUAGE_ALIASES, LANGUAGES
from studymate.db.models import (
    Download,
    Material,
    Mentor,
    Question,
    Quiz,
    QuizAnswer,
    QuizAttempt,
    QuizQuestion,
    Student,
    Topic,
)
from studymate.services.import_v1.source import Row

LETTERS: Final = ("A", "B", "C", "D")
QUIZ_TYPES: Final = ("practice", "ranked")
PHOTO_FILE_NAME: Final = "photo.jpg"  # the name v1 stored for every photo
PHOTO_ID_PREFIX: Final = "AgAC"  # Telegram photo file ids


class Skip(Exception):
    """The row is left out on purpose; ``str()`` is the reason shown in the summary."""


class Unresolved(Exception):
    """The row contradicts itself or the rest of the v1 database; the import cannot go on."""


class Context(Protocol):
    default_language: str
    now: dt.datetime

    def parent(self, entity: str, v1_id: int | None, what: str) -> int: ...
    def optional_parent(self, entity: str, v1_id: int | None, what: str) -> int | None: ...
    def adjust(self, entity: str, what: str) -> None: ...
    def quiz_question_ids(self, quiz_id: int) -> list[int]: ...


def checked(model: type[Model], fields: dict[str, Any]) -> dict[str, Any]:
    """Refuse values this database would reject: NULL in a required text, too long a text."""
    for name, value in fields.items():
        column = model._meta.fields[name]
        if value is None and not column.null:
            raise Unresolved(f"{name} is empty")
        if isinstance(column, CharField) and value is not None and len(value) > column.max_length:
            raise Unresolved(
                f"{name} has {len(value)} characters, at most {column.max_length} fit"
                " (shorten it in v1's admin)"
            )
    return fields


def _language(ctx: Context, entity: str, code: str | None) -> str:
    raw = (code or "").strip().lower()
    if raw in LANGUAGES:
        return raw
    if raw in LANGUAGE_ALIASES:
        ctx.adjust(entity, f"language {raw} → {LANGUAGE_ALIASES[raw]}")
        return LANGUAGE_ALIASES[raw]
    ctx.adjust(entity, f"unknown language {raw or '(empty)'!r} → {ctx.default_language}")
    return ctx.default_language


def mentor(ctx: Context, row: Row) -> dict[str, Any]:
    return checked(Mentor, {
        "telegram_id": row["telegram_id"], "name": row["name"],
        "group_chat_id": row["group_chat_id"], "language": _language(ctx, "mentor", row["language"]),
        "is_active": bool(row["is_active"]), "created_at": row["created_at"],
    })


def student(ctx: Context, row: Row) -> dict[str, Any]:
    if row["mentor_id"] is None:
        ctx.adjust("student", "no mentor in v1: imported without one")
    mentor_id = ctx.optional_parent("mentor", row["mentor_id"], "mentor")
    return checked(Student, {
        "telegram_id": row["telegram_id"], "username": row["username"] or None,
        "first_name": row["first_name"] or "", "last_name": row["last_name"] or "",
        "full_name": row["full_name"] or "", "profile_completed": bool(row["profile_completed"]),
        "mentor": mentor_id, "language": _language(ctx, "student", row["language"]),
        "joined_at": row["joined_at"], "last_active": row["last_active"] or row["joined_at"],
        "current_streak": row["current_streak"] or 0, "longest_streak": row["longest_streak"] or 0,
        "last_quiz_date": row["last_quiz_date"],
    })


def topic(ctx: Context, row: Row) -> dict[str, Any]:
    return checked(Topic, {
        "mentor": ctx.parent("mentor", row["mentor_id"], "mentor"), "name": row["name"],
        "order": row["order"] or 0, "created_at": row["created_at"],
    })


def material(ctx: Context, row: Row) -> dict[str, Any]:
    file_id, file_name = row["file_id"], row["file_name"] or ""
    photo = file_name == PHOTO_FILE_NAME or (file_id or "").startswith(PHOTO_ID_PREFIX)
    if photo:
        ctx.adjust("material", "photo: sent as a photo (v1 sent it as a document, which Telegram rejects)")
    return checked(Material, {
        "topic": ctx.parent("topic", row["topic_id"], "topic"), "title": row["title"],
        "file_id": file_id or None, "file_name": file_name,
        "kind": "photo" if photo else "document", "order": row["order"] or 0,
        "created_at": row["created_at"],
    })


def download(ctx: Context, row: Row) -> dict[str, Any]:
    return checked(Download, {
        "student": ctx.parent("student", row["student_id"], "student"),
        "material": ctx.parent("material", row["material_id"], "material"),
        "downloaded_at": row["downloaded_at"],
    })


def question(ctx: Context, row: Row) -> dict[str, Any]:
    if row["student_id"] is None and row["student_telegram_id"] is not None:
        ctx.adjust("question", "asked by a student deleted in v1: kept, replies still reach them")
    return checked(Question, {
        "mentor": ctx.parent("mentor", row["mentor_id"], "mentor"),
        "student": ctx.optional_parent("student", row["student_id"], "student"),
        "student_telegram_id": row["student_telegram_id"], "text": row["text"],
        "reply_text": row["reply_text"] or "", "is_answered": bool(row["is_answered"]),
        "created_at": row["created_at"], "replied_at": row["replied_at"],
        "message_id": row["message_id"], "delivered_at": row["created_at"],
    })


def quiz(ctx: Context, row: Row) -> dict[str, Any]:
    if row["quiz_type"] not in QUIZ_TYPES:
        raise Unresolved(f"unknown quiz_type {row['quiz_type']!r}")
    opens = row["available_from"]
    scheduled = row["quiz_type"] == "ranked" and opens is not None and opens > ctx.now
    return checked(Quiz, {
        "mentor": ctx.parent("mentor", row["mentor_id"], "mentor"), "title": row["title"],
        "topic": row["topic"], "is_active": bool(row["is_active"]), "quiz_type": row["quiz_type"],
        "available_from": opens, "available_until": row["available_until"],
        "max_attempts": row["max_attempts"] if row["max_attempts"] is not None else 999,
        "created_at": row["created_at"], "notified_at": None if scheduled else row["created_at"],
    })


def quiz_question(ctx: Context, row: Row) -> dict[str, Any]:
    correct = (row["correct_answer"] or "").strip().upper()
    if correct not in LETTERS:
        raise Unresolved(f"correct_answer {row['correct_answer']!r} is not A, B, C or D")
    return checked(QuizQuestion, {
        "quiz": ctx.parent("quiz", row["quiz_id"], "quiz"),
        "question_text": row["question_text"], "option_a": row["option_a"],
        "option_b": row["option_b"], "option_c": row["option_c"], "option_d": row["option_d"],
        "correct_answer": correct, "order": row["order"] or 0,
        "time_bonus": row["time_bonus"] or 0,
        "kind": "single",  # v1 knew only A–D; the raw INSERT does not fill model defaults
    })


def attempt(ctx: Context, row: Row, quiz_row: Row | None, chat_id: int | None) -> dict[str, Any]:
    """``quiz_row``: the attempt's v1 quiz (for exam mode); ``chat_id``: the student's chat."""
    student_id = ctx.parent("student", row["student_id"], "student")
    quiz_id = ctx.parent("quiz", row["quiz_id"], "quiz")
    if row["finished_at"] is None:
        raise Skip("unfinished in v1: abandoned, never counted there")
    until = quiz_row["available_until"] if quiz_row else None
    exam = bool(quiz_row and quiz_row["quiz_type"] == "ranked" and until is not None
                and row["started_at"] < until)
    ids = ctx.quiz_question_ids(quiz_id)
    return checked(QuizAttempt, {
        "student": student_id, "quiz": quiz_id, "score": row["score"] or 0,
        "total": row["total"] or 0, "started_at": row["started_at"],
        "finished_at": row["finished_at"], "question_ids": json.dumps(ids),
        "current_index": len(ids), "is_exam": exam, "chat_id": chat_id,
        "finish_reason": "completed",
    })


def answer(attempt_id: int, question_id: int, row: Row, answered_at: dt.datetime) -> dict[str, Any]:
    selected = (row["selected_answer"] or "").strip().upper()
    if selected not in (*LETTERS, "-"):
        raise Unresolved(f"selected_answer {row['selected_answer']!r} is not A–D or '-'")
    return checked(QuizAnswer, {
        "attempt": attempt_id, "question": question_id, "selected_answer": selected,
        "is_correct": bool(row["is_correct"]), "answered_at": answered_at,
    })
