"""The composition root: ``create_dispatcher(settings)`` wires everything; tests use it too."""

from __future__ import annotations

import logging

from studymate.bot.infra import lean_models  # noqa: F401  before aiogram: its models build on use

# isort: split

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.fsm.storage.memory import SimpleEventIsolation

from studymate.bot.features.quiz.states import QuizUploadStates
from studymate.bot.features.routers import get_routers
from studymate.bot.infra.access import Membership
from studymate.bot.infra.flood import RetryAfter
from studymate.bot.infra.liveness import Liveness
from studymate.bot.infra.pacing import SharedPacer
from studymate.bot.infra.session import JsonSession
from studymate.bot.infra.storage import DatabaseStorage
from studymate.bot.infra.throttling import Throttle
from studymate.bot.middlewares import fsm
from studymate.bot.middlewares.basics import InFlight, PrivateChatsOnly, outside_fsm
from studymate.bot.middlewares.errors import ErrorMiddleware
from studymate.bot.middlewares.identity import AccessGate, IdentityMiddleware
from studymate.bot.middlewares.menu_restore import CarryMenu, RestoreMenuOnLeave
from studymate.bot.middlewares.throttling import ThrottlingMiddleware
from studymate.bot.runtime import Runtime
from studymate.bot.workers.outbox_sender import OutboxSender
from studymate.bot.workers.quiz_sweeper import QuizSweeper
from studymate.config import Settings
from studymate.db.connection import Db, open_database
from studymate.ops.alerts import (
    REDIS_BACK_KEY,
    REDIS_DOWN_KEY,
    Alerts,
    DatabaseStore,
    FallbackStore,
    Problem,
    telegram_alerts,
)

logger = logging.getLogger(__name__)


def create_bot(settings: Settings, session: BaseSession | None = None) -> Bot:
    """The Bot; ``session`` replaces the HTTP one (in-process tests answer calls in memory)."""
    if session is None:
        session = JsonSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    session.middleware(RetryAfter())
    session.middleware(CarryMenu())
    return Bot(
        token=settings.require_token(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )


def _storage(
    settings: Settings, db: Db, alerts: Alerts
) -> tuple[BaseStorage, BaseEventIsolation, Throttle]:
    database_storage = DatabaseStorage(db)
    if not settings.redis_url:
        return database_storage, SimpleEventIsolation(), Throttle()
    # Here, not at the top: a bot without Redis never loads redis (~4 MB).
    from aiogram.fsm.storage.redis import RedisStorage

    from studymate.bot.infra.failover import FailoverIsolation, FailoverStorage, redis_client

    redis = redis_client(settings.redis_url)

    async def on_switch(redis_up: bool) -> None:
        if redis_up:
            await alerts.recover(Problem.FSM_FAILOVER, key=REDIS_BACK_KEY)
            await alerts.clear(REDIS_DOWN_KEY)
        else:
            await alerts.alert(Problem.FSM_FAILOVER, key=REDIS_DOWN_KEY)
            await alerts.clear(REDIS_BACK_KEY)

    storage = FailoverStorage(RedisStorage(redis), database_storage, on_switch=on_switch)
    return storage, FailoverIsolation(storage), Throttle(redis)


def _pacing(settings: Settings) -> dict:
    """With Redis the outbox pace is shared by every replica (25/s for the bot as a whole);
    smaller batches then, so a claimed row's turn comes well within its lease."""
    if not settings.redis_url:
        return {}
    from studymate.bot.infra.failover import redis_client  # with Redis only, as in _storage

    return {"pacer": SharedPacer(redis_client(settings.redis_url)), "batch": 10}


def create_dispatcher(settings: Settings, *, db: Db | None = None) -> Dispatcher:
    """Build the Dispatcher with storage, middlewares, routers and start/stop hooks."""
    if db is None:
        database = open_database(
            settings.effective_database_url,
            pool_size=settings.db_threads,
            busy_timeout=settings.db_busy_timeout_seconds,
        )
        db = Db(database, threads=settings.db_threads, locked_retry=settings.db_locked_retry_seconds)
    # The database may be the very trouble being reported: dedupe in memory while it is down.
    alerts = telegram_alerts(settings, FallbackStore(DatabaseStore(db.run)))
    storage, isolation, throttle = _storage(settings, db, alerts)
    inflight = InFlight()

    sender = OutboxSender(db, default_language=settings.default_language, **_pacing(settings))
    liveness = Liveness(settings.heartbeat_stale_seconds)
    dp = Dispatcher(storage=storage, events_isolation=isolation)
    dp.workflow_data.update(
        settings=settings,
        db=db,
        membership=Membership(db, settings),
        runtime=Runtime(
            db=db,
            storage=storage,
            alerts=alerts,
            inflight=inflight,
            sender=sender,
            sweeper=QuizSweeper(db, settings, sender),
        ),
        liveness=liveness,
    )
    # Ahead of FSM: an update whose FSM storage fails is still waited for at shutdown, counted
    # as failed, answered and reported (a lost database fails there first).
    outside_fsm(dp, inflight)
    outside_fsm(dp, liveness)
    outside_fsm(dp, ErrorMiddleware(alerts, default_language=settings.default_language))
    for observer in (dp.message, dp.callback_query):
        observer.outer_middleware(PrivateChatsOnly())
        observer.outer_middleware(
            ThrottlingMiddleware(
                throttle,
                db=db,
                default_language=settings.default_language,
                message_interval=settings.throttle_message_seconds,
                callback_interval=settings.throttle_callback_seconds,
            )
        )
        observer.outer_middleware(
            ErrorMiddleware(alerts, default_language=settings.default_language)
        )
        observer.outer_middleware(IdentityMiddleware(db, settings))
        observer.middleware(AccessGate())
    # Quiz answers skip the event lock and the state read; in polling mode typed ones too.
    fsm.install(dp, after_identity=settings.telegram_mode == "polling")
    # The quiz upload's cancel is an inline button: leaving it leaves the menu keyboard as it was.
    dp.message.middleware(RestoreMenuOnLeave(inline_forms=[QuizUploadStates.__name__]))
    dp.include_routers(*get_routers())
    dp.startup.register(_on_startup)
    dp.shutdown.register(_on_shutdown)
    return dp


async def _on_startup(runtime: Runtime, bot: Bot) -> None:
    start = getattr(runtime.storage, "start", None)  # the Redis storage checks Redis first
    if start is not None:
        await start()
    runtime.sender.start(bot)
    runtime.sweeper.start(bot)
    logger.info("FSM storage: %s", getattr(runtime.storage, "backend_name", "database"))


async def _on_shutdown(runtime: Runtime, settings: Settings) -> None:
    runtime.inflight.stopping = True
    if not await runtime.inflight.wait_idle(settings.shutdown_grace_seconds):
        logger.warning("%d updates still running at shutdown", runtime.inflight.running)
    await runtime.sweeper.stop()
    await runtime.sender.stop()
    await runtime.storage.close()
