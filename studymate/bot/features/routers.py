"""Feature routers, in the order they are consulted (first match wins)."""

from __future__ import annotations

from aiogram import Router

from studymate.bot.features import fallback
from studymate.bot.features.admin import handlers as admin
from studymate.bot.features.leaderboard import handlers as leaderboard
from studymate.bot.features.materials import library
from studymate.bot.features.materials import manage as materials_mentor
from studymate.bot.features.messaging import handlers as messaging
from studymate.bot.features.notifications import handlers as notification_settings
from studymate.bot.features.profile import handlers as profile
from studymate.bot.features.questions import handlers as questions
from studymate.bot.features.quiz import authoring as quiz_mentor
from studymate.bot.features.quiz import key_change as quiz_key_change
from studymate.bot.features.quiz import manage as quiz_manage
from studymate.bot.features.quiz import question_editor as quiz_questions
from studymate.bot.features.quiz import question_pictures as quiz_question_pictures
from studymate.bot.features.quiz import quiz_settings
from studymate.bot.features.quiz import stats as quiz_stats
from studymate.bot.features.quiz import taking as quiz_student
from studymate.bot.features.reports import handlers as reports
from studymate.bot.features.start import handlers as start
from studymate.bot.features.start import help as help_
from studymate.bot.features.start import language


def get_routers() -> list[Router]:
    # Global escape hatches first (start, cancel, language win over any input state),
    # then the features, and the fallback last so it can never swallow a feature's update.
    return [
        quiz_student.answers,  # the busiest update, matched by its callback prefix alone
        start.router,
        help_.router,
        language.router,
        admin.router,
        materials_mentor.router,
        library.router,
        questions.router,
        messaging.router,
        quiz_student.router,
        quiz_mentor.router,
        quiz_manage.router,
        quiz_questions.router,
        quiz_question_pictures.router,
        quiz_key_change.router,
        quiz_settings.router,
        quiz_stats.router,
        leaderboard.router,
        reports.router,
        profile.router,
        notification_settings.router,
        # Text inputs of forms come after every menu button and command.
        materials_mentor.inputs,
        questions.inputs,
        messaging.inputs,
        quiz_mentor.inputs,
        quiz_questions.inputs,
        quiz_question_pictures.inputs,
        quiz_settings.inputs,
        profile.inputs,
        fallback.router,
    ]
