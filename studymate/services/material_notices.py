"""New material notices: a mentor's students hear about new files in a topic, once per burst.

Rules:
- Each upload into a topic pushes the topic's pending notice to ``WINDOW`` after it, so files
  added within ``WINDOW`` of each other make one notice ("3 new files in «Topic»").
- The number is counted when the notice goes out, from the files still there: deleting a new
  file lowers it, and a topic emptied of its new files again sends nothing.
- Students who turned "new materials" off get nothing; quiet hours hold it until they end.
- Test students get it like everyone else, as they do every other notice.

Durable and replica-safe: the pending notice is a ``MaterialNotice`` row (one per topic),
written in the upload's transaction. The sweeper takes a due row with ``SKIP LOCKED`` and a
delete conditional on the due time it read (an upload in between pushed it on: not taken), and
queues the outbox rows in the same transaction (call inside ``Db.run``), so each burst is
announced once, whichever replica gets there, and a crash in between leaves the row to retry.

Every function takes ``now`` (naive UTC), so tests move the clock instead of sleeping.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from studymate.db.connection import skip_locked
from studymate.db.models import Material, MaterialNotice, Mentor, Student, Topic, utcnow
from studymate.services import notifications
from studymate.services.notifications import Category, School
from studymate.services.outbox import Outgoing, enqueue

WINDOW: Final = dt.timedelta(minutes=10)
BATCH: Final = 50  # topics taken in one step


@dataclass(frozen=True, slots=True)
class MaterialNews:
    topic_id: int
    topic: str
    count: int
    chat_id: int
    language: str


def note_upload(topic_id: int, material_id: int, *, now: dt.datetime | None = None) -> None:
    """A file was added to the topic: its notice is due ``WINDOW`` from now (a pending one is
    pushed on and keeps its first file). Call in the upload's transaction."""
    due = (now or utcnow()) + WINDOW
    (
        MaterialNotice.insert(topic=topic_id, first_material=material_id, due_at=due)
        .on_conflict(conflict_target=[MaterialNotice.topic], update={MaterialNotice.due_at: due})
        .execute()
    )


def pending(topic_id: int) -> int:
    """How many new files the topic's pending notice would announce now (0: none pending)."""
    row = MaterialNotice.get_or_none(MaterialNotice.topic == topic_id)
    return 0 if row is None else _new_files(row)


def _new_files(row: MaterialNotice) -> int:
    return (
        Material.select()
        .where((Material.topic == row.topic_id) & (Material.id >= row.first_material))
        .count()
    )


def _take(row: MaterialNotice) -> bool:
    """The one right to announce this burst: the row is deleted unless an upload pushed it on
    since it was read (or another replica took it)."""
    return bool(
        MaterialNotice.delete()
        .where((MaterialNotice.id == row.id) & (MaterialNotice.due_at == row.due_at))
        .execute()
    )


def claim_due(*, now: dt.datetime | None = None) -> list[tuple[MaterialNotice, int]]:
    """Take the notices due by ``now``; each with the number of its files still there."""
    now = now or utcnow()
    rows = list(skip_locked(
        MaterialNotice.select().where(MaterialNotice.due_at <= now)
        .order_by(MaterialNotice.due_at, MaterialNotice.id).limit(BATCH)
    ))
    return [(row, _new_files(row)) for row in rows if _take(row)]


def _students(topic: Topic) -> list[tuple[int, str]]:
    query = (
        Student.select(Student.telegram_id, Student.language)
        .join(Mentor)
        .where((Student.mentor == topic.mentor_id) & Mentor.is_active & Student.blocked_at.is_null())
        .order_by(Student.id)
    )
    return [(s.telegram_id, s.language) for s in query]


def queue_due(
    message_for: Callable[[MaterialNews], Outgoing], *, now: dt.datetime | None = None,
    school: School | None = None,
) -> int:
    """Claim the due notices and queue them for the students who want them; returns how many
    messages were queued."""
    now = now or utcnow()
    queued = 0
    for row, count in claim_due(now=now):
        topic = Topic.get_or_none(Topic.id == row.topic_id)
        if topic is None or count == 0:
            continue  # the topic was deleted, or its new files were
        messages = notifications.plan(
            [message_for(MaterialNews(topic.id, topic.name, count, chat_id, lang))
             for chat_id, lang in _students(topic)],
            Category.MATERIALS, now=now, school=school,
        )
        if messages:
            enqueue(messages, kind="material_notice",
                    dedupe_prefix=f"materials:{topic.id}:{row.first_material}")
        queued += len(messages)
    return queued
