"""What the dispatcher was built with, shared with handlers as ``services``."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram.fsm.storage.base import BaseStorage

from studymate.bot.middlewares.basics import InFlight
from studymate.bot.outbox_sender import OutboxSender
from studymate.bot.quiz_sweeper import QuizSweeper
from studymate.db.connection import Db
from studymate.ops.alerts import AdminAlerter


@dataclass
class Services:
    db: Db
    storage: BaseStorage
    alerter: AdminAlerter
    inflight: InFlight
    sender: OutboxSender
    sweeper: QuizSweeper
