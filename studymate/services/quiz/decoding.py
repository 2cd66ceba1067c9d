"""Bytes of an uploaded quiz file → text: UTF-8 (with or without BOM), UTF-16 and
Windows-1251, with a size limit and without control characters."""

from __future__ import annotations

from studymate.services.quiz.format import (
    _CONTROL_RE,
    DEFAULT_TITLE,
    MAX_FILE_BYTES,
    ParsedQuiz,
    QuizFormatError,
    normalize_text,
    parse_quiz,
)


def decode_quiz_bytes(data: bytes) -> str:
    """Given an uploaded file, return its text with LF line endings, or raise QuizFormatError.

    Tried in order: a BOM (UTF-8, UTF-16), BOM-less UTF-16 (NUL bytes in every other
    position), strict UTF-8, Windows-1251. Anything with NUL or other control bytes is
    reported as a non-text file (a .docx, .pdf or picture sent by mistake).
    """
    if len(data) > MAX_FILE_BYTES:
        raise QuizFormatError("file_too_large", limit=MAX_FILE_BYTES // 1024)
    text = _decode(data)
    text = normalize_text(text).rstrip("\x1a")  # DOS editors end files with Ctrl-Z
    if _CONTROL_RE.search(text):
        raise QuizFormatError("binary_file")
    if not text.strip():
        raise QuizFormatError("empty_file")
    return text


def _decode(data: bytes) -> str:
    boms = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
    for bom, encoding in boms:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(encoding)
            except UnicodeDecodeError:
                raise QuizFormatError("unknown_encoding") from None
    if b"\x00" in data:
        encoding = _bomless_utf16(data)
        if encoding is None:
            raise QuizFormatError("binary_file")
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            raise QuizFormatError("binary_file") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        if _mostly_utf8(data):
            raise QuizFormatError("unknown_encoding") from None
    try:
        return data.decode("cp1251")
    except UnicodeDecodeError:  # byte 0x98 is the only hole in cp1251
        raise QuizFormatError("unknown_encoding") from None


def _mostly_utf8(data: bytes) -> bool:
    """A UTF-8 file with a few damaged bytes (reading it as cp1251 would garble every letter).
    Real cp1251 text almost never forms valid UTF-8 sequences, so it has far more errors."""
    text = data.decode("utf-8", errors="replace")
    damaged = text.count("\ufffd")
    return sum(1 for char in text if char > "\x7f") - damaged > damaged


def _bomless_utf16(data: bytes) -> str | None:
    """UTF-16 without a BOM: text in Latin/Cyrillic has a NUL in (almost) every other byte."""
    if len(data) % 2:
        return None
    half = len(data) // 2
    even_nuls, odd_nuls = data[0::2].count(0), data[1::2].count(0)
    if odd_nuls >= 0.3 * half and even_nuls == 0:
        return "utf-16-le"
    if even_nuls >= 0.3 * half and odd_nuls == 0:
        return "utf-16-be"
    return None


def load_quiz(
    data: bytes, *, file_name: str | None, fallback_title: str = DEFAULT_TITLE
) -> ParsedQuiz:
    """Given the bytes of an uploaded document, return the parsed quiz (see parse_quiz)."""
    return parse_quiz(decode_quiz_bytes(data), file_name=file_name, fallback_title=fallback_title)
