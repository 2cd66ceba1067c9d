"""Pictures in quizzes: the ``Image:`` line of the .txt format and the .zip that brings them."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from quiz_pictures import PICTURE_QUIZ, make_zip, tiny_png

from studymate.config import LANGUAGES
from studymate.i18n import t
from studymate.services.quiz import bundle
from studymate.services.quiz.bundle import load_bundle, require_no_images
from studymate.services.quiz.format import IMAGE_ERROR_CODES, QuizFormatError, parse_quiz

ROOT = Path(__file__).resolve().parents[1]
OPTIONS = "A*) a\nB) b\n"


@pytest.mark.parametrize(("text", "image", "line", "question_text"), [
    (f"1. Q\nImage: graph.png\n{OPTIONS}", "graph.png", 2, "Q"),
    (f"1. Q\nimage:  Graph 1.JPG \n{OPTIONS}", "Graph 1.JPG", 2, "Q"),
    (f"1. Q\nКартинка: схема.jpeg\n{OPTIONS}", "схема.jpeg", 2, "Q"),
    (f"1. Q\nSúwret: a.png\n{OPTIONS}", "a.png", 2, "Q"),
    (f"1. Q\n{OPTIONS}Image: after.png\n", "after.png", 4, "Q"),  # after the options too
    ("1. 6 × 7?\nImage: x.png\nAnswer: 42\n", "x.png", 2, "6 × 7?"),  # a typed question
    (f"1. Q\nsecond line\n{OPTIONS}", None, None, "Q\nsecond line"),
])
def test_image_line_is_read_and_left_out_of_the_text(text, image, line, question_text):
    [question] = parse_quiz(text, file_name="f.txt").questions
    assert (question.image, question.image_line, question.text) == (image, line, question_text)


def test_image_line_inside_code_is_code():
    text = f"1. Q\n```\nImage: x.png\n```\n{OPTIONS}"
    [question] = parse_quiz(text, file_name="f.txt").questions
    assert question.image is None and "Image: x.png" in question.text


@pytest.mark.parametrize(("text", "code", "question", "line"), [
    (f"1. Q\n{OPTIONS}\n2. R\nImage: ../etc/passwd.png\n{OPTIONS}", "image_name_invalid", 2, 6),
    (f"1. Q\nImage: picture.gif\n{OPTIONS}", "image_name_invalid", 1, 2),
    (f"1. Q\nImage:\n{OPTIONS}", "image_name_invalid", 1, 2),
    (f"1. Q\nImage: a.png\nImage: b.png\n{OPTIONS}", "image_repeated", 1, 3),
])
def test_malformed_image_line_names_question_and_line(text, code, question, line):
    with pytest.raises(QuizFormatError) as caught:
        parse_quiz(text, file_name="f.txt")
    assert (caught.value.code, caught.value.question, caught.value.line) == (code, question, line)


def test_plain_txt_with_an_image_asks_for_a_zip():
    with pytest.raises(QuizFormatError) as caught:
        require_no_images(parse_quiz(PICTURE_QUIZ, file_name="f.txt"))
    assert (caught.value.code, caught.value.question, caught.value.line) == ("image_needs_zip", 1, 4)


def test_good_zip_gives_the_quiz_and_its_named_pictures():
    png = tiny_png()
    data = make_zip({
        "shapes/quiz.txt": PICTURE_QUIZ, "shapes/SQUARE.PNG": png, "shapes/unused.png": png,
        "__MACOSX/._quiz.txt": "junk", ".DS_Store": b"junk",
    })
    loaded = load_bundle(data)
    assert loaded.quiz.title == "Shapes" and loaded.file_name == "quiz.txt"
    assert loaded.pictures == {"square.png": png}
    assert [q.image for q in loaded.quiz.questions] == ["square.png", None]


def _refusal(data: bytes) -> QuizFormatError:
    with pytest.raises(QuizFormatError) as caught:
        load_bundle(data)
    return caught.value


def test_zip_refusals():
    png = tiny_png()
    assert _refusal(b"PK\x03\x04 not really").code == "zip_invalid"
    assert _refusal(make_zip({"square.png": png})).code == "zip_no_txt"
    several = _refusal(make_zip({"a.txt": PICTURE_QUIZ, "b.txt": PICTURE_QUIZ, "square.png": png}))
    assert (several.code, several.params["count"], several.params["names"]) == ("zip_several_txt", 2, "a.txt, b.txt")
    missing = _refusal(make_zip({"q.txt": PICTURE_QUIZ, "circle.png": png}))
    assert (missing.code, missing.question, missing.line, missing.params["name"]) == ("image_missing", 1, 4, "square.png")
    fake = _refusal(make_zip({"q.txt": PICTURE_QUIZ, "square.png": b"GIF89a not a png"}))
    assert (fake.code, fake.params["name"]) == ("image_not_image", "square.png")
    broken = _refusal(make_zip({"q.txt": PICTURE_QUIZ.replace("A*) Square", "A) Square"), "square.png": png}))
    assert broken.code == "no_correct"  # the quiz's own errors come through


def test_picture_over_5_mb_is_refused():
    big = tiny_png() + b"\x00" * (bundle.MAX_IMAGE_BYTES + 1)
    error = _refusal(make_zip({"q.txt": PICTURE_QUIZ, "square.png": big}))
    assert (error.code, error.params["name"], error.params["limit_mb"]) == ("image_too_large", "square.png", 5)


def test_zip_bombs_are_refused_before_unpacking():
    many = make_zip({"q.txt": PICTURE_QUIZ, **{f"{i}.png": b"x" for i in range(bundle.MAX_ENTRIES)}})
    assert _refusal(many).code == "zip_too_many_entries"
    # 61 MB of zeros deflate to ~60 KB: refused from the declared sizes, nothing unpacked.
    bomb = make_zip({"q.txt": PICTURE_QUIZ, "zeros.png": b"\x00" * (bundle.MAX_UNPACKED_BYTES + 1)})
    assert len(bomb) < 200_000
    assert _refusal(bomb).code == "zip_too_large"


def test_lying_sizes_are_not_trusted(tmp_path):
    """An entry whose header declares fewer bytes than it unpacks to is not read past them."""
    data = make_zip({"q.txt": PICTURE_QUIZ, "square.png": tiny_png() + b"\x00" * 100_000})
    target = tmp_path / "lying.zip"
    target.write_bytes(data)
    with zipfile.ZipFile(target) as archive:
        info = archive.getinfo("square.png")
    # Patch the declared size in the central directory (and the local header) to 100 bytes.
    raw = bytearray(data)
    packed = info.file_size.to_bytes(4, "little")
    for index in [i for i in range(len(raw) - 4) if raw[i : i + 4] == packed]:
        raw[index : index + 4] = (100).to_bytes(4, "little")
    error = _refusal(bytes(raw))
    assert error.code in {"zip_invalid", "image_not_image"}  # never 100 KB read


def test_every_picture_code_renders_in_every_language():
    params = {"question": 1, "line": 2, "snippet": "x", "name": "a.png", "limit": 5, "count": 2,
              "names": "a.txt, b.txt", "limit_mb": 5, "size_mb": "6.0"}
    for lang in LANGUAGES:
        for code in IMAGE_ERROR_CODES:
            rendered = t(f"quiz_error_{code}", lang, **params)
            assert rendered and "{" not in rendered and rendered != f"quiz_error_{code}"


def test_example_zip_parses():
    loaded = load_bundle((ROOT / "examples" / "quiz_pictures.zip").read_bytes())
    assert len(loaded.quiz.questions) >= 3
    assert {q.image for q in loaded.quiz.questions if q.image} == set(loaded.pictures)
    assert loaded.pictures
