"""Mentor: a quiz's questions — list, detail, add, edit, delete.

Typed values are checked at each step (length, duplicate options, the letter), so a form never
fails at the end. What edits do to attempts already made is decided in ``services.quiz.authoring``;
a new correct answer on a question with results is confirmed first (``key_change``).
"""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from studymate.bot.features.quiz import key_change as key_change_flow
from studymate.bot.features.quiz.authoring_callbacks import (
    QuestionBonusCb,
    QuizQuestionAction,
    QuizQuestionCb,
)
from studymate.bot.features.quiz.authoring_views import (
    bonus_markup,
    edit,
    edit_markup,
    kind_name,
    question_detail,
    question_list,
    question_markup,
)
from studymate.bot.features.quiz.question_pictures import forget_shown, remember_shown
from studymate.bot.features.quiz.states import QuestionFormStates
from studymate.bot.filters import IsMentor
from studymate.bot.keyboards import button, cancel_keyboard, list_keyboard, mentor_menu
from studymate.bot.limits import MESSAGE_LIMIT, shorten, visible_length
from studymate.config import Settings
from studymate.db.connection import Db
from studymate.i18n import t
from studymate.services.enrollment import Identity
from studymate.services.errors import NotFound
from studymate.services.quiz import authoring as quizzes
from studymate.services.quiz import questions as quiz_questions
from studymate.services.quiz.format import LETTERS, MULTI, TYPED
from studymate.services.quiz.questions import Field, InvalidQuestion, LastQuestion, QuestionInfo
from studymate.services.quiz.rendering import question_plain

logger = logging.getLogger(__name__)
router = Router(name="quiz_questions")
router.callback_query.filter(IsMentor())
inputs = Router(name="quiz_questions_inputs")
inputs.message.filter(IsMentor())

_OPTION_STATES = {
    QuestionFormStates.option_a.state: "A",
    QuestionFormStates.option_b.state: "B",
    QuestionFormStates.option_c.state: "C",
    QuestionFormStates.option_d.state: "D",
}
_NEXT = {
    "A": (QuestionFormStates.option_b, "enter_option_b"),
    "B": (QuestionFormStates.option_c, "enter_option_c"),
    "C": (QuestionFormStates.option_d, "enter_option_d"),
    "D": (QuestionFormStates.correct, "enter_correct_option"),
}


LAST_PAGE = 1 << 30  # clamped to the last page


async def _refuse(callback: CallbackQuery) -> None:
    await callback.answer(t("callback_not_allowed"), show_alert=True)


def _problem(error: InvalidQuestion) -> str:
    if error.code == "too_long":
        return t("question_input_too_long", limit=error.params["limit"])
    if error.code == "duplicate":
        return t("question_input_duplicate", other=error.params["other"])
    if error.code == "letter":
        letters = error.params.get("letters")
        return t("invalid_correct_letter", letters=letters) if letters else t("invalid_correct_option")
    if error.code == "letters":
        return t("invalid_correct_set", letters=error.params["letters"])
    if error.code == "answers":
        return t("invalid_accepted_answers")
    if error.code == "kind":
        return t("question_field_not_for_kind", kind=kind_name(error.params["kind"]))
    return t("not_text_prompt")


def _prompt(question: QuestionInfo, field: Field) -> str:
    """What to type for ``field``: the option, or the correct answer in the kind's form."""
    if field is Field.TEXT:
        return t("enter_question_text")
    if field is not Field.CORRECT:
        if field.value in LETTERS:
            return t(f"enter_option_{field.value.lower()}")
        return t("enter_option_letter", letter=field.value)
    if question.classic:
        return t("enter_correct_option")
    letters = ", ".join(question.letters)
    if question.kind == TYPED:
        return t("enter_accepted_answers", current=question.key)
    if question.kind == MULTI:
        return t("enter_correct_set", letters=letters, current=question.key)
    return t("enter_correct_letter", letters=letters)


# -- list and detail ----------------------------------------------------------------------------
async def _list(callback: CallbackQuery, mentor_id: int, quiz_id: int, page: int, db: Db) -> None:
    quiz = await db.run(quizzes.get_quiz, mentor_id, quiz_id)
    questions = await db.run(quiz_questions.questions_page, mentor_id, quiz_id, page)
    await edit(callback, *question_list(quiz, questions))


@router.callback_query(QuizQuestionCb.filter(F.action == QuizQuestionAction.LIST))
async def question_page(callback: CallbackQuery, callback_data: QuizQuestionCb, state: FSMContext,
                        identity: Identity, db: Db) -> None:
    await _list(callback, identity.mentor_id, callback_data.quiz, callback_data.page, db)
    await forget_shown(state)
    await callback.answer()


