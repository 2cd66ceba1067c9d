"""Topics and materials: every call names the mentor who acts.

Ownership is part of every query: a mentor can only see or change their own topics and
materials, so a crafted callback with another mentor's id finds nothing (``NotFound``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final

from peewee import JOIN, fn

from studymate.db.models import Download, Material, Student, Topic, utcnow
from studymate.services import material_notices
from studymate.services.errors import NotFound
from studymate.services.paging import Page, paginate

PAGE_SIZE: Final = 5
KINDS: Final = ("document", "photo", "video", "audio", "voice")
TOPIC_NAME_MAX: Final = 100
TITLE_MAX: Final = 200


class InvalidName(ValueError):
    """An empty or too long topic name or title; ``limit`` is the maximum length."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


@dataclass(frozen=True, slots=True)
class TopicRow:
    id: int
    name: str
    materials: int


@dataclass(frozen=True, slots=True)
class MaterialRow:
    id: int
    topic_id: int
    title: str
    file_id: str
    file_name: str
    kind: str


def clean_name(text: str, limit: int) -> str:
    cleaned = " ".join(text.split())
    if not cleaned or len(cleaned) > limit:
        raise InvalidName(limit)
    return cleaned


def _topic_query(mentor_id: int, *, non_empty: bool) -> Any:
    count = fn.COUNT(Material.id)
    query = (
        Topic.select(Topic.id, Topic.name, count.alias("n"))
        .join(Material, JOIN.LEFT_OUTER)
        .where(Topic.mentor == mentor_id)
        .group_by(Topic.id, Topic.name)
        .order_by(Topic.order, Topic.created_at, Topic.id)
    )
    return query.having(count > 0) if non_empty else query


def topics_page(mentor_id: int, page: int, *, non_empty: bool = False) -> Page[TopicRow]:
    """The mentor's topics with material counts; students see only topics with materials."""
    query = _topic_query(mentor_id, non_empty=non_empty)
    return paginate(query, page, lambda r: TopicRow(r.id, r.name, r.n))


def get_topic(mentor_id: int, topic_id: int) -> TopicRow:
    row = _topic_query(mentor_id, non_empty=False).where(Topic.id == topic_id).first()
    if row is None:
        raise NotFound(topic_id)
    return TopicRow(row.id, row.name, row.n)


def create_topic(mentor_id: int, name: str) -> TopicRow:
    topic = Topic.create(mentor=mentor_id, name=clean_name(name, TOPIC_NAME_MAX))
    return TopicRow(topic.id, topic.name, 0)


def rename_topic(mentor_id: int, topic_id: int, name: str) -> TopicRow:
    cleaned = clean_name(name, TOPIC_NAME_MAX)
    if not Topic.update(name=cleaned).where((Topic.id == topic_id) & (Topic.mentor == mentor_id)).execute():
        raise NotFound(topic_id)
    return get_topic(mentor_id, topic_id)


def delete_topic(mentor_id: int, topic_id: int) -> TopicRow:
    topic = get_topic(mentor_id, topic_id)
    Topic.delete().where((Topic.id == topic_id) & (Topic.mentor == mentor_id)).execute()
    return topic


def _material(row: Material) -> MaterialRow:
    return MaterialRow(row.id, row.topic_id, row.title, row.file_id, row.file_name, row.kind)


def materials_page(mentor_id: int, topic_id: int, page: int) -> Page[MaterialRow]:
    get_topic(mentor_id, topic_id)
    query = (
        Material.select()
        .where(Material.topic == topic_id)
        .order_by(Material.order, Material.created_at, Material.id)
    )
    return paginate(query, page, _material)


def add_material(
    mentor_id: int, topic_id: int, *, title: str, file_id: str, file_name: str, kind: str,
    now: dt.datetime | None = None,
) -> MaterialRow:
    """Add a file to the mentor's topic; the students hear of it in one notice per burst."""
    get_topic(mentor_id, topic_id)
    if kind not in KINDS:
        raise ValueError(f"unknown material kind {kind!r}")
    material = Material.create(
        topic=topic_id,
        title=clean_name(title, TITLE_MAX),
        file_id=file_id,
        file_name=(file_name or "")[:200],
        kind=kind,
        created_at=now or utcnow(),
    )
    material_notices.note_upload(topic_id, material.id, now=now)
    return _material(material)


def get_material(mentor_id: int, material_id: int) -> MaterialRow:
    row = (
        Material.select(Material)
        .join(Topic)
        .where((Material.id == material_id) & (Topic.mentor == mentor_id))
        .first()
    )
    if row is None:
        raise NotFound(material_id)
    return _material(row)


def delete_material(mentor_id: int, material_id: int) -> MaterialRow:
    material = get_material(mentor_id, material_id)
    Material.delete().where(Material.id == material_id).execute()
    return material


def record_download(student_telegram_id: int, material_id: int) -> None:
    """One row per download by a student (mentors' own taps are not counted)."""
    student = Student.get_or_none(Student.telegram_id == student_telegram_id)
    if student is not None:
        Download.create(student=student.id, material=material_id)
