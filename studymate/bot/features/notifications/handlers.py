"""🔔 Notifications (from 👤 Profile): a toggle per category and the quiet hours.

Every tap edits the screen in place and shows the stored result; the rules live in
``services.notifications``.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardMarkup

from studymate.bot.features.notifications.callbacks import Notify, NotifyCb
from studymate.bot.filters import IsStudent
from studymate.bot.keyboards import button
from studymate.config import Settings
from studymate.db.connection import Db
from studymate.i18n import t
from studymate.services import notifications
from studymate.services.enrollment import Identity
from studymate.services.notifications import Category, Prefs, School

router = Router(name="notifications")
router.callback_query.filter(IsStudent())

HOUR = 60


def school_of(settings: Settings) -> School:
    return School(settings.tz, settings.quiet_minutes)


def category_label(category: Category) -> str:
    if category is Category.NEW_QUIZZES:
        return t("notif_new_quizzes")
    if category is Category.REMINDERS:
        return t("notif_reminders")
    if category is Category.MATERIALS:
        return t("notif_materials")
    return t("notif_streak")


def quiet_text(start: int, end: int) -> str:
    if start == end:
        return t("quiet_hours_none")
    return f"{notifications.format_minutes(start)}–{notifications.format_minutes(end)}"


def screen(prefs: Prefs, school: School) -> tuple[str, InlineKeyboardMarkup]:
    start, end = prefs.quiet(school)
    rows = [
        [button(f"{'✅' if prefs.allows(c) else '🔕'} {category_label(c)}",
                NotifyCb(action=Notify.TOGGLE, category=c.value))]
        for c in notifications.MUTABLE
    ]
    if start != end:
        rows.append([
            button(t("btn_quiet_start", time=notifications.format_minutes(start)),
                   NotifyCb(action=Notify.QUIET_START)),
            button(t("btn_quiet_end", time=notifications.format_minutes(end)),
                   NotifyCb(action=Notify.QUIET_END)),
        ])
        rows.append([button(t("btn_quiet_off"), NotifyCb(action=Notify.QUIET_OFF))])
    else:
        default = school.quiet if school.quiet[0] != school.quiet[1] else (22 * HOUR, 8 * HOUR)
        rows.append([button(t("btn_quiet_default", quiet=quiet_text(*default)),
                            NotifyCb(action=Notify.QUIET_OFF))])
    return t("notifications_screen", quiet=quiet_text(start, end)), InlineKeyboardMarkup(inline_keyboard=rows)


def _change(student_id: int, data: NotifyCb, school: School) -> Prefs:
    if data.action is Notify.TOGGLE:
        return notifications.toggle(student_id, Category(data.category))
    if data.action is Notify.QUIET_START:
        return notifications.shift_quiet_hours(student_id, start_by=HOUR, school=school)
    if data.action is Notify.QUIET_END:
        return notifications.shift_quiet_hours(student_id, end_by=HOUR, school=school)
    if data.action is Notify.QUIET_OFF:
        start, end = notifications.load(student_id).quiet(school)
        if start != end:
            return notifications.set_quiet_hours(student_id, 0, 0)
        default = school.quiet if school.quiet[0] != school.quiet[1] else (22 * HOUR, 8 * HOUR)
        return notifications.set_quiet_hours(student_id, *default)
    return notifications.load(student_id)


@router.callback_query(NotifyCb.filter())
async def notifications_screen(callback: CallbackQuery, callback_data: NotifyCb, identity: Identity,
                               db: Db, settings: Settings) -> None:
    if identity.student_id is None:
        await callback.answer(t("error"), show_alert=True)
        return
    if callback_data.action is Notify.TOGGLE and callback_data.category not in {
        c.value for c in notifications.MUTABLE
    }:
        await callback.answer(t("callback_not_allowed"), show_alert=True)
        return
    school = school_of(settings)
    prefs = await db.run(_change, identity.student_id, callback_data, school)
    text, markup = screen(prefs, school)
    if callback_data.action is Notify.SHOW:
        await callback.message.answer(text, reply_markup=markup)
    else:
        try:
            await callback.message.edit_text(text, reply_markup=markup)
        except TelegramBadRequest:  # an unchanged screen (a double tap)
            pass
    await callback.answer()
