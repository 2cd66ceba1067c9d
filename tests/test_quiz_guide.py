"""The quiz-writing guide in /help shows, in each language, lines the quiz reader accepts: a
mentor who copies them gets the settings and kinds the guide promises."""

from __future__ import annotations

import html
import re

import pytest

from studymate.i18n import t
from studymate.services.quiz.format import MULTI, SINGLE, TYPED, parse_quiz

SNIPPET = re.compile(r"<code>([^<]+)</code>")


def snippets(lang: str) -> list[str]:
    return [html.unescape(s) for s in SNIPPET.findall(t("help_quiz_format", lang))]


@pytest.mark.parametrize("lang", ["en", "ru", "kaa"])
def test_the_guides_lines_make_a_quiz(lang):
    code = snippets(lang)
    header = [s for s in code if ":" in s and re.match(r"^\w+: \S", s) and not s.startswith(
        tuple(word for word in ("Answer", "Ответ", "Juwap", "Explanation", "Пояснение", "Túsindirme",
                                "Image", "Картинка", "Súwret", "Topic", "Тема", "Tema")))]
    answer = next(s for s in code if re.match(r"^(Answer|Ответ|Juwap): .*\|", s))
    explanation = next(s for s in code if re.match(r"^(Explanation|Пояснение|Túsindirme): ", s))
    assert len(header) == 3, header  # seconds, window, shuffle
    text = "\n".join([
        *header, "",
        "1. Capital of Karakalpakstan?", answer, explanation.replace("…", "Nukus is the capital."), "",
        "2. Pick the even numbers", "A*) 2", "B) 3", "C*) 4", "",
        "3. Pick one", "A) x", "B*) y", "C) z", "D) w", "E) v", "",
    ])
    quiz = parse_quiz(text, file_name="guide.txt")
    assert quiz.seconds == 30
    assert quiz.window_hours == 72
    assert quiz.shuffle_questions is False
    assert [q.kind for q in quiz.questions] == [TYPED, MULTI, SINGLE]
    assert len(quiz.questions[0].answers) == 2
    assert quiz.questions[0].explanation == "Nukus is the capital."
