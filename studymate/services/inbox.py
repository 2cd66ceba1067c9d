"""The durable inbox of updates from Telegram.

A batch from getUpdates is stored in one statement before the next getUpdates confirms it to
Telegram; each update is marked handled once its handler finished (many marks in one statement).
A start finds the unhandled ones and handles them, in order. Handled rows are kept for a while
(a repeated delivery is recognised by its id) and then deleted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

from studymate.db.models import InboxUpdate, utcnow

KEEP_HANDLED: Final = dt.timedelta(hours=1)
MAX_REPLAYS: Final = 3  # an update that was unhandled at this many starts is given up


@dataclass(frozen=True, slots=True)
class Incoming:
    update_id: int
    user_id: int | None
    kind: str
    payload: str  # JSON


@dataclass(frozen=True, slots=True)
class Stored:
    update_id: int
    payload: str
    received_at: dt.datetime


def store(batch: list[Incoming], received_at: dt.datetime) -> set[int]:
    """Insert a batch; the ids that were new (one already stored is a repeated delivery)."""
    if not batch:
        return set()
    rows = [(u.update_id, u.user_id, u.kind, u.payload, received_at) for u in batch]
    fields = [
        InboxUpdate.update_id, InboxUpdate.user_id, InboxUpdate.kind, InboxUpdate.payload,
        InboxUpdate.received_at,
    ]
    query = (
        InboxUpdate.insert_many(rows, fields=fields)
        .on_conflict_ignore()
        .returning(InboxUpdate.update_id)
    )
    return {row.update_id for row in query.execute()}


def unhandled() -> tuple[list[Stored], list[int]]:
    """At a start: the updates left unhandled, oldest first, and the ids given up on (they
    were unhandled at ``MAX_REPLAYS`` starts already: perhaps they are what kills the bot)."""
    InboxUpdate.update(replays=InboxUpdate.replays + 1).where(
        InboxUpdate.handled_at.is_null()
    ).execute()
    rows = list(
        InboxUpdate.select(
            InboxUpdate.update_id, InboxUpdate.payload, InboxUpdate.received_at, InboxUpdate.replays
        )
        .where(InboxUpdate.handled_at.is_null())
        .order_by(InboxUpdate.update_id)
    )
    given_up = [r.update_id for r in rows if r.replays > MAX_REPLAYS]
    if given_up:
        mark_handled(given_up)
    return (
        [Stored(r.update_id, r.payload, r.received_at) for r in rows if r.replays <= MAX_REPLAYS],
        given_up,
    )


def mark_handled(update_ids: list[int], now: dt.datetime | None = None) -> int:
    if not update_ids:
        return 0
    return (
        InboxUpdate.update(handled_at=now or utcnow())
        .where(InboxUpdate.update_id.in_(update_ids) & InboxUpdate.handled_at.is_null())
        .execute()
    )


def last_stored_id() -> int | None:
    return InboxUpdate.select(InboxUpdate.update_id).order_by(InboxUpdate.update_id.desc()).scalar()


def delete_old(now: dt.datetime | None = None, keep: dt.timedelta = KEEP_HANDLED) -> int:
    """Retention: handled updates older than ``keep`` go."""
    cutoff = (now or utcnow()) - keep
    return InboxUpdate.delete().where(InboxUpdate.handled_at < cutoff).execute()
