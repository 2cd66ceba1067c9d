"""How an update ended, told by the middleware that knows (errors, throttling) to the one that
counts (``metrics.UpdateMetrics``), without either importing the other or prometheus_client."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

# Set per update by the counting middleware; the handlers run in the same task, so they see it.
current: ContextVar[list[str] | None] = ContextVar("studymate_update_outcome", default=None)


def note_outcome(outcome: str) -> None:
    """Inside an update's handling: it ends as ``outcome`` (``error``, ``throttled``), not ok."""
    holder = current.get()
    if holder is not None:
        holder[0] = outcome


@contextlib.contextmanager
def tracked() -> Iterator[list[str]]:
    """For a middleware that counts: the update's outcome holder (``["ok"]`` at first), shared
    with an outer middleware that counts too, so every counter sees the same outcome."""
    holder = current.get()
    if holder is not None:
        yield holder
        return
    holder = ["ok"]
    token = current.set(holder)
    try:
        yield holder
    finally:
        current.reset(token)
