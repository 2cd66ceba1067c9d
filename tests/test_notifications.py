"""Notification rules (services.notifications, services.reminders) with an injected clock."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest

from studymate.db.models import OutboxMessage, Question, Quiz, QuizAttempt, Reminder, Student
from studymate.services import mentors, notifications, reminders
from studymate.services.notifications import Category, Prefs, School
from studymate.services.outbox import Outgoing
from studymate.services.quiz import schedule as quiz_openings

TZ = ZoneInfo("Asia/Tashkent")  # UTC+5
SCHOOL = School(TZ, (22 * 60, 8 * 60))
NOON = dt.datetime(2026, 2, 10, 7, 0)  # 12:00 in Tashkent
LATE = dt.datetime(2026, 2, 10, 18, 30)  # 23:30 in Tashkent
MORNING = dt.datetime(2026, 2, 11, 3, 0)  # 08:00 next day in Tashkent
TWO_HOURS = dt.timedelta(hours=2)


# --- pure rules ----------------------------------------------------------------------------------


def test_defaults_all_on_but_the_streak_nudge():
    prefs = notifications.DEFAULTS
    assert [prefs.allows(c) for c in notifications.MUTABLE] == [True, True, True, False]
    assert prefs.allows(Category.MENTOR)


def test_quiet_hours_shift_delivery_to_their_end():
    assert notifications.delivery_time(Prefs(), Category.REMINDERS, NOON, SCHOOL) == NOON
    assert notifications.delivery_time(Prefs(), Category.REMINDERS, LATE, SCHOOL) == MORNING
    # 02:00 local: the same night's end, not the next day's.
    two_am = dt.datetime(2026, 2, 10, 21, 0)
    assert notifications.delivery_time(Prefs(), Category.NEW_QUIZZES, two_am, SCHOOL) == MORNING
    # At 08:00 sharp the quiet hours are over.
    assert notifications.quiet_until(Prefs(), MORNING, SCHOOL) is None


def test_mentor_messages_are_never_muted_or_held():
    silent = Prefs(new_quizzes=False, reminders=False, materials=False, streak=False)
    assert notifications.delivery_time(silent, Category.MENTOR, LATE, SCHOOL) == LATE


def test_a_category_turned_off_is_never_delivered():
    off = Prefs(reminders=False)
    assert notifications.delivery_time(off, Category.REMINDERS, NOON, SCHOOL) is None
    assert notifications.delivery_time(off, Category.NEW_QUIZZES, NOON, SCHOOL) == NOON


def test_own_quiet_hours_and_none():
    own = Prefs(quiet_start=13 * 60, quiet_end=14 * 60)  # a daytime nap: 13:00–14:00
    at_13_30 = dt.datetime(2026, 2, 10, 8, 30)
    assert notifications.delivery_time(own, Category.REMINDERS, at_13_30, SCHOOL) == dt.datetime(2026, 2, 10, 9, 0)
    assert notifications.delivery_time(own, Category.REMINDERS, LATE, SCHOOL) == LATE
    none = Prefs(quiet_start=0, quiet_end=0)
    assert notifications.delivery_time(none, Category.REMINDERS, LATE, SCHOOL) == LATE
    assert notifications.delivery_time(Prefs(), Category.REMINDERS, LATE, School(TZ, (0, 0))) == LATE


# --- stored preferences --------------------------------------------------------------------------


@pytest.fixture
def school(db) -> int:
    mentors.add_mentor(telegram_id=1001, name="Anna", group_chat_id=-100500, language="ru")
    return 1


def student(telegram_id: int, **fields) -> Student:
    fields.setdefault("first_name", f"S{telegram_id}")
    return Student.create(telegram_id=telegram_id, mentor=1, **fields)


def test_toggles_and_quiet_hours_are_stored(school):
    s = student(2001)
    assert notifications.load(s.id) == notifications.DEFAULTS
    assert notifications.toggle(s.id, Category.REMINDERS).reminders is False
    assert notifications.toggle(s.id, Category.STREAK).streak is True
    shifted = notifications.shift_quiet_hours(s.id, start_by=60, school=SCHOOL)
    assert (shifted.quiet_start, shifted.quiet_end) == (23 * 60, 8 * 60)
    assert notifications.load(s.id) == Prefs(reminders=False, streak=True, quiet_start=23 * 60, quiet_end=8 * 60)
    assert notifications.load_for_chats([2001, 2002])[2002] == notifications.DEFAULTS
    with pytest.raises(ValueError):
        notifications.toggle(s.id, Category.MENTOR)


def test_new_quiz_notices_respect_the_toggle_and_quiet_hours(school):
    on, off, sleepy = student(2001), student(2002), student(2003)
    notifications.toggle(off.id, Category.NEW_QUIZZES)
    notifications.set_quiet_hours(sleepy.id, 9 * 60, 13 * 60)  # 09:00–13:00: noon is quiet
    messages = [Outgoing(s.telegram_id, "sendMessage", {"text": "new"}) for s in (on, off, sleepy)]
    assert quiz_openings.queue_notifications(7, messages, now=NOON, school=SCHOOL) == 2
    rows = {m.chat_id: m.next_attempt_at for m in OutboxMessage.select()}
    assert rows == {2001: NOON, 2003: dt.datetime(2026, 2, 10, 8, 0)}  # 13:00 local


# --- quiz reminders ----------------------------------------------------------------------------


def ranked(closes: dt.datetime, *, title: str = "Algebra", opened: dt.datetime | None = None) -> Quiz:
    return Quiz.create(mentor=1, title=title, quiz_type="ranked", max_attempts=1,
                       available_from=opened or closes - dt.timedelta(hours=48),
                       available_until=closes, notified_at=opened)


def reminder_for(due: reminders.QuizReminder) -> Outgoing:
    return Outgoing(due.chat_id, "sendMessage", {"text": f"{due.language}:{due.title}"})


def remind(now: dt.datetime) -> int:
    return reminders.queue_quiz_reminders(reminder_for, before=TWO_HOURS, now=now, school=SCHOOL)


def queued() -> list[tuple[int, str, dt.datetime]]:
    return sorted((m.chat_id, json.loads(m.payload)["text"], m.next_attempt_at)
                  for m in OutboxMessage.select())


def test_reminder_is_due_when_two_hours_are_left_and_sent_once(school):
    student(2001, language="en")
    student(2002)
    quiz = ranked(closes=NOON + dt.timedelta(hours=3))
    assert remind(NOON) == 0  # three hours left: too early
    due = NOON + dt.timedelta(hours=1, minutes=1)
    assert remind(due) == 2
    assert queued() == [(2001, "en:Algebra", due), (2002, "ru:Algebra", due)]
    assert remind(due + dt.timedelta(minutes=5)) == 0  # once only
    assert Reminder.select().where(Reminder.subject == str(quiz.id)).count() == 2


def test_no_reminder_after_the_quiz_was_taken_or_when_turned_off(school):
    took, off, other = student(2001), student(2002), student(2004)
    student(2003, blocked_at=NOON)  # known to have blocked the bot
    notifications.toggle(off.id, Category.REMINDERS)
    quiz = ranked(closes=NOON + dt.timedelta(hours=1))
    QuizAttempt.create(student=took, quiz=quiz, started_at=NOON - dt.timedelta(hours=1))
    ranked(closes=NOON - dt.timedelta(minutes=1), title="Closed")  # closed: no reminder
    assert remind(NOON) == 1
    assert [c for c, _, _ in queued()] == [other.telegram_id]


def test_reminder_due_in_quiet_hours_arrives_when_they_end_or_not_at_all(school):
    student(2001)
    ranked(closes=LATE + dt.timedelta(hours=1), title="Night")  # closes at 00:30: pointless at 08:00
    assert remind(LATE) == 0
    ranked(closes=MORNING + dt.timedelta(minutes=30), title="Morning")  # closes 08:30
    seven_am = MORNING - dt.timedelta(hours=1)
    assert remind(seven_am) == 1
    assert queued() == [(2001, "ru:Morning", MORNING)]


def test_replicas_racing_claim_each_reminder_once(school):
    """Two sweepers that both saw the student as due: only one insert wins the claim."""
    student(2001)
    quiz = ranked(closes=NOON + dt.timedelta(hours=1))
    [due] = reminders.due_quiz_reminders(now=NOON, before=TWO_HOURS)
    assert reminders.claim(reminders.QUIZ, due.chat_id, str(quiz.id), now=NOON) is True
    assert reminders.claim(reminders.QUIZ, due.chat_id, str(quiz.id), now=NOON) is False


# --- the mentors' digest -------------------------------------------------------------------------


def digest_for(d: reminders.Digest) -> Outgoing:
    return Outgoing(d.chat_id, "sendMessage", {"text": "|".join(q.text for q in d.questions)})


SIX_PM = dt.time(18, 0)
EVENING = dt.datetime(2026, 2, 10, 13, 30)  # 18:30 in Tashkent


def test_digest_lists_exactly_the_questions_unanswered_for_a_day(school):
    mentors.add_mentor(telegram_id=1002, name="Bob", group_chat_id=-100600, language="en")
    asker = student(2001)
    day = dt.timedelta(days=1)
    Question.create(mentor=1, student=asker, text="old one", created_at=EVENING - 2 * day)
    Question.create(mentor=1, student=asker, text="old two", created_at=EVENING - day - dt.timedelta(minutes=1))
    Question.create(mentor=1, student=asker, text="fresh", created_at=EVENING - dt.timedelta(hours=3))
    Question.create(mentor=1, student=asker, text="answered", created_at=EVENING - 3 * day, is_answered=True)
    Question.create(mentor=2, student=asker, text="bob's, fresh", created_at=EVENING - dt.timedelta(hours=1))
    before_six = EVENING - dt.timedelta(hours=1)
    assert reminders.queue_digests(digest_for, at=SIX_PM, now=before_six, school=SCHOOL) == 0
    assert reminders.queue_digests(digest_for, at=SIX_PM, now=EVENING, school=SCHOOL) == 1
    assert [(c, text) for c, text, _ in queued()] == [(1001, "old one|old two")]
    # Once a day, however often the sweeper looks; again the next evening (Bob's is old by then).
    assert reminders.queue_digests(digest_for, at=SIX_PM, now=EVENING + dt.timedelta(hours=3), school=SCHOOL) == 0
    assert reminders.queue_digests(digest_for, at=SIX_PM, now=EVENING + day, school=SCHOOL) == 2


# --- the streak nudge ----------------------------------------------------------------------------


def nudge_for(n: reminders.Nudge) -> Outgoing:
    return Outgoing(n.chat_id, "sendMessage", {"text": f"streak {n.streak}"})


def test_streak_nudge_is_opt_in_once_a_day_and_only_before_today_s_quiz(school):
    seven_pm = dt.time(19, 0)
    at = dt.datetime(2026, 2, 10, 14, 30)  # 19:30 in Tashkent
    yesterday, today = dt.date(2026, 2, 9), dt.date(2026, 2, 10)
    keen = student(2001, current_streak=4, last_quiz_date=yesterday)
    student(2002, current_streak=4, last_quiz_date=yesterday)  # did not opt in
    done = student(2003, current_streak=5, last_quiz_date=today)  # already did today's quiz
    short = student(2004, current_streak=2, last_quiz_date=yesterday)
    for s in (keen, done, short):
        notifications.toggle(s.id, Category.STREAK)
    assert reminders.queue_nudges(nudge_for, at=seven_pm, now=at - dt.timedelta(hours=1), school=SCHOOL) == 0
    assert reminders.queue_nudges(nudge_for, at=seven_pm, now=at, school=SCHOOL) == 1
    assert [(c, text) for c, text, _ in queued()] == [(2001, "streak 4")]
    assert reminders.queue_nudges(nudge_for, at=seven_pm, now=at + dt.timedelta(hours=1), school=SCHOOL) == 0


def test_a_held_reminder_is_not_sent_once_the_student_started_the_quiz(school):
    student(2001)
    quiz = ranked(closes=MORNING + dt.timedelta(minutes=30))
    assert remind(MORNING - dt.timedelta(hours=1)) == 1  # 07:00: held until 08:00
    assert reminders.cancel_quiz_reminder(quiz.id, 2001) is True
    [row] = OutboxMessage.select()
    assert row.status == "failed"
    assert reminders.cancel_quiz_reminder(quiz.id, 2001) is False



def test_a_quiz_open_for_less_than_the_lead_gets_no_reminder(school):
    """Its opening notice already says when it closes: a reminder at once would only nag."""
    student(2001)
    ranked(closes=NOON + dt.timedelta(minutes=50), opened=NOON - dt.timedelta(minutes=10), title="Short")
    assert remind(NOON) == 0
    ranked(closes=NOON + dt.timedelta(minutes=50), title="Long")  # open for two days
    assert remind(NOON) == 1
