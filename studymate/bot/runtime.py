"""What the dispatcher was built with, shared with handlers as ``services``."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram.fsm.storage.base import BaseStorage

from studymate.bot.middlewares.basics import InFlight
from studymate.bot.workers.outbox_sender import OutboxSender
from studymate.bot.workers.quiz_sweeper import QuizSweeper
from studymate.db.connection import Db
from studymate.ops.alerts import Alerts


@dataclass
class Runtime:
    db: Db
    storage: BaseStorage
    alerts: Alerts
    inflight: InFlight
    sender: OutboxSender
    sweeper: QuizSweeper
