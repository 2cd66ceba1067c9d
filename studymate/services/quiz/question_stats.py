"""Per-question statistics of a quiz for its mentor: share correct, the most chosen wrong
answer, and the question the class missed most.

Which answers count: the graded answers (``QuizAnswer.is_correct``, kept in step by a regrade)
of each student's first counted attempt, the attempts the quiz screen's average is made of
(``authoring.first_attempts``: earliest finished attempt, inside the window of a ranked quiz).
A question's ``seen`` is the number of those attempts that contained it (its id in the
attempt's question list, or an answer to it): a question never reached (a session that ran
out, a practice quiz left) counts as seen and not correct, as it does in the score. A
question added after an attempt started is not part of that attempt.

Answers are compared as *answer keys*, one string per answer: for today's A–D questions the
stored letter (the original letter, not the shuffled one the student saw); ``NO_ANSWER`` for a
timed-out question or one never reached. Another kind of question plugs in by giving its own
key (the sorted letters of a multi-select, a normalised typed answer) in :func:`answer_key`
and its label in ``key_text``; the counting below does not change.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Final

from studymate.db.models import QuizAnswer, QuizAttempt, QuizQuestion
from studymate.services.quiz.authoring import QuizInfo, get_quiz
from studymate.services.quiz.authoring import _first_attempts as first_attempts
from studymate.services.quiz.format import LETTERS

NO_ANSWER: Final = "-"  # how a timed-out answer is stored, and a question never reached


def answer_key(selected: str | None) -> str:
    """One answer as a comparable string (A–D: the stored letter)."""
    return selected or NO_ANSWER


def correct_key(question: QuizQuestion) -> str:
    return question.correct_answer


def key_text(question: QuizQuestion, key: str) -> str:
    """The option a key names, for showing a wrong answer ("" when it names none)."""
    if key in LETTERS:
        return getattr(question, f"option_{key.lower()}")
    return ""


@dataclass(frozen=True, slots=True)
class QuestionStat:
    id: int
    number: int  # position in the quiz, 1-based
    text: str
    correct_key: str
    seen: int  # counted attempts that contained the question
    correct: int
    no_answer: int  # timed out or never reached
    wrong: tuple[tuple[str, int], ...]  # wrong keys chosen, most chosen first, then by key
    top_wrong_text: str  # the option of ``wrong[0]`` ("" without wrong answers)

    @property
    def percent(self) -> int:
        """Share correct in whole percent, halves up (0 when nobody saw it)."""
        return (200 * self.correct + self.seen) // (2 * self.seen) if self.seen else 0

    @property
    def top_wrong(self) -> tuple[str, int] | None:
        return self.wrong[0] if self.wrong else None


@dataclass(frozen=True, slots=True)
class QuizQuestionStats:
    quiz: QuizInfo
    attempts: int  # counted first attempts
    questions: tuple[QuestionStat, ...]  # in quiz order

    @property
    def most_missed(self) -> QuestionStat | None:
        """The lowest share correct among questions someone saw; the earlier one on a tie."""
        seen = [q for q in self.questions if q.seen]
        if not seen:
            return None
        # correct/seen compared exactly: a/b < c/d ⇔ a·d < c·b
        best = seen[0]
        for q in seen[1:]:
            if q.correct * best.seen < best.correct * q.seen:
                best = q
        return best


def _attempt_questions(attempt: QuizAttempt) -> set[int]:
    try:
        ids = json.loads(attempt.question_ids or "[]")
    except ValueError:
        ids = []
    return {int(i) for i in ids}


def question_stats(mentor_id: int, quiz_id: int) -> QuizQuestionStats:
    """The statistics of every current question of the mentor's quiz (NotFound otherwise)."""
    info = get_quiz(mentor_id, quiz_id)
    attempts = [attempt for attempt, _ in first_attempts(quiz_id)]
    contained = {a.id: _attempt_questions(a) for a in attempts}
    answers: dict[tuple[int, int], tuple[str, bool]] = {}
    if attempts:
        rows = (
            QuizAnswer.select(QuizAnswer.attempt, QuizAnswer.question, QuizAnswer.selected_answer,
                              QuizAnswer.is_correct)
            .join(QuizAttempt)
            .where((QuizAttempt.quiz == quiz_id) & QuizAttempt.finished_at.is_null(False))
            .tuples()
        )
        for attempt_id, question_id, selected, is_correct in rows:
            if attempt_id in contained:
                answers[(attempt_id, question_id)] = (answer_key(selected), bool(is_correct))
                contained[attempt_id].add(question_id)
    questions = QuizQuestion.select().where(QuizQuestion.quiz == quiz_id).order_by(
        QuizQuestion.order, QuizQuestion.id
    )
    stats = []
    for number, question in enumerate(questions, start=1):
        seen = correct = no_answer = 0
        wrong: Counter[str] = Counter()
        for attempt in attempts:
            if question.id not in contained[attempt.id]:
                continue
            seen += 1
            key, is_correct = answers.get((attempt.id, question.id), (NO_ANSWER, False))
            if is_correct:
                correct += 1
            elif key == NO_ANSWER:
                no_answer += 1
            else:
                wrong[key] += 1
        ordered = tuple(sorted(wrong.items(), key=lambda item: (-item[1], item[0])))
        stats.append(QuestionStat(
            id=question.id, number=number, text=question.question_text,
            correct_key=correct_key(question), seen=seen, correct=correct, no_answer=no_answer,
            wrong=ordered, top_wrong_text=key_text(question, ordered[0][0]) if ordered else "",
        ))
    return QuizQuestionStats(info, len(attempts), tuple(stats))
