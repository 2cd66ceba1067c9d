"""Texts and keyboards of the mentor's quiz screens, kept within Telegram's 4,096 characters.

(The student's quiz screens are in ``views``.)

A question may hold up to 3,500 characters (``services.quiz.format.MAX_QUESTION_CHARS``), so three of them
on an "all questions" page, or one under a long duplicate notice, can pass 4,096. Such pages
show the longest questions compacted (plain text cut to ``COMPACT_TEXT``, options to
``COMPACT_OPTION``) until the page fits; the full text stays one tap away in question
management.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import zlib
from collections.abc import Sequence
from typing import Final
from zoneinfo import ZoneInfo

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup

from studymate.bot.features.quiz.authoring_callbacks import (
    Draft,
    DraftCb,
    QuestionBonusCb,
    QuizAction,
    QuizCb,
    QuizMenu,
    QuizMenuCb,
    QuizQuestionAction,
    QuizQuestionCb,
)
from studymate.bot.features.quiz.settings_callbacks import DraftSettingsCb, QuizSettingsCb, Setting
from studymate.bot.features.quiz.stats_callbacks import QuizStatsAction, QuizStatsCb
from studymate.bot.keyboards import button, list_keyboard
from studymate.bot.limits import MESSAGE_LIMIT, shorten, visible_length
from studymate.db.models import utcnow
from studymate.i18n import Html, t
from studymate.services.paging import Page
from studymate.services.quiz.authoring import QuizInfo, QuizStats
from studymate.services.quiz.engine import QUESTION_SECONDS
from studymate.services.quiz.format import (
    LETTERS,
    MULTI,
    OPTION_LETTERS,
    SINGLE,
    TIME_BONUS,
    TRUE_FALSE,
    TYPED,
    ParsedQuestion,
    ParsedQuiz,
)
from studymate.services.quiz.key_change import KeyChangeInfo
from studymate.services.quiz.questions import Field, QuestionInfo
from studymate.services.quiz.rendering import question_html, question_plain

ALL_PAGE_SIZE: Final = 3  # questions per "all questions" page (Appendix A)
COMPACT_TEXT: Final = 600
COMPACT_OPTION: Final = 120
LIST_TITLE: Final = 40  # characters of a title on a list button
QUESTION_PREVIEW: Final = 43  # "first 40 characters..." of a question in its list


# --- small helpers -------------------------------------------------------------------------


def local_text(moment: dt.datetime, tz: ZoneInfo, *, now: dt.datetime | None = None) -> str:
    """"DD.MM HH:MM" in the school's time zone; the year is added when it is not this year."""
    local = moment.replace(tzinfo=dt.UTC).astimezone(tz)
    this_year = (now or utcnow()).replace(tzinfo=dt.UTC).astimezone(tz).year
    return local.strftime("%d.%m %H:%M" if local.year == this_year else "%d.%m.%Y %H:%M")


def pack_text(text: str) -> str:
    """The draft's text for the FSM data: compressed (a quiz file is very repetitive)."""
    return base64.b64encode(zlib.compress(text.encode("utf-8"), 6)).decode("ascii")


def unpack_text(packed: str) -> str:
    return zlib.decompress(base64.b64decode(packed)).decode("utf-8")


