"""Errors the services raise that the bot turns into polite answers, not alerts."""

from __future__ import annotations


class NotFound(LookupError):
    """The object does not exist, or belongs to another mentor or student.

    The bot answers any handler that lets this escape with ``callback_not_allowed`` (a crafted
    or outdated button), changes nothing, and does not alert the admins.
    """
