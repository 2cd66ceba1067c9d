"""aiogram's FSM middleware, minus its cost for quiz answers.

For every update aiogram takes the user's event lock (a Redis lock shared by replicas, with a
renewal task) and reads the FSM state (a Redis read, or a database call on a worker thread)
before any handler runs. A quiz answer needs neither: its handler (the first router) uses no
state, and the engine serialises taps itself (one transaction reads the attempt and moves it
on conditionally, so a repeated or concurrent tap counts once). Answers get a lazy ``state``
context (nothing read unless used) and no lock; every other update is handled as before.
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.fsm.middleware import FSMContextMiddleware
from aiogram.types import TelegramObject, Update

from studymate.bot.features.quiz.callbacks import AnswerCb
from studymate.bot.middlewares.basics import Handler

ANSWER_PREFIX = AnswerCb.__prefix__ + AnswerCb.__separator__


def is_quiz_answer(update: TelegramObject) -> bool:
    """A callback whose data is a well-formed answer (a malformed one goes the usual way)."""
    query = update.callback_query if isinstance(update, Update) else None
    if query is None or not (query.data or "").startswith(ANSWER_PREFIX):
        return False
    try:
        AnswerCb.unpack(query.data)
    except (TypeError, ValueError):
        return False
    return True


class AnswerFastFSM(FSMContextMiddleware):
    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if not is_quiz_answer(event):
            return await super().__call__(handler, event, data)
        bot: Bot = data["bot"]
        data["fsm_storage"] = self.storage
        context = self.resolve_event_context(bot, data)
        if context is not None:
            data["state"] = context  # reads the storage only if a handler asks
        return await handler(event, data)


def install(dp: Dispatcher) -> None:
    """Put :class:`AnswerFastFSM` where the Dispatcher registered its FSM middleware."""
    old = dp.fsm
    fast = AnswerFastFSM(storage=old.storage, events_isolation=old.events_isolation, strategy=old.strategy)
    manager = dp.update.outer_middleware
    middlewares = manager._middlewares  # keep its position among the outer middlewares
    middlewares[middlewares.index(old)] = fast
    dp.fsm = fast