async def edit(callback: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Edit the pressed message; pressing a button that changes nothing is not an error."""
    try:
        await callback.message.edit_text(text, reply_markup=markup)
    except TelegramBadRequest as exc:
        if "message is not modified" not in exc.message:
            raise


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def question_params(text: str, options: Sequence[str], *, compact: bool = False) -> dict[str, object]:
    """Placeholders text (HTML), a, b, c, d of the question templates."""
    if compact:
        body = Html(html.escape(_clip(question_plain(text).strip(), COMPACT_TEXT), quote=False))
        shown = [_clip(option, COMPACT_OPTION) for option in options]
    else:
        body, shown = Html(question_html(text)), list(options)
    return {"text": body, **dict(zip("abcd", shown, strict=False))}


def _options_html(options: Sequence[str], *, compact: bool) -> str:
    shown = [_clip(option, COMPACT_OPTION) if compact else option for option in options]
    return "\n".join(
        f"{letter}) {html.escape(option, quote=False)}"
        for letter, option in zip(OPTION_LETTERS, shown, strict=False)
    )


def kind_line(question: ParsedQuestion, base_seconds: int) -> str:
    """The question's kind and time, as the preview and the question pages show it."""
    kind = {
        SINGLE: t("quiz_kind_single"),
        TRUE_FALSE: t("quiz_kind_truefalse"),
        MULTI: t("quiz_kind_multi"),
        TYPED: t("quiz_kind_typed"),
    }[question.kind]
    seconds = base_seconds + question.time_bonus
    line = (
        t("quiz_kind_line_bonus", kind=kind, seconds=seconds, bonus=question.time_bonus)
        if question.time_bonus else t("quiz_kind_line", kind=kind, seconds=seconds)
    )
    return f"{line} 🖼 {html.escape(question.image, quote=False)}" if question.image else line


def _classic(question: ParsedQuestion) -> bool:
    return question.kind == SINGLE and len(question.options) == 4


# --- upload: preview and all questions ----------------------------------------------------


def _preview(parsed: ParsedQuiz, duplicate: bool, *, compact: bool) -> str:
    first = parsed.questions[0]
    if _classic(first):
        question = t("quiz_preview_question", **question_params(first.text, first.options, compact=compact))
    else:
        question = _any_question(first, compact=compact)
    text = t(
        "quiz_preview",
        title=parsed.title,
        topic=parsed.topic or "-",
        count=len(parsed.questions),
        preview=Html(question),
    )
    extra = _preview_kinds(parsed)
    if extra:
        text = f"{text}\n\n{extra}"
    return t("quiz_duplicate_found", title=parsed.title) + "\n\n" + text if duplicate else text


def _any_question(question: ParsedQuestion, *, compact: bool) -> str:
    body = question_params(question.text, (), compact=compact)["text"]
    if question.kind == TYPED:
        answers = " | ".join(question.answers)
        return f"{body}\n\n{t('quiz_preview_answers', answers=answers)}"
    return f"{body}\n\n{_options_html(question.options, compact=compact)}"


def _preview_kinds(parsed: ParsedQuiz) -> str:
    """Settings from the header and the questions of each kind (the question pages show each
    question's kind and time); nothing for a classic file without settings."""
    lines = []
    base = parsed.seconds or QUESTION_SECONDS
    if parsed.seconds or parsed.window_hours or parsed.shuffle_questions is not None:
        shuffle = (
            t("quiz_shuffle_default") if parsed.shuffle_questions is None
            else t("quiz_shuffle_questions_options") if parsed.shuffle_questions and parsed.shuffle_options
            else t("quiz_shuffle_questions") if parsed.shuffle_questions
            else t("quiz_shuffle_options") if parsed.shuffle_options
            else t("quiz_shuffle_none")
        )
        lines.append(t("quiz_preview_settings", seconds=base, hours=parsed.window_hours or 48, shuffle=shuffle))
    counts: dict[str, int] = {}
    for question in parsed.questions:
        counts[question.kind] = counts.get(question.kind, 0) + 1
    if set(counts) != {SINGLE}:
        names = {
            SINGLE: t("quiz_kind_single"), TRUE_FALSE: t("quiz_kind_truefalse"),
            MULTI: t("quiz_kind_multi"), TYPED: t("quiz_kind_typed"),
        }
        lines.extend(f"• {names[kind]}: {count}" for kind, count in counts.items())
    if MULTI in counts:
        lines.append(t("quiz_preview_multi_rule"))
    pictures = sum(1 for question in parsed.questions if question.image)
    if pictures:
        lines.append(t("quiz_preview_pictures", count=pictures))
    bonuses = [
        t("quiz_bonus_item", number=number, bonus=question.time_bonus)
        for number, question in enumerate(parsed.questions, start=1) if question.time_bonus
    ]
    if bonuses:  # the '#' markers are easy to miss in a file: say which questions get more time
        lines.append(t("quiz_preview_time_bonus", questions=", ".join(bonuses)))
    return "\n".join(lines)


def preview_text(parsed: ParsedQuiz, *, duplicate: bool) -> str:
    text = _preview(parsed, duplicate, compact=False)
    return text if visible_length(text) <= MESSAGE_LIMIT else _preview(parsed, duplicate, compact=True)


def preview_markup(token: str, *, duplicate: bool) -> InlineKeyboardMarkup:
    def go(action: Draft) -> DraftCb:
        return DraftCb(action=action, draft=token)

    rows = [[button(t("btn_view_all_questions"), go(Draft.ALL))],
            [button(t("btn_quiz_settings"), DraftSettingsCb(action=Setting.SHOW, draft=token))]]
    if duplicate:
        rows.append([button(t("btn_replace_quiz"), go(Draft.REPLACE))])
        rows.append([button(t("btn_copy_quiz"), go(Draft.COPY))])
    else:
        rows.append([button(t("btn_save_quiz"), go(Draft.SAVE))])
    rows.append([button(t("btn_cancel_quiz"), go(Draft.CANCEL))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def _item(number: int, question: ParsedQuestion, *, compact: bool, base_seconds: int = QUESTION_SECONDS) -> str:
    if _classic(question):
        params = question_params(question.text, question.options, compact=compact)
        item = t("quiz_question_item", num=number, correct=question.correct, **params)
    else:
        correct = " | ".join(question.answers) if question.kind == TYPED else ", ".join(question.correct)
        item = t("quiz_question_item_any", num=number, question=Html(_any_question(question, compact=compact)),
                 correct=correct)
    if question.explanation and not compact:
        item = f"{item}\n{t('quiz_review_explanation', explanation=question.explanation)}"
    return f"{item}\n{kind_line(question, base_seconds)}"


def fit_items(header: str, full: list[str], compact: list[str]) -> str:
    """Header and items, the longest items swapped for their compact form until it fits."""
    items = list(full)
    remaining = sorted(range(len(items)), key=lambda i: visible_length(items[i]), reverse=True)

    def joined() -> str:
        return "\n\n".join([header, *items])

    while visible_length(joined()) > MESSAGE_LIMIT and remaining:
        index = remaining.pop(0)
        items[index] = compact[index]
    return joined()


def all_questions(parsed: ParsedQuiz, token: str, page: int) -> tuple[str, InlineKeyboardMarkup]:
    pages = max(1, -(-len(parsed.questions) // ALL_PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    first = page * ALL_PAGE_SIZE
    chunk = list(enumerate(parsed.questions[first : first + ALL_PAGE_SIZE], start=first + 1))
    text = fit_items(
        t("quiz_all_questions_header", current=page + 1, total=pages),
        [_item(n, q, compact=False, base_seconds=parsed.seconds or QUESTION_SECONDS) for n, q in chunk],
        [_item(n, q, compact=True, base_seconds=parsed.seconds or QUESTION_SECONDS) for n, q in chunk],
    )
    markup = list_keyboard(
        [],
        page=page,
        pages=pages,
        make_page=lambda p: DraftCb(action=Draft.ALL, draft=token, page=p),
        footer=[[button(t("btn_back_to_preview"), DraftCb(action=Draft.PREVIEW, draft=token))]],
    )
    return text, markup


def publish_markup(token: str) -> InlineKeyboardMarkup:
    return list_keyboard([], footer=[
        [button(t("btn_publish_practice"), DraftCb(action=Draft.PRACTICE, draft=token))],
        [button(t("btn_publish_ranked"), DraftCb(action=Draft.RANKED, draft=token))],
        [button(t("btn_cancel_quiz"), DraftCb(action=Draft.CANCEL, draft=token))],
    ])


def ranked_start_markup(token: str) -> InlineKeyboardMarkup:
    return list_keyboard([], footer=[
        [button(t("btn_start_now"), DraftCb(action=Draft.NOW, draft=token))],
        [button(t("btn_schedule_start"), DraftCb(action=Draft.SCHEDULE, draft=token))],
        [button(t("btn_cancel_quiz"), DraftCb(action=Draft.CANCEL, draft=token))],
    ])


def cancel_markup(token: str = "") -> InlineKeyboardMarkup:
    return list_keyboard([], footer=[[button(t("btn_cancel_quiz"), DraftCb(action=Draft.CANCEL, draft=token))]])


# --- menu, lists and the quiz screen -------------------------------------------------------


def menu_markup() -> InlineKeyboardMarkup:
    return list_keyboard([], footer=[
        [button(t("btn_active_quizzes"), QuizMenuCb(action=QuizMenu.LIST))],
        [button(t("btn_archived_quizzes"), QuizMenuCb(action=QuizMenu.LIST, archived=True))],
        [button(t("btn_upload_quiz"), QuizMenuCb(action=QuizMenu.UPLOAD))],
    ])


def _icon(quiz: QuizInfo, now: dt.datetime) -> str:
    if not quiz.is_active:
        return "🗄️"
    if not quiz.ranked:
        return "📚"
    return "🗓" if quiz.available_from is not None and now < quiz.available_from else "🏆"


def list_label(quiz: QuizInfo, now: dt.datetime) -> str:
    """A button label: plain text, so the title is not HTML-escaped."""
    counts = t("quiz_list_counts", questions=quiz.questions, attempts=quiz.takers)
    return f"{_icon(quiz, now)} {shorten(quiz.title, LIST_TITLE)} • {counts}"


def quiz_list(page: Page[QuizInfo], *, archived: bool) -> tuple[str, InlineKeyboardMarkup]:
    now = utcnow()
    text = t("archived_quizzes_header") if archived else t("active_quizzes_header")
    if page.pages > 1:
        text += "\n\n" + t("pagination_info", page=page.page + 1, total=page.pages, count=page.total)
    other = QuizMenuCb(action=QuizMenu.LIST, archived=not archived)
    if page.items:
        other_label = t("btn_active_short") if archived else t("btn_archived_short")
    else:
        text += "\n\n" + (t("no_archived_quizzes") if archived else t("no_active_quizzes"))
        other_label = t("btn_active_quizzes") if archived else t("btn_archived_quizzes")
    items = [
        button(list_label(q, now), QuizCb(action=QuizAction.SHOW, quiz=q.id, archived=archived, page=page.page))
        for q in page.items
    ]
    markup = list_keyboard(
        items,
        page=page.page,
        pages=page.pages,
        make_page=lambda p: QuizMenuCb(action=QuizMenu.LIST, archived=archived, page=p),
        footer=[
            [button(other_label, other)],
            [button(t("btn_upload_quiz"), QuizMenuCb(action=QuizMenu.UPLOAD))],
            [button(t("btn_back"), QuizMenuCb(action=QuizMenu.MENU))],
        ],
    )
    return text, markup


def quiz_screen(stats: QuizStats, tz: ZoneInfo, changes: Sequence[KeyChangeInfo] = ()) -> str:
    quiz = stats.quiz
    if stats.takers:
        top = "\n".join(
            f"{i}. {entry.name} — {entry.score}/{entry.total}"
            for i, entry in enumerate(stats.top, start=1)
        )
        text = t(
            "quiz_results",
            title=quiz.title,
            attempts=stats.takers,
            avg=str(stats.graded),  # each result over its own question count
            top=top,
        )
    else:
        text = t("quiz_screen_title", title=quiz.title) + "\n\n" + t("quiz_no_attempts")
    if quiz.ranked and quiz.available_from and quiz.available_until:
        details = t(
            "quiz_details_ranked",
            questions=quiz.questions,
            start=local_text(quiz.available_from, tz),
            end=local_text(quiz.available_until, tz),
        )
    else:
        details = t("quiz_details_practice", questions=quiz.questions)
    if not quiz.is_active:
        details += "\n" + t("quiz_details_archived")
    if changes:
        lines = [t("quiz_key_changes_header")] + [
            t("quiz_key_change_item", when=local_text(c.changed_at, tz), number=c.number,
              old=c.old, new=c.new, who=c.who, count=c.rescored)
            for c in changes
        ]
        details += "\n\n" + "\n".join(lines)
    return text + "\n\n" + details


def quiz_markup(quiz: QuizInfo, origin: QuizCb) -> InlineKeyboardMarkup:
    def go(action: QuizAction) -> QuizCb:
        return origin.model_copy(update={"action": action, "quiz": quiz.id})

    toggle = (
        button(t("btn_archive_quiz"), go(QuizAction.ARCHIVE))
        if quiz.is_active
        else button(t("btn_unarchive_quiz"), go(QuizAction.RESTORE))
    )
    back = QuizMenuCb(action=QuizMenu.LIST, archived=origin.archived, page=origin.page)
    return list_keyboard([], footer=[
        [toggle],
        [button(t("btn_manage_questions"), QuizQuestionCb(action=QuizQuestionAction.LIST, quiz=quiz.id))],
        [button(t("btn_question_stats"), QuizStatsCb(
            action=QuizStatsAction.PAGE, quiz=quiz.id, archived=origin.archived, list_page=origin.page))],
        [button(t("btn_quiz_settings"), QuizSettingsCb(
            action=Setting.SHOW, quiz=quiz.id, archived=origin.archived, page=origin.page))],
        [button(t("btn_export_results"), go(QuizAction.EXPORT))],
        [button(t("btn_export_gift"), go(QuizAction.GIFT))],
        [button(t("btn_back"), back)],
    ])


# --- question management -------------------------------------------------------------------


def question_list(quiz: QuizInfo, page: Page[QuestionInfo]) -> tuple[str, InlineKeyboardMarkup]:
    items = [
        button(
            f"{q.number}. {shorten(question_plain(q.text), QUESTION_PREVIEW)}"
            + (f" ⏱+{q.time_bonus}" if q.time_bonus else ""),
            QuizQuestionCb(action=QuizQuestionAction.SHOW, quiz=quiz.id, question=q.id, page=page.page),
        )
        for q in page.items
    ]
    back = QuizCb(action=QuizAction.SHOW, quiz=quiz.id, archived=not quiz.is_active)
    markup = list_keyboard(
        items,
        page=page.page,
        pages=page.pages,
        make_page=lambda p: QuizQuestionCb(action=QuizQuestionAction.LIST, quiz=quiz.id, page=p),
        footer=[
            [button(t("btn_add_question"), QuizQuestionCb(action=QuizQuestionAction.ADD, quiz=quiz.id))],
            [button(t("btn_back_quiz"), back)],
        ],
    )
    return t("quiz_questions_title", title=quiz.title, count=quiz.questions), markup


def kind_name(kind: str) -> str:
    return {
        SINGLE: t("quiz_kind_single"),
        TRUE_FALSE: t("quiz_kind_truefalse"),
        MULTI: t("quiz_kind_multi"),
        TYPED: t("quiz_kind_typed"),
    }.get(kind, kind)


def question_detail(question: QuestionInfo) -> str:
    def render(compact: bool) -> str:
        if not question.classic:
            return _kind_detail(question, compact)
        params = question_params(question.text, question.options, compact=compact)
        params["question"] = params.pop("text")
        text = t("quiz_question_detail", correct=question.correct, **params)
        if question.time_bonus:  # most questions have none; ⏱ in the editor changes it
            text += "\n" + t("question_detail_bonus", bonus=question.time_bonus)
        return text

    picture = t("quiz_question_has_picture") if question.image else t("quiz_question_picture_hint")
    footer = "\n\n" + t("quiz_question_kind_line", kind=kind_name(question.kind)) + "\n" + picture
    text = render(False) + footer
    return text if visible_length(text) <= MESSAGE_LIMIT else render(True) + footer


def _kind_detail(question: QuestionInfo, compact: bool) -> str:
    """A true/false, select-all, typed or not-four-option question: each option marked ✅
    when right, or the accepted typed answers."""
    params = question_params(question.text, (), compact=compact)
    if question.kind == TYPED:
        answers = ", ".join(_clip(a, COMPACT_OPTION) if compact else a for a in question.accepted)
        lines = t("quiz_question_accepted", answers=answers)
    else:
        lines = html.escape("\n".join(
            f"{'✅' if letter in question.correct_letters else '▫️'} {letter}) "
            f"{_clip(option, COMPACT_OPTION) if compact else option}"
            for letter, option in zip(OPTION_LETTERS, question.choices, strict=False)
        ), quote=False)
    return t("quiz_question_detail_kinds", question=params["text"], answers=Html(lines))


def question_markup(question: QuestionInfo, page: int) -> InlineKeyboardMarkup:
    def go(action: QuizQuestionAction) -> QuizQuestionCb:
        return QuizQuestionCb(action=action, quiz=question.quiz_id, question=question.id, page=page)

    picture = [[button(t("btn_remove_picture"), go(QuizQuestionAction.REMOVE_PICTURE))]] if question.image else []
    return list_keyboard([], footer=[
        [button(t("btn_edit_question"), go(QuizQuestionAction.EDIT)),
         button(t("btn_delete_question"), go(QuizQuestionAction.ASK_DELETE))],
        *picture,
        [button(t("btn_back_questions"), go(QuizQuestionAction.LIST))],
    ])


def edit_markup(question: QuestionInfo, page: int) -> InlineKeyboardMarkup:
    def go(field: Field | None) -> QuizQuestionCb:
        action = QuizQuestionAction.FIELD if field is not None else QuizQuestionAction.SHOW
        return QuizQuestionCb(action=action, quiz=question.quiz_id, question=question.id, page=page, field=field)

    options: list[InlineKeyboardButton] = [
        button(t(f"btn_edit_option_{letter.lower()}") if letter in LETTERS
               else t("btn_edit_option_letter", letter=letter), go(Field(letter)))
        for letter in question.letters
    ]
    return list_keyboard([], footer=[
        [button(t("btn_edit_text"), go(Field.TEXT))],
        *(options[i:i + 2] for i in range(0, len(options), 2)),
        [button(t("btn_edit_correct"), go(Field.CORRECT))],
        [button(t("btn_edit_time_bonus"), go(Field.BONUS))],
        [button(t("btn_back"), go(None))],
    ])


def bonus_markup(question: QuestionInfo, page: int) -> InlineKeyboardMarkup:
    """Extra seconds to choose from: none, +5, +10 (the current one marked)."""
    def choice(seconds: int) -> InlineKeyboardButton:
        label = t("btn_time_bonus", bonus=seconds) if seconds else t("btn_time_bonus_none")
        mark = "✅ " if seconds == question.time_bonus else ""
        return button(mark + label, QuestionBonusCb(
            quiz=question.quiz_id, question=question.id, page=page, seconds=seconds))

    back = QuizQuestionCb(action=QuizQuestionAction.EDIT, quiz=question.quiz_id, question=question.id, page=page)
    return list_keyboard([], footer=[
        [choice(seconds) for seconds in sorted(TIME_BONUS.values())],
        [button(t("btn_back"), back)],
    ])
