"""New material notices (services.material_notices) with an injected clock: a burst of uploads
makes one notice, the 🔔 toggle and quiet hours are respected, deletions lower the number, and
replicas claiming together send it once."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from test_replica_safety import together

from studymate.db.models import MaterialNotice, OutboxMessage, Student
from studymate.services import material_notices, materials, mentors, notifications
from studymate.services.notifications import Category, School
from studymate.services.outbox import Outgoing

TZ = ZoneInfo("Asia/Tashkent")  # UTC+5
SCHOOL = School(TZ, (22 * 60, 8 * 60))
NOON = dt.datetime(2026, 2, 10, 7, 0)  # 12:00 in Tashkent
MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def school(db):
    mentors.add_mentor(telegram_id=1001, name="Anna", group_chat_id=-100500, language="ru")
    mentors.add_mentor(telegram_id=1002, name="Boris", group_chat_id=-100600, language="ru")
    for n, lang in enumerate(("ru", "en", "kaa")):
        Student.create(telegram_id=2001 + n, mentor=1, first_name=f"S{n}", language=lang)
    Student.create(telegram_id=3001, mentor=2, first_name="Other")  # another mentor's student
    return materials.create_topic(1, "Algebra")


def upload(topic_id: int, at: dt.datetime, title: str = "File") -> materials.MaterialRow:
    return materials.add_material(1, topic_id, title=title, file_id=f"f-{at:%H%M%S}",
                                  file_name="a.pdf", kind="document", now=at)


def news(item: material_notices.MaterialNews) -> Outgoing:
    return Outgoing(item.chat_id, "sendMessage", {"text": f"{item.language}:{item.topic}:{item.count}"})


def step(at: dt.datetime) -> int:
    return material_notices.queue_due(news, now=at, school=SCHOOL)


def queued() -> list[tuple[int, str, dt.datetime]]:
    """What was queued, in order."""
    return [(m.chat_id, json.loads(m.payload)["text"], m.next_attempt_at)
            for m in OutboxMessage.select().order_by(OutboxMessage.id)]


def test_three_files_within_ten_minutes_make_one_notice_a_later_file_another(school):
    for minutes in (0, 4, 8):
        upload(school.id, NOON + minutes * MINUTE)
    # Ten minutes after the first file the burst is still going on (the last came at +8).
    assert step(NOON + 10 * MINUTE) == 0
    assert step(NOON + 17 * MINUTE) == 0
    assert step(NOON + 18 * MINUTE) == 3
    at = NOON + 18 * MINUTE
    assert sorted(queued()) == [(2001, "ru:Algebra:3", at), (2002, "en:Algebra:3", at),
                                (2003, "kaa:Algebra:3", at)]
    # Looking again (a restart, another replica) sends nothing more.
    assert step(NOON + 30 * MINUTE) == 0
    # A fourth file 15 minutes after the third: a notice of its own, about one file.
    upload(school.id, NOON + 23 * MINUTE)
    assert step(NOON + 32 * MINUTE) == 0
    assert step(NOON + 33 * MINUTE) == 3
    assert [text for chat, text, _ in queued() if chat == 2001] == ["ru:Algebra:3", "ru:Algebra:1"]


def test_students_who_turned_new_materials_off_get_none(school):
    off = Student.get(Student.telegram_id == 2002)
    notifications.toggle(off.id, Category.MATERIALS)
    notifications.toggle(off.id, Category.REMINDERS)  # another category does not matter
    upload(school.id, NOON)
    assert step(NOON + 10 * MINUTE) == 2
    assert sorted(chat for chat, _, _ in queued()) == [2001, 2003]


def test_a_notice_due_in_quiet_hours_is_delivered_when_they_end(school):
    late = dt.datetime(2026, 2, 10, 18, 0)  # 23:00 in Tashkent
    morning = dt.datetime(2026, 2, 11, 3, 0)  # 08:00
    sleepy = Student.get(Student.telegram_id == 2003)
    notifications.set_quiet_hours(sleepy.id, 0, 0)  # no quiet hours of their own
    upload(school.id, late)
    assert step(late + 10 * MINUTE) == 3
    held = {chat: at for chat, _, at in queued()}
    assert held == {2001: morning, 2002: morning, 2003: late + 10 * MINUTE}


def test_deleting_new_files_lowers_the_count_and_an_emptied_topic_sends_nothing(school):
    old = upload(school.id, NOON - dt.timedelta(days=1), "Old")
    assert step(NOON) == 3  # yesterday's file, announced yesterday (the clock says so)
    first = upload(school.id, NOON, "A")
    upload(school.id, NOON + MINUTE, "B")
    materials.delete_material(1, first.id)
    materials.delete_material(1, old.id)  # an already announced file does not count
    assert material_notices.pending(school.id) == 1
    assert step(NOON + 11 * MINUTE) == 3
    assert [text for chat, text, _ in queued() if chat == 2001] == ["ru:Algebra:1", "ru:Algebra:1"]
    # Two more, both deleted before their notice: nothing goes out, nothing is left pending.
    c, d = upload(school.id, NOON + 20 * MINUTE, "C"), upload(school.id, NOON + 21 * MINUTE, "D")
    materials.delete_material(1, c.id)
    materials.delete_material(1, d.id)
    assert step(NOON + 40 * MINUTE) == 0
    assert MaterialNotice.select().count() == 0
    assert len(queued()) == 6


def test_a_deleted_topic_sends_nothing(school):
    upload(school.id, NOON)
    materials.delete_topic(1, school.id)
    assert step(NOON + 10 * MINUTE) == 0
    assert queued() == []


def test_an_upload_after_the_notice_was_read_pushes_it_on(school):
    """A sweeper that read the row before another upload pushed it on does not take it."""
    upload(school.id, NOON)
    [row] = MaterialNotice.select()
    upload(school.id, NOON + 9 * MINUTE)
    assert material_notices._take(row) is False
    assert step(NOON + 10 * MINUTE) == 0
    assert step(NOON + 19 * MINUTE) == 3
    assert {text for _, text, _ in queued()} == {"ru:Algebra:2", "en:Algebra:2", "kaa:Algebra:2"}


def test_two_concurrent_claims_send_it_once(school, db):
    for minutes in (0, 1, 2):
        upload(school.id, NOON + minutes * MINUTE)
    db.close()
    counts = together(db, lambda: step(NOON + 15 * MINUTE), replicas=2)
    db.connect(reuse_if_open=True)
    assert sorted(counts) == [0, 3]
    assert sorted(chat for chat, _, _ in queued()) == [2001, 2002, 2003]


def test_of_two_sweepers_that_read_the_same_notice_one_takes_it(school):
    upload(school.id, NOON)
    first, second = MaterialNotice.get(), MaterialNotice.get()
    assert [material_notices._take(first), material_notices._take(second)] == [True, False]
