"""The quiz parser takes time linear in its input, on the worst files too (a 2 MB upload must
not hold a CPU for seconds or hours). Each parse runs in a child process with a time limit, so
a regression fails the test instead of hanging it."""

from __future__ import annotations

import subprocess
import sys

import pytest

MB2 = 2 * 1024 * 1024 - 64
KB200 = 200 * 1024

PARSE = """
import sys, time
from studymate.services.quiz.format import QuizFormatError
from studymate.services.quiz.decoding import load_quiz
kind, size = sys.argv[1], int(sys.argv[2])
def body(n):
    if kind == "indented_numbers":  # " 1." lines
        return " 1.\\n" * (n // 4)
    if kind == "numbers":  # "1." lines: a question each
        return "1.\\n" * (n // 3)
    if kind == "blank_after_number":  # "1" then spaces that never reach the dot
        return "1" + " " * (n - 2) + "x"
    if kind == "tabs_after_number":
        return "1" + "\\t" * (n // 4 - 2) + "x"
    if kind == "blank_after_letter":  # an option letter, then spaces that never reach ")"
        return "1. Q\\nA" + " " * (n - 8) + "x"
    if kind == "blank_lines_after_letter":
        return "1. Q\\n" + ("A" + " " * 200 + "x\\n") * (n // 203)
    raise SystemExit(kind)
data = body(size).encode()[:size]
start = time.process_time()
try:
    load_quiz(data, file_name="q.txt")
except QuizFormatError:
    pass
print(time.process_time() - start)
"""

KINDS = ["indented_numbers", "numbers", "blank_after_number", "tabs_after_number",
         "blank_after_letter", "blank_lines_after_letter"]


def cpu_seconds(kind: str, size: int) -> float:
    try:
        done = subprocess.run([sys.executable, "-c", PARSE, kind, str(size)],
                              capture_output=True, text=True, timeout=15, check=True)
    except subprocess.TimeoutExpired:
        pytest.fail(f"parsing {size} bytes of {kind} took more than 15 s")
    return float(done.stdout)


@pytest.mark.parametrize("kind", KINDS)
def test_worst_case_2_mb_parses_in_well_under_a_second_and_linearly(kind):
    small, big = cpu_seconds(kind, KB200), cpu_seconds(kind, MB2)
    assert big < 1.5, f"{kind}: 2 MB took {big:.2f} s"
    assert big < 20 * small + 0.2, f"{kind}: 200 KB {small:.3f} s, 2 MB {big:.3f} s"
