"""How an update ended, told by the middleware that knows (errors, throttling) to the one that
counts (``metrics.UpdateMetrics``), without either importing the other or prometheus_client."""

from __future__ import annotations

from contextvars import ContextVar

# Set per update by the counting middleware; the handlers run in the same task, so they see it.
current: ContextVar[list[str] | None] = ContextVar("studymate_update_outcome", default=None)


def note_outcome(outcome: str) -> None:
    """Inside an update's handling: it ends as ``outcome`` (``error``, ``throttled``), not ok."""
    holder = current.get()
    if holder is not None:
        holder[0] = outcome
