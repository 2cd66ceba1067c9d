"""glibc's malloc arenas capped at two in the bot process (its budget is 100 MB resident).

glibc gives each thread that allocates its own arena, up to 8 per core, and keeps what a burst
freed in each; the bot's database thread (SQLite), its health checks and aiohttp's resolver
threads are enough to leave 1–2 MB more resident after a quiz load (``bench/quiz_load.py``).
Set here, not in supervisord.conf's environment, so ``scripts/run.sh`` and the benchmarks get it
too; ``MALLOC_ARENA_MAX`` in the environment still wins. Nothing happens on another C library.
"""

from __future__ import annotations

import ctypes
import os
from typing import Final

M_ARENA_MAX: Final = -8  # mallopt()'s parameter number, from glibc's malloc.h
ARENAS: Final = 2


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Cap malloc's arenas; call before the process starts threads. True when it was set."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS): left as it is
        return False
    return bool(mallopt(M_ARENA_MAX, arenas))
