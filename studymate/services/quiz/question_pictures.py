"""A stored question's picture, changed from the bot's question editor.

The picture is kept as Telegram's file id, as an upload with a ``.zip`` keeps it: a photo the
mentor sends is already at Telegram, so its id is stored as it is and students are shown the
same photo. Pictures change no answer or score.
"""

from __future__ import annotations

from studymate.db.models import QuizQuestion
from studymate.services.errors import NotFound
from studymate.services.quiz.authoring import own_quiz
from studymate.services.quiz.questions import QuestionInfo, get_question


def _own(mentor_id: int, quiz_id: int, question_id: int) -> QuizQuestion:
    own_quiz(mentor_id, quiz_id)
    row = QuizQuestion.get_or_none((QuizQuestion.id == question_id) & (QuizQuestion.quiz == quiz_id))
    if row is None:
        raise NotFound(question_id)
    return row


def set_picture(mentor_id: int, quiz_id: int, question_id: int, file_id: str) -> tuple[QuestionInfo, bool]:
    """Attach (or replace) the question's picture; returns the question and whether it had
    one before."""
    row = _own(mentor_id, quiz_id, question_id)
    had = row.image_file_id is not None
    QuizQuestion.update(image_file_id=file_id).where(QuizQuestion.id == row.id).execute()
    return get_question(mentor_id, quiz_id, question_id), had


def remove_picture(mentor_id: int, quiz_id: int, question_id: int) -> tuple[QuestionInfo, bool]:
    """Take the picture off; returns the question and whether there was one."""
    row = _own(mentor_id, quiz_id, question_id)
    had = row.image_file_id is not None
    if had:
        QuizQuestion.update(image_file_id=None).where(QuizQuestion.id == row.id).execute()
    return get_question(mentor_id, quiz_id, question_id), had
