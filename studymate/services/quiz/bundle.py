"""A quiz with pictures: one ``.zip`` holding one ``.txt`` quiz and the pictures it names.

The questions name their pictures with an ``Image: name.png`` line (``format.py``); here the
archive is opened, checked and read, all in memory and without trusting its headers:

- at most ``MAX_ENTRIES`` entries and ``MAX_UNPACKED_BYTES`` unpacked in all, counted from the
  declared sizes *before* anything is unpacked, and each entry is read no further than its
  declared size (``zipfile`` stops there and checks the CRC), so a zip bomb costs nothing;
- exactly one ``.txt`` (folders inside the archive are ignored, and so are the ``__MACOSX``
  and dot files that archivers add);
- every picture a question names is there (names match case-insensitively, wherever the file
  sits in the archive), is a PNG or JPEG by its first bytes and at most ``MAX_IMAGE_BYTES``;
  pictures that no question names are ignored.

Reading is CPU and memory work: the bot calls :func:`load_bundle` in a thread.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from typing import Final

from studymate.services.quiz.decoding import decode_quiz_bytes
from studymate.services.quiz.format import ParsedQuiz, QuizFormatError, parse_quiz

MAX_ZIP_BYTES: Final = 20 * 1024 * 1024  # the most a bot may download from Telegram
MAX_IMAGE_BYTES: Final = 5 * 1024 * 1024
MAX_ENTRIES: Final = 250  # 200 questions' pictures, the quiz and some leftovers
MAX_UNPACKED_BYTES: Final = 60 * 1024 * 1024
_PNG: Final = b"\x89PNG\r\n\x1a\n"
_JPEG: Final = b"\xff\xd8\xff"


@dataclass(frozen=True, slots=True)
class QuizBundle:
    text: str  # the quiz file's text (decoded as an uploaded .txt is)
    file_name: str  # the .txt's name, for the title when the quiz has no topic
    quiz: ParsedQuiz
    pictures: dict[str, bytes]  # the name written in the quiz → the picture's bytes


def is_zip_name(name: str | None) -> bool:
    return (name or "").strip().lower().endswith(".zip")


def require_no_images(quiz: ParsedQuiz) -> None:
    """A plain ``.txt`` upload has no pictures to show: point at its first ``Image:`` line."""
    for question in quiz.questions:
        if question.image is not None:
            raise QuizFormatError(
                "image_needs_zip", question=question.number, line=question.image_line,
                name=question.image,
            )


def _skipped(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    return name.endswith("/") or parts[0] == "__MACOSX" or parts[-1].startswith(".")


def _base(name: str) -> str:
    return name.replace("\\", "/").rsplit("/", 1)[-1]


def load_bundle(data: bytes) -> QuizBundle:
    """Given the bytes of an uploaded ``.zip``, return its quiz and the pictures it names, or
    raise :class:`QuizFormatError` (codes ``zip_*`` and ``image_*``, and those of the quiz)."""
    if len(data) > MAX_ZIP_BYTES:
        raise QuizFormatError("file_too_large", limit=MAX_ZIP_BYTES // 1024)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        raise QuizFormatError("zip_invalid") from None
    with archive:
        if len(infos) > MAX_ENTRIES:
            raise QuizFormatError("zip_too_many_entries", limit=MAX_ENTRIES, count=len(infos))
        if sum(info.file_size for info in infos) > MAX_UNPACKED_BYTES:
            raise QuizFormatError("zip_too_large", limit_mb=MAX_UNPACKED_BYTES // (1024 * 1024))
        files = [info for info in infos if not _skipped(info.filename)]
        texts = [info for info in files if info.filename.lower().endswith(".txt")]
        if not texts:
            raise QuizFormatError("zip_no_txt")
        if len(texts) > 1:
            names = ", ".join(_base(info.filename) for info in texts[:5])
            raise QuizFormatError("zip_several_txt", count=len(texts), names=names)
        quiz_file = texts[0]
        text = decode_quiz_bytes(_read(archive, quiz_file))
        file_name = _base(quiz_file.filename)
        quiz = parse_quiz(text, file_name=file_name)
        by_name = {_base(info.filename).casefold(): info for info in files if info is not quiz_file}
        pictures: dict[str, bytes] = {}
        for question in quiz.questions:
            name = question.image
            if name is None or name in pictures:
                continue
            info = by_name.get(name.casefold())
            if info is None:
                raise QuizFormatError(
                    "image_missing", question=question.number, line=question.image_line, name=name
                )
            if info.file_size > MAX_IMAGE_BYTES:
                raise QuizFormatError(
                    "image_too_large", name=name, limit_mb=MAX_IMAGE_BYTES // (1024 * 1024),
                    size_mb=f"{info.file_size / (1024 * 1024):.1f}",
                )
            picture = _read(archive, info)
            if not picture.startswith((_PNG, _JPEG)):
                raise QuizFormatError("image_not_image", name=name)
            pictures[name] = picture
    return QuizBundle(text=text, file_name=file_name, quiz=quiz, pictures=pictures)


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    try:
        return archive.read(info)
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, ValueError, EOFError, OSError):
        raise QuizFormatError("zip_invalid") from None
