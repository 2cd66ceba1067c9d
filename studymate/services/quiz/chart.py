"""A bar chart of per-question shares as a PNG, drawn with the standard library alone.

The bot stays small (it must live in ≤ 100 MB resident), so no plotting or imaging library is
imported: the picture is a few filled rectangles and digits from a 3×5 bitmap font, written as a
truecolor PNG (filter 0 on every row, ``zlib`` for IDAT, ``zlib.crc32`` for the chunk CRCs).
Every word stays out of the picture (a Cyrillic font would be the heavy part); the caption of
the photo carries the title and legend in the reader's language.

Layout: one column per question, left to right in quiz order. Each column has a light track
over the full plot height and, from the baseline up, a bar whose height is the share correct
(``round_half_up(share × PLOT_HEIGHT)`` pixels). The bar's colour tells the band (green ≥ 70 %,
amber ≥ 40 %, red below), the question missed most is drawn in dark red. The percentage is
written above each bar ("-" for a question nobody has answered yet), the question number under
it, and the y axis has 0, 25, 50, 75 and 100 % gridlines.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

Color = tuple[int, int, int]

BACKGROUND: Final[Color] = (255, 255, 255)
TRACK: Final[Color] = (238, 241, 245)
GRID: Final[Color] = (214, 219, 226)
INK: Final[Color] = (55, 60, 70)
GOOD: Final[Color] = (67, 160, 71)
FAIR: Final[Color] = (245, 166, 35)
POOR: Final[Color] = (229, 83, 71)
WORST: Final[Color] = (150, 30, 30)
BAR_COLORS: Final = (GOOD, FAIR, POOR, WORST)

PLOT_HEIGHT: Final = 300
SCALE: Final = 2  # font pixels per bitmap dot
TOP: Final = 30  # room for the percentages above the bars
BOTTOM: Final = 30  # room for the question numbers
LEFT: Final = 50  # the y axis labels ("100%")
RIGHT: Final = 12
MIN_SLOT: Final = 28  # "200" in the font is 22 px wide
MAX_SLOT: Final = 64
TARGET_WIDTH: Final = 720

# 3×5 glyphs, rows top to bottom, "#" = ink.
_FONT: Final = {
    "0": ("###", "#.#", "#.#", "#.#", "###"),
    "1": (".#.", "##.", ".#.", ".#.", "###"),
    "2": ("###", "..#", "###", "#..", "###"),
    "3": ("###", "..#", ".##", "..#", "###"),
    "4": ("#.#", "#.#", "###", "..#", "..#"),
    "5": ("###", "#..", "###", "..#", "###"),
    "6": ("###", "#..", "###", "#.#", "###"),
    "7": ("###", "..#", ".#.", ".#.", ".#."),
    "8": ("###", "#.#", "###", "#.#", "###"),
    "9": ("###", "#.#", "###", "..#", "###"),
    "%": ("#.#", "..#", ".#.", "#..", "#.#"),
    "-": ("...", "...", "###", "...", "..."),
}
GLYPH_W: Final = 3 * SCALE
GLYPH_H: Final = 5 * SCALE
GAP: Final = SCALE


@dataclass(frozen=True, slots=True)
class Bar:
    """One question's column: its number, correct / seen (``seen`` 0 = nobody yet)."""

    number: int
    correct: int
    seen: int
    worst: bool = False


def bar_height(correct: int, seen: int) -> int:
    """Pixels of a bar: the share of ``PLOT_HEIGHT``, rounded half up (0 when nobody answered)."""
    if seen <= 0:
        return 0
    return (2 * correct * PLOT_HEIGHT + seen) // (2 * seen)


def percent(correct: int, seen: int) -> int:
    return (200 * correct + seen) // (2 * seen) if seen > 0 else 0


def slot_width(count: int) -> int:
    return max(MIN_SLOT, min(MAX_SLOT, TARGET_WIDTH // max(count, 1)))


def size(count: int) -> tuple[int, int]:
    """(width, height) of the chart of ``count`` bars (200 bars: 5,662 × 360, within
    Telegram's photo limits of width + height ≤ 10,000 and a side ratio ≤ 20)."""
    return LEFT + slot_width(count) * max(count, 1) + RIGHT, TOP + PLOT_HEIGHT + BOTTOM


class _Canvas:
    """The PNG's filtered scanlines themselves (a 0 filter byte, then RGB), so the picture is
    compressed without a copy: the largest chart costs about 6 MB while it is drawn."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.stride = 1 + 3 * width
        row = b"\x00" + bytes(BACKGROUND) * width
        self.data = bytearray(row) * height  # one allocation, no bytes copy first

    def fill(self, x0: int, y0: int, x1: int, y1: int, color: Color) -> None:
        """The rectangle [x0, x1) × [y0, y1), clipped to the canvas."""
        x0, x1 = max(0, x0), min(self.width, x1)
        y0, y1 = max(0, y0), min(self.height, y1)
        if x0 >= x1:
            return
        run = bytes(color) * (x1 - x0)
        for y in range(y0, y1):
            start = y * self.stride + 1 + x0 * 3
            self.data[start : start + len(run)] = run

    def text(self, x: int, y: int, text: str, color: Color = INK) -> None:
        for index, char in enumerate(text):
            glyph = _FONT[char]
            left = x + index * (GLYPH_W + GAP)
            for row, line in enumerate(glyph):
                for col, dot in enumerate(line):
                    if dot == "#":
                        self.fill(left + col * SCALE, y + row * SCALE,
                                  left + (col + 1) * SCALE, y + (row + 1) * SCALE, color)

    def png(self) -> bytes:
        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return b"".join((
            b"\x89PNG\r\n\x1a\n",
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(self.data, 6)),
            _chunk(b"IEND", b""),
        ))


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def text_width(text: str) -> int:
    return len(text) * (GLYPH_W + GAP) - GAP if text else 0


def _color(bar: Bar) -> Color:
    if bar.worst:
        return WORST
    share = percent(bar.correct, bar.seen)
    return GOOD if share >= 70 else FAIR if share >= 40 else POOR


def bar_chart_png(bars: Sequence[Bar]) -> bytes:
    """The chart of ``bars`` (at most ``format.MAX_QUESTIONS``, 200) as PNG bytes."""
    width, height = size(len(bars))
    slot = slot_width(len(bars))
    canvas = _Canvas(width, height)
    baseline = TOP + PLOT_HEIGHT  # first row below the plot
    plot_right = LEFT + slot * max(len(bars), 1)
    for share in (0, 25, 50, 75, 100):
        y = baseline - share * PLOT_HEIGHT // 100
        canvas.fill(LEFT - 4, y - 1 if share else y, plot_right, y + 1 if share else y + 2,
                    GRID if share else INK)
        label = f"{share}%"
        canvas.text(LEFT - 8 - text_width(label), y - GLYPH_H // 2, label)
    for index, bar in enumerate(bars):
        x0 = LEFT + index * slot + 4
        x1 = LEFT + (index + 1) * slot - 4
        canvas.fill(x0, TOP, x1, baseline, TRACK)
        tall = bar_height(bar.correct, bar.seen)
        canvas.fill(x0, baseline - tall, x1, baseline, _color(bar))
        middle = (x0 + x1) // 2
        label = str(percent(bar.correct, bar.seen)) if bar.seen else "-"
        canvas.text(middle - text_width(label) // 2, max(2, baseline - tall - GLYPH_H - 4), label)
        number = str(bar.number)
        canvas.text(middle - text_width(number) // 2, baseline + 8, number)
    return canvas.png()