@router.callback_query(QuizQuestionCb.filter(F.action == QuizQuestionAction.SHOW))
async def show(callback: CallbackQuery, callback_data: QuizQuestionCb, state: FSMContext,
               identity: Identity, db: Db) -> None:
    question = await db.run(
        quiz_questions.get_question, identity.mentor_id, callback_data.quiz, callback_data.question
    )
    await edit(callback, question_detail(question), question_markup(question, callback_data.page))
    await remember_shown(state, question, callback_data.page)  # a photo sent now is its picture
    await callback.answer()


# -- delete -----------------------------------------------------------------------------------
@router.callback_query(QuizQuestionCb.filter(F.action == QuizQuestionAction.ASK_DELETE))
async def ask_delete(callback: CallbackQuery, callback_data: QuizQuestionCb, identity: Identity, db: Db) -> None:
    question = await db.run(
        quiz_questions.get_question, identity.mentor_id, callback_data.quiz, callback_data.question
    )
    markup = list_keyboard([], footer=[[
        button(t("btn_yes_delete"), callback_data.model_copy(update={"action": QuizQuestionAction.DELETE})),
        button(t("btn_no_cancel"), callback_data.model_copy(update={"action": QuizQuestionAction.SHOW})),
    ]])
    text = t("confirm_delete_question", text=shorten(question_plain(question.text), 80))
    await edit(callback, text, markup)
    await callback.answer()


@router.callback_query(QuizQuestionCb.filter(F.action == QuizQuestionAction.DELETE))
async def delete(callback: CallbackQuery, callback_data: QuizQuestionCb, state: FSMContext,
                 identity: Identity, db: Db, settings: Settings) -> None:
    try:
        await db.run(
            quiz_questions.delete_question, identity.mentor_id, callback_data.quiz, callback_data.question,
            tz=settings.tz,
        )
    except LastQuestion:
        await callback.answer(t("quiz_last_question"), show_alert=True)
        return
    logger.info("mentor %s deleted question %s", identity.mentor_id, callback_data.question)
    await _list(callback, identity.mentor_id, callback_data.quiz, callback_data.page, db)
    await forget_shown(state)
    await callback.answer(t("question_deleted"))


# -- edit -------------------------------------------------------------------------------------
@router.callback_query(QuizQuestionCb.filter(F.action == QuizQuestionAction.EDIT))
async def choose_field(callback: CallbackQuery, callback_data: QuizQuestionCb, identity: Identity, db: Db) -> None:
    question = await db.run(
        quiz_questions.get_question, identity.mentor_id, callback_data.quiz, callback_data.question
    )
    prompt = t("quiz_edit_prompt")
    text = question_detail(question) + "\n\n" + prompt
    if visible_length(text) > MESSAGE_LIMIT:
        text = prompt
    await edit(callback, text, edit_markup(question, callback_data.page))
    await callback.answer()


@router.callback_query(QuizQuestionCb.filter(F.action == QuizQuestionAction.FIELD))
async def ask_value(callback: CallbackQuery, callback_data: QuizQuestionCb, state: FSMContext,
                    identity: Identity, db: Db) -> None:
    if callback_data.field is None:
        return await _refuse(callback)
    question = await db.run(
        quiz_questions.get_question, identity.mentor_id, callback_data.quiz, callback_data.question
    )
    if not question.editable(callback_data.field):  # an older keyboard, or a crafted button
        await callback.answer(t("question_field_not_for_kind", kind=kind_name(question.kind)), show_alert=True)
        return
    if callback_data.field is Field.BONUS:  # chosen with buttons, nothing to type
        await edit(callback, t("choose_time_bonus"), bonus_markup(question, callback_data.page))
        return await callback.answer()
    await state.set_state(QuestionFormStates.edit_value)
    await state.set_data({
        "quiz": callback_data.quiz, "question": callback_data.question,
        "field": callback_data.field.value, "page": callback_data.page,
    })
    await callback.message.answer(_prompt(question, callback_data.field),
                                  reply_markup=cancel_keyboard(identity.language))
    await callback.answer()


@inputs.message(QuestionFormStates.edit_value, F.text)
async def edit_value(message: Message, state: FSMContext, identity: Identity, db: Db, settings: Settings) -> None:
    data = await state.get_data()
    try:
        if Field(data["field"]) is Field.CORRECT and await key_change_flow.ask(
            message, state, identity, db, data
        ):
            return  # results would be re-scored: the mentor confirms first
        question = await db.run(
            quiz_questions.update_question, identity.mentor_id, data["quiz"], data["question"],
            Field(data["field"]), message.text, tz=settings.tz,
        )
    except InvalidQuestion as error:
        await message.answer(_problem(error))
        return
    except NotFound:
        await state.clear()
        await message.answer(t("callback_not_allowed"), reply_markup=mentor_menu(identity.language))
        return
    await state.clear()
    await message.answer(t("question_updated"), reply_markup=mentor_menu(identity.language))
    await message.answer(question_detail(question), reply_markup=question_markup(question, data.get("page", 0)))
    await remember_shown(state, question, data.get("page", 0))


