"""aiogram's FSM middleware, minus its cost for quiz answers.

aiogram takes the user's event lock (a Redis lock shared by replicas, with a renewal task) and
reads the FSM state (a Redis read, or a database call on a worker thread) before any handler
runs. A quiz answer needs neither: its handler (the first router) uses no state, and the engine
serialises answers itself (one transaction reads the attempt and moves it on conditionally, so
a repeated or concurrent answer counts once). Answers get a lazy ``state`` context (nothing
read unless used) and no lock; every other update is handled as aiogram would.

A tap names its attempt in its callback data, so it is known at once. A typed answer is a
plain message, known only once the sender's identity shows a running attempt: in polling mode
the FSM step therefore runs on messages and callback queries after the identity middleware.
That order needs a user's updates to be handled one after the other, which durable polling
does (one process, in order); in webhook mode, where replicas handle a user's updates side by
side and the event lock is what keeps them apart, the step stays ahead of identity as aiogram
places it, and only taps skip it. While an attempt runs, the access gate lets only the quiz's
own handlers through (and /cancel, which reads the context when it uses it), so no form's
state filter is needed then; a leftover of a crashed run is the exception (it may belong to a
form left before the quiz began) and goes the usual way.
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.fsm.middleware import FSMContextMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject, Update

from studymate.bot.features.quiz.callbacks import AnswerCb
from studymate.bot.middlewares.basics import Handler

ANSWER_PREFIX = AnswerCb.__prefix__ + AnswerCb.__separator__


def is_quiz_answer(event: TelegramObject) -> bool:
    """A callback whose data is a well-formed answer (a malformed one goes the usual way)."""
    query = event.callback_query if isinstance(event, Update) else event
    if not isinstance(query, CallbackQuery) or not (query.data or "").startswith(ANSWER_PREFIX):
        return False
    try:
        AnswerCb.unpack(query.data)
    except (TypeError, ValueError):
        return False
    return True


def is_during_quiz(event: TelegramObject, data: dict[str, Any]) -> bool:
    """A message (maybe a typed answer) from a student whose attempt runs, as it arrives."""
    identity = data.get("identity")
    return (
        isinstance(event, Message)
        and identity is not None
        and identity.quiz_attempt is not None
        and not data.get("replayed")
    )


class AnswerFastFSM(FSMContextMiddleware):
    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if not (is_quiz_answer(event) or is_during_quiz(event, data)):
            return await super().__call__(handler, event, data)
        bot: Bot = data["bot"]
        data["fsm_storage"] = self.storage
        context = self.resolve_event_context(bot, data)
        if context is not None:
            data["state"] = context  # reads the storage only if a handler asks
        return await handler(event, data)


def install(dp: Dispatcher, *, after_identity: bool) -> None:
    """Replace the Dispatcher's FSM middleware with :class:`AnswerFastFSM`: in its place on the
    update, or (``after_identity``, polling) on messages and callback queries after the
    middlewares registered there so far, the identity one last."""
    old = dp.fsm
    fast = AnswerFastFSM(storage=old.storage, events_isolation=old.events_isolation, strategy=old.strategy)
    manager = dp.update.outer_middleware
    middlewares = manager._middlewares
    if after_identity:
        middlewares.remove(old)
        for observer in (dp.message, dp.callback_query):
            observer.outer_middleware(fast)
    else:  # keep its position among the update's outer middlewares
        middlewares[middlewares.index(old)] = fast
    dp.fsm = fast
