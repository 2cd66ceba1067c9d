"""Update ids accepted in webhook mode, kept in the database shared by every replica.

Redis may be absent or down; the database is the one store every replica writes through, so a
delivery repeated by Telegram or passed on by nginx to another replica is acted on once.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from studymate.db.models import WebhookUpdate, utcnow

KEEP: Final = dt.timedelta(hours=1)  # Telegram re-delivers within minutes


def accept(bot_id: int, update_id: int, *, now: dt.datetime | None = None) -> bool:
    """Remember ``update_id``; False when some replica accepted it already."""
    inserted = (
        WebhookUpdate.insert(bot_id=bot_id, update_id=update_id, accepted_at=now or utcnow())
        .on_conflict_ignore()
        .as_rowcount()
        .execute()
    )
    return inserted == 1


def forget_old(*, now: dt.datetime | None = None) -> int:
    """Drop ids older than ``KEEP``; returns how many."""
    cutoff = (now or utcnow()) - KEEP
    return WebhookUpdate.delete().where(WebhookUpdate.accepted_at < cutoff).execute()
