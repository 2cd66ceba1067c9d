"""The durable inbox: stored once, handled once, leftovers replayed, old rows deleted; and what
a replayed update may find already done."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendMessage
from aiogram.types import Update, User

from studymate.bot.durable_polling import ReplayTolerance, _incoming, replaying
from studymate.bot.infra.throttling import Throttle
from studymate.bot.middlewares.throttling import ThrottlingMiddleware
from studymate.db.connection import Db
from studymate.db.models import InboxUpdate, utcnow
from studymate.services import inbox

T0 = dt.datetime(2026, 3, 10, 9, 0, 0)
TAP = {
    "update_id": 501,
    "callback_query": {
        "id": "77", "chat_instance": "1", "data": "qa:1:2:B",
        "from": {"id": 2001, "is_bot": False, "first_name": "Ali", "language_code": "ru"},
        "message": {"message_id": 3, "date": 1767000000, "text": "❓ Question 1",
                    "chat": {"id": 2001, "type": "private", "first_name": "Ali"}},
    },
}
TEXT = {
    "update_id": 502,
    "message": {"message_id": 4, "date": 1767000001, "text": "📝 Квизы",
                "from": {"id": 2001, "is_bot": False, "first_name": "Ali"},
                "chat": {"id": 2001, "type": "private", "first_name": "Ali"}},
}


def incoming(raw: dict) -> inbox.Incoming:
    return _incoming(Update.model_validate(raw))


def test_an_update_is_stored_as_telegram_sent_it():
    for raw in (TAP, TEXT):
        row = incoming(raw)
        assert (row.update_id, row.user_id) == (raw["update_id"], 2001)
        assert json.loads(row.payload) == raw  # what a restart parses is what arrived
    assert incoming(TAP).kind == "callback_query" and incoming(TEXT).kind == "message"


def test_stored_once_handled_once_leftovers_in_order(db):
    assert inbox.store([incoming(TEXT), incoming(TAP)], received_at=T0) == {501, 502}
    # Telegram delivers a batch again (it was not confirmed before a crash): nothing new.
    assert inbox.store([incoming(TAP)], received_at=T0 + dt.timedelta(seconds=5)) == set()
    assert InboxUpdate.get_by_id(501).received_at == T0  # the first arrival counts
    inbox.mark_handled([502], now=T0)
    left, given_up = inbox.unhandled()
    assert [(r.update_id, r.received_at) for r in left] == [(501, T0)] and given_up == []
    # An update that a start after start leaves unhandled (it may be what kills the bot).
    for _ in range(inbox.MAX_REPLAYS - 1):
        assert [r.update_id for r in inbox.unhandled()[0]] == [501]
    assert inbox.unhandled() == ([], [501])
    assert InboxUpdate.select().where(InboxUpdate.handled_at.is_null()).count() == 0


def test_old_handled_updates_are_deleted(db):
    inbox.store([incoming(TEXT), incoming(TAP)], received_at=T0)
    inbox.mark_handled([502], now=T0)
    assert inbox.delete_old(now=T0 + inbox.KEEP_HANDLED / 2) == 0
    assert inbox.delete_old(now=T0 + inbox.KEEP_HANDLED * 2) == 1  # unhandled ones stay
    assert [u.update_id for u in InboxUpdate.select()] == [501]


@pytest.mark.parametrize(
    ("method", "error", "tolerated"),
    [
        (AnswerCallbackQuery(callback_query_id="77"),
         "query is too old and response timeout expired or query ID is invalid", True),
        (EditMessageText(text="x", chat_id=1, message_id=2),
         "message is not modified: specified new message content and reply markup are "
         "exactly the same as a current content and reply markup of the message", True),
        (SendMessage(chat_id=1, text="x"), "chat not found", False),
        (EditMessageText(text="x", chat_id=1, message_id=2), "message to edit not found", False),
    ],
)
async def test_a_replayed_update_finds_some_things_already_done(method, error, tolerated):
    async def telegram(bot, called):
        raise TelegramBadRequest(method=called, message=error)

    middleware = ReplayTolerance()
    with pytest.raises(TelegramBadRequest):  # a first handling: every error is an error
        await middleware(telegram, None, method)
    token = replaying.set(True)
    try:
        if tolerated:
            assert await middleware(telegram, None, method) is True
        else:
            with pytest.raises(TelegramBadRequest):
                await middleware(telegram, None, method)
    finally:
        replaying.reset(token)


async def test_replayed_taps_are_not_throttled(db):
    """Leftovers come back to back; they were not a flood when the user sent them."""
    middleware = ThrottlingMiddleware(
        Throttle(), db=Db(db), default_language="ru", message_interval=0.5, callback_interval=0.3
    )
    handled = []

    async def handler(event, data):
        handled.append(event)

    user = User(id=2001, is_bot=False, first_name="Ali")
    for n in range(3):
        await middleware(handler, n, {"event_from_user": user, "replayed": True})
    assert handled == [0, 1, 2]


async def test_a_replayed_tap_that_began_the_running_quiz_passes_the_quiz_gate(db):
    """The start tap, handled before a crash but not marked: the quiz it began now runs, and
    the gate would refuse it ("finish the quiz first") instead of showing the question."""
    from studymate.bot.middlewares.identity import AccessGate
    from studymate.db.models import Quiz, QuizAttempt, QuizQuestion
    from studymate.services import enrollment, mentors
    from studymate.services.enrollment import TelegramProfile
    from studymate.services.quiz import engine as quiz_engine

    mentors.add_mentor(telegram_id=1001, name="Anna", group_chat_id=-1, language="ru")
    enrollment.enroll(TelegramProfile(2001, None, "Ali", ""), mentor_id=1, language="ru")
    quiz = Quiz.create(mentor=1, title="Python", quiz_type="practice")
    QuizQuestion.create(quiz=quiz, question_text="Q", option_a="a", option_b="b", option_c="c",
                        option_d="d", correct_answer="A", order=1)
    arrived = utcnow() - dt.timedelta(seconds=5)
    view = quiz_engine.start(2001, quiz.id, tz=enrollment_tz(), now=arrived + dt.timedelta(seconds=1))
    identity = enrollment.identify(2001, ttl=300)
    assert identity.quiz_attempt == view.attempt_id == QuizAttempt.get().id
    passed = []

    async def handler(event, data):
        passed.append(data.get("received_at"))

    gate, base = AccessGate(), {"identity": identity, "db": Db(db), "membership": None}
    await gate(handler, object(), {**base, "replayed": True, "received_at": arrived})
    await gate(handler, object(), {**base, "received_at": arrived})  # a first handling: refused
    await gate(handler, object(), {**base, "replayed": True,  # arrived once it ran: refused
                                   "received_at": arrived + dt.timedelta(seconds=2)})
    assert passed == [arrived]


def enrollment_tz():
    from zoneinfo import ZoneInfo

    return ZoneInfo("Asia/Tashkent")