@router.callback_query(QuestionBonusCb.filter())
async def set_bonus(callback: CallbackQuery, callback_data: QuestionBonusCb, identity: Identity, db: Db,
                    settings: Settings) -> None:
    try:
        question = await db.run(
            quiz_questions.update_question, identity.mentor_id, callback_data.quiz, callback_data.question,
            Field.BONUS, str(callback_data.seconds), tz=settings.tz,
        )
    except InvalidQuestion:
        return await _refuse(callback)
    logger.info("mentor %s set question %s extra seconds to %s", identity.mentor_id, question.id,
                question.time_bonus)
    await edit(callback, question_detail(question), question_markup(question, callback_data.page))
    await callback.answer(t("question_updated"))


# -- add: text, A, B, C, D, correct letter --------------------------------------------------------
@router.callback_query(QuizQuestionCb.filter(F.action == QuizQuestionAction.ADD))
async def add(callback: CallbackQuery, callback_data: QuizQuestionCb, state: FSMContext,
              identity: Identity, db: Db) -> None:
    await db.run(quizzes.get_quiz, identity.mentor_id, callback_data.quiz)
    await state.set_state(QuestionFormStates.text)
    await state.set_data({"quiz": callback_data.quiz})
    await callback.message.answer(t("enter_question_text"), reply_markup=cancel_keyboard(identity.language))
    await callback.answer()


@inputs.message(QuestionFormStates.text, F.text)
async def new_text(message: Message, state: FSMContext) -> None:
    try:
        text = quiz_questions.clean_text(message.text)
    except InvalidQuestion as error:
        await message.answer(_problem(error))
        return
    await state.update_data(text=text, options={})
    await state.set_state(QuestionFormStates.option_a)
    await message.answer(t("enter_option_a"))


@inputs.message(F.text, QuestionFormStates.option_a)
@inputs.message(F.text, QuestionFormStates.option_b)
@inputs.message(F.text, QuestionFormStates.option_c)
@inputs.message(F.text, QuestionFormStates.option_d)
async def new_option(message: Message, state: FSMContext, raw_state: str) -> None:
    letter = _OPTION_STATES[raw_state]
    data = await state.get_data()
    options: dict[str, str] = data.get("options", {})
    try:
        option = quiz_questions.clean_option(message.text, options)
        quiz_questions.check_length(data["text"], [*options.values(), option])
    except InvalidQuestion as error:
        await message.answer(_problem(error))
        return
    await state.update_data(options={**options, letter: option})
    next_state, prompt = _NEXT[letter]
    await state.set_state(next_state)
    await message.answer(t(prompt))


@inputs.message(QuestionFormStates.correct, F.text)
async def new_correct(message: Message, state: FSMContext, identity: Identity, db: Db) -> None:
    data = await state.get_data()
    try:
        letter = quiz_questions.clean_letter(message.text)
        options = tuple(data["options"][x] for x in LETTERS)
        await db.run(
            quiz_questions.add_question, identity.mentor_id, data["quiz"],
            text=data["text"], options=options, correct=letter,
        )
    except InvalidQuestion as error:
        await message.answer(_problem(error))
        return
    except NotFound:
        await state.clear()
        await message.answer(t("callback_not_allowed"), reply_markup=mentor_menu(identity.language))
        return
    await state.clear()
    await message.answer(t("question_added"), reply_markup=mentor_menu(identity.language))
    # Back where the mentor started: the list, on its last page where the new question is.
    quiz = await db.run(quizzes.get_quiz, identity.mentor_id, data["quiz"])
    questions = await db.run(quiz_questions.questions_page, identity.mentor_id, data["quiz"], LAST_PAGE)
    text, markup = question_list(quiz, questions)
    await message.answer(text, reply_markup=markup)


@inputs.message(QuestionFormStates.text)
@inputs.message(QuestionFormStates.option_a)
@inputs.message(QuestionFormStates.option_b)
@inputs.message(QuestionFormStates.option_c)
@inputs.message(QuestionFormStates.option_d)
@inputs.message(QuestionFormStates.correct)
@inputs.message(QuestionFormStates.edit_value)
async def not_text(message: Message) -> None:
    await message.answer(t("not_text_prompt"))
