"""The outbox: bulk sends as rows, sent by one paced sender exactly once.

A row goes pending → sending (claimed with a lease) → sent | failed. Claiming is a conditional
update, so two senders (or replicas) never take the same row. A row left in ``sending`` by a
process that died is taken again after its lease: delivery is at-least-once for the one message
that was in flight at a crash, exactly-once for everything else, and a graceful stop finishes
the message in flight before it exits.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Final

from peewee import fn

from studymate.db.connection import skip_locked
from studymate.db.models import OutboxBatch, OutboxMessage, Student, utcnow

LEASE_SECONDS: Final = 20  # > the sender's request timeout: a live claim never expires
MAX_ATTEMPTS: Final = 5


@dataclass(frozen=True, slots=True)
class Outgoing:
    chat_id: int
    method: str  # sendMessage | copyMessage | sendDocument | ...
    params: dict[str, Any]
    # Not sent before this (naive UTC): a notice held until the student's quiet hours end.
    not_before: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    batch_id: int | None
    chat_id: int
    method: str
    params: dict[str, Any]
    attempts: int


@dataclass(frozen=True, slots=True)
class BatchProgress:
    batch_id: int
    kind: str
    total: int
    sent: int
    failed: int
    status_chat_id: int | None
    status_message_id: int | None
    finished: bool
    mentor_id: int | None

    @property
    def done(self) -> int:
        return self.sent + self.failed


def enqueue(
    messages: list[Outgoing],
    *,
    kind: str,
    mentor_id: int | None = None,
    status_chat_id: int | None = None,
    status_message_id: int | None = None,
    dedupe_prefix: str | None = None,
) -> int:
    """Store a batch of messages to send; returns the batch id. Call inside one transaction."""
    batch = OutboxBatch.create(
        mentor=mentor_id,
        kind=kind,
        total=len(messages),
        status_chat_id=status_chat_id,
        status_message_id=status_message_id,
    )
    now = utcnow()
    rows = [
        {
            "batch": batch.id,
            "chat_id": m.chat_id,
            "method": m.method,
            "payload": json.dumps(m.params, ensure_ascii=False),
            "next_attempt_at": m.not_before or now,
            "dedupe_key": f"{dedupe_prefix}:{m.chat_id}" if dedupe_prefix else None,
        }
        for m in messages
    ]
    for start in range(0, len(rows), 500):
        query = OutboxMessage.insert_many(rows[start : start + 500])
        if dedupe_prefix:
            query = query.on_conflict_ignore()
        query.execute()
    if not rows:
        batch.finished_at = now
        batch.save()
    return batch.id


def claim_due(limit: int, *, now: dt.datetime | None = None) -> list[Claimed]:
    """Take up to ``limit`` rows that are due (pending, or sending with an expired lease).

    Each row is taken with a conditional update that re-checks it is still due, so when two
    senders race for a row exactly one of them gets it; on PostgreSQL the candidates are locked
    with ``SKIP LOCKED`` as well, so replicas claiming at the same moment take different rows.
    """
    now = now or utcnow()
    due = (
        (OutboxMessage.status == "pending") & (OutboxMessage.next_attempt_at <= now)
    ) | ((OutboxMessage.status == "sending") & (OutboxMessage.claimed_until < now))
    candidates = list(
        skip_locked(OutboxMessage.select().where(due).order_by(OutboxMessage.id).limit(limit))
    )
    lease = now + dt.timedelta(seconds=LEASE_SECONDS)
    claimed = []
    for row in candidates:
        taken = (
            OutboxMessage.update(
                status="sending", claimed_until=lease, attempts=OutboxMessage.attempts + 1
            )
            .where((OutboxMessage.id == row.id) & due)
            .execute()
        )
        if taken:
            params = json.loads(row.payload)
            claimed.append(
                Claimed(row.id, row.batch_id, row.chat_id, row.method, params, row.attempts + 1)
            )
    return claimed


def mark_sent(message_id: int) -> None:
    OutboxMessage.update(status="sent", sent_at=utcnow(), claimed_until=None, error=None).where(
        OutboxMessage.id == message_id
    ).execute()


def mark_failed(message_id: int, error: str, *, blocked: bool = False) -> None:
    row = OutboxMessage.get_by_id(message_id)
    row.status, row.error, row.claimed_until = "failed", error[:500], None
    row.save()
    if blocked:
        (
            Student.update(blocked_at=utcnow())
            .where(Student.telegram_id == row.chat_id)
            .execute()
        )


def retry_later(message_id: int, at: dt.datetime, *, count_attempt: bool = True) -> None:
    """Put a claimed row back; flood waits (429) do not count as failed attempts."""
    update: dict[Any, Any] = {
        OutboxMessage.status: "pending",
        OutboxMessage.next_attempt_at: at,
        OutboxMessage.claimed_until: None,
    }
    if not count_attempt:
        update[OutboxMessage.attempts] = OutboxMessage.attempts - 1
    OutboxMessage.update(update).where(OutboxMessage.id == message_id).execute()


def progress(batch_id: int) -> BatchProgress:
    batch = OutboxBatch.get_by_id(batch_id)
    counts = dict(
        OutboxMessage.select(OutboxMessage.status, fn.COUNT(OutboxMessage.id))
        .where(OutboxMessage.batch == batch_id)
        .group_by(OutboxMessage.status)
        .tuples()
    )
    sent, failed = counts.get("sent", 0), counts.get("failed", 0)
    return BatchProgress(
        batch_id=batch.id,
        kind=batch.kind,
        total=batch.total,
        sent=sent,
        failed=failed,
        status_chat_id=batch.status_chat_id,
        status_message_id=batch.status_message_id,
        finished=batch.finished_at is not None,
        mentor_id=batch.mentor_id,
    )


def finish_batch(batch_id: int) -> bool:
    """Mark a batch finished once; True for the caller that did it (it reports the result)."""
    return bool(
        OutboxBatch.update(finished_at=utcnow())
        .where((OutboxBatch.id == batch_id) & OutboxBatch.finished_at.is_null())
        .execute()
    )


def pending_count() -> int:
    return OutboxMessage.select().where(OutboxMessage.status.in_(("pending", "sending"))).count()


def complete_unfinished_batches() -> list[int]:
    """Batches whose every message is done but whose end was never reported (a crash)."""
    open_ids = [b.id for b in OutboxBatch.select(OutboxBatch.id).where(OutboxBatch.finished_at.is_null())]
    return [
        batch_id
        for batch_id in open_ids
        if not OutboxMessage.select()
        .where((OutboxMessage.batch == batch_id) & OutboxMessage.status.in_(("pending", "sending")))
        .exists()
    ]
