"""Feature routers, in the order they are consulted (first match wins)."""

from __future__ import annotations

from aiogram import Router

from studymate.bot.handlers import (
    admin,
    fallback,
    language,
    leaderboard,
    library,
    materials_mentor,
    messaging,
    profile,
    questions,
    quiz_manage,
    quiz_mentor,
    quiz_questions,
    quiz_student,
    start,
)


def get_routers() -> list[Router]:
    # Global escape hatches first (start, cancel, language win over any input state, §3.1),
    # then the features, and the fallback last so it can never swallow a feature's update.
    return [
        quiz_student.answers,  # the busiest update, matched by its callback prefix alone
        start.router,
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
        leaderboard.router,
        profile.router,
        # Text inputs of forms come after every menu button and command.
        materials_mentor.inputs,
        questions.inputs,
        messaging.inputs,
        quiz_mentor.inputs,
        quiz_questions.inputs,
        profile.inputs,
        fallback.router,
    ]
