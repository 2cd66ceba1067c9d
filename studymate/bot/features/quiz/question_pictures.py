"""Mentor: a stored question's picture from the question editor.

While a question's detail is the last thing the editor showed, a photo the mentor sends
becomes that question's picture (replacing one it had); 🗑 Remove picture takes it off. The
shown question is remembered in the FSM data (no state, so every menu and command works as
before); any form started since overwrites it, and it is forgotten after ``SHOWN_MINUTES`` so a
photo sent much later is not attached to a question the mentor no longer looks at.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Final

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from studymate.bot.features.quiz.authoring_callbacks import QuizQuestionAction, QuizQuestionCb
from studymate.bot.features.quiz.authoring_views import edit, question_detail, question_markup
from studymate.bot.filters import IsMentor
from studymate.db.connection import Db
from studymate.db.models import utcnow
from studymate.i18n import t
from studymate.services.enrollment import Identity
from studymate.services.errors import NotFound
from studymate.services.quiz import question_pictures
from studymate.services.quiz.questions import QuestionInfo

logger = logging.getLogger(__name__)
router = Router(name="quiz_question_pictures")
router.callback_query.filter(IsMentor())
inputs = Router(name="quiz_question_pictures_inputs")
inputs.message.filter(IsMentor())

SHOWN: Final = "picture_for"  # FSM data key: the question whose detail is on screen
SHOWN_MINUTES: Final = 30


async def remember_shown(state: FSMContext, question: QuestionInfo, page: int) -> None:
    """The editor showed ``question``'s detail: a photo sent now is its picture."""
    await state.update_data({SHOWN: {
        "quiz": question.quiz_id, "question": question.id, "page": page,
        "at": utcnow().isoformat(timespec="seconds"),
    }})


async def forget_shown(state: FSMContext) -> None:
    data = await state.get_data()
    if SHOWN in data:
        await state.set_data({k: v for k, v in data.items() if k != SHOWN})


async def _shown(message: Message, state: FSMContext) -> dict[str, Any] | bool:
    shown = (await state.get_data()).get(SHOWN)
    if not isinstance(shown, dict):
        return False
    at = dt.datetime.fromisoformat(shown["at"])
    if utcnow() - at > dt.timedelta(minutes=SHOWN_MINUTES):
        return False
    return {"shown": shown}


@inputs.message(StateFilter(None), F.photo, _shown)
async def new_picture(message: Message, shown: dict[str, Any], state: FSMContext, identity: Identity,
                      db: Db) -> None:
    file_id = message.photo[-1].file_id  # the largest size Telegram made of the photo
    try:
        question, had = await db.run(
            question_pictures.set_picture, identity.mentor_id, shown["quiz"], shown["question"], file_id
        )
    except NotFound:  # the question (or quiz) went away since it was shown
        await forget_shown(state)
        await message.answer(t("callback_not_allowed"))
        return
    logger.info("mentor %s set the picture of question %s", identity.mentor_id, question.id)
    done = t("question_picture_replaced", number=question.number) if had else t(
        "question_picture_added", number=question.number)
    await message.answer(done)
    await message.answer(question_detail(question), reply_markup=question_markup(question, shown["page"]))
    await remember_shown(state, question, shown["page"])


@router.callback_query(QuizQuestionCb.filter(F.action == QuizQuestionAction.REMOVE_PICTURE))
async def remove_picture(callback: CallbackQuery, callback_data: QuizQuestionCb, state: FSMContext,
                         identity: Identity, db: Db) -> None:
    question, had = await db.run(
        question_pictures.remove_picture, identity.mentor_id, callback_data.quiz, callback_data.question
    )
    if had:
        logger.info("mentor %s removed the picture of question %s", identity.mentor_id, question.id)
    await edit(callback, question_detail(question), question_markup(question, callback_data.page))
    await remember_shown(state, question, callback_data.page)
    await callback.answer(t("question_picture_removed") if had else t("question_no_picture"))
