"""Tiny pictures and zips for the quiz-pictures tests."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib


def tiny_png(color: tuple[int, int, int] = (200, 30, 30), size: int = 2) -> bytes:
    """A valid ``size``×``size`` RGB PNG of one colour."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes(color) * size
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(row * size)) + chunk(b"IEND", b""))


def make_zip(files: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content.encode() if isinstance(content, str) else content)
    return buffer.getvalue()


PICTURE_QUIZ = (
    "Topic: Shapes\n\n"
    "1. What shape is this?\nImage: square.png\nA*) Square\nB) Circle\n\n"
    "2. 2 + 2?\nA) 3\nB*) 4\n"
)
