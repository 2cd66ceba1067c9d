"""One line per event: time, level, logger, message. Bot tokens never reach the output."""

from __future__ import annotations

import logging
import re
import sys
from typing import Final

TOKEN_PATTERN: Final = re.compile(r"\d{5,20}:[A-Za-z0-9_-]{30,}")
FORMAT: Final = "%(asctime)s %(levelname)s %(name)s %(message)s"


def redact(text: str) -> str:
    return TOKEN_PATTERN.sub("<redacted-token>", text)


class RedactingFormatter(logging.Formatter):
    """Formats, then removes anything shaped like a bot token (URLs, tracebacks included)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter(FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("aiogram", "aiohttp.access", "peewee", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
