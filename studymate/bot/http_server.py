"""The bot's local HTTP port: ``GET /metrics`` (Prometheus) and ``GET /healthz``.

Creating the application and starting the server are two steps, so the runner can add more
routes (the webhook) to the same application in between. ``/healthz`` answers 200 while the
database answers, the bot is not stale by :func:`studymate.ops.health.judge_bot` (the
verdict the watchdog, ``studymate status`` and systemd give too) and updates have not all been
failing for that long (``updates_failing``), else 503; Redis being down is reported but is not
a 503: the bot keeps working on the database storage then.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from studymate import __version__
from studymate.bot.infra.metrics import BotMetrics, LastPoll
from studymate.db import migrate
from studymate.db.connection import separate_handle
from studymate.ops.health import judge_bot
from studymate.ops.watchdog.checks import GuardedDb, check_database

if TYPE_CHECKING:
    from studymate.bot.infra.liveness import Liveness
    from studymate.bot.runtime import Runtime
    from studymate.config import Settings

logger = logging.getLogger(__name__)

CHECK_TIMEOUT: Final = 3.0  # /healthz answers within about this, whatever hangs


class HealthCheck:
    """What ``/healthz`` reports; :meth:`check` returns the status code and the JSON body."""

    def __init__(
        self, runtime: Runtime, heartbeat: LastPoll, *, stale_after: float,
        started: float | None = None, liveness: Liveness | None = None, mode: str = "polling",
    ) -> None:
        self.runtime = runtime
        self.heartbeat = heartbeat
        self.liveness = liveness
        self.stale_after = stale_after
        self.mode = mode
        self.started = time.time() if started is None else started
        self.schema_version: str | None = None
        # Its own worker thread, timeout and connections: a hung query never holds up the bot.
        self.guarded = GuardedDb(separate_handle(runtime.db.database), timeout=CHECK_TIMEOUT)

    async def check(self) -> tuple[int, dict[str, Any]]:
        now = time.time()
        database, redis = await asyncio.gather(self._database(), self._redis())
        if database == "ok" and self.schema_version is None:
            self.schema_version = await self._schema_version()
        last = self.heartbeat.last_poll
        # last_poll lives in this process's memory: it always belongs to this process.
        started = min(self.started, last) if last else self.started
        bot = judge_bot(now=now, started=started, heartbeat=last or None,
                        stale_after=self.stale_after, mode=self.mode)
        problems = []
        if database != "ok":
            problems.append("database")
        if bot.stale:
            problems.append("no_updates" if bot.polled else "never_polled")
        failing = self.liveness.failing_seconds if self.liveness is not None else None
        if failing is not None:
            problems.append("updates_failing")
        handled = self.liveness.last_handled if self.liveness is not None else 0.0
        body = {
            "status": "unhealthy" if problems else "ok",
            "problems": problems,
            "version": __version__,
            "schema_version": self.schema_version,
            "last_poll": _iso(last) if last else None,
            "last_poll_age_seconds": round(now - last, 1) if last else None,
            "last_update_handled": _iso(handled) if handled else None,
            "updates_failing_seconds": round(failing, 1) if failing is not None else None,
            "database": database,
            "redis": redis,
            "fsm_storage": getattr(self.runtime.storage, "backend_name", "database"),
        }
        return (503 if problems else 200), body

    async def _database(self) -> str:
        finding = await asyncio.to_thread(check_database, self.guarded)
        return "ok" if not finding.problem else "down"

    async def _redis(self) -> str:
        storage = self.runtime.storage
        if not hasattr(storage, "using_redis"):  # the database storage: no Redis configured
            return "not configured"
        from studymate.bot.infra.failover import REDIS_ERRORS  # loaded with that storage

        try:
            await asyncio.wait_for(storage.redis.redis.ping(), CHECK_TIMEOUT)
        except REDIS_ERRORS:
            return "down"
        return "ok"

    async def _schema_version(self) -> str | None:
        try:
            return await asyncio.wait_for(
                asyncio.to_thread(migrate.schema_version, self.guarded.database), CHECK_TIMEOUT
            )
        except Exception as exc:  # asked again on the next request
            logger.warning("healthz: cannot read the schema version: %s", type(exc).__name__)
            return None

    def close(self) -> None:
        # On SQLite the handle is the bot's, which closes it last.
        self.guarded.close(pool=self.guarded.database is not self.runtime.db.database)


METRICS: Final = web.AppKey("metrics", BotMetrics)
HEALTH: Final = web.AppKey("health", HealthCheck)


def _iso(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat(timespec="seconds")


async def _metrics(request: web.Request) -> web.Response:
    metrics = request.app[METRICS]
    await metrics.snapshot.refresh()  # database figures, read on a database thread
    return web.Response(body=generate_latest(metrics.registry), headers={"Content-Type": CONTENT_TYPE_LATEST})


async def _healthz(request: web.Request) -> web.Response:
    status, body = await request.app[HEALTH].check()
    return web.json_response(body, status=status, headers={"Cache-Control": "no-store"})


def create_http_app(
    settings: Settings, runtime: Runtime, heartbeat: LastPoll, metrics: BotMetrics,
    liveness: Liveness | None = None,
) -> web.Application:
    """The application with ``/metrics`` and ``/healthz``; more routes may be added before start."""
    app = web.Application()
    app[METRICS] = metrics
    app[HEALTH] = HealthCheck(
        runtime, heartbeat, stale_after=settings.heartbeat_stale_seconds, liveness=liveness,
        mode=settings.telegram_mode,
    )
    app.router.add_get("/metrics", _metrics)
    app.router.add_get("/healthz", _healthz)
    return app


async def start_http(
    app: web.Application, host: str, port: int, *, required: bool = False
) -> web.AppRunner | None:
    """Serve ``app`` on ``host:port``; None when ``port`` is 0.

    A port already taken is logged and the bot goes on without its endpoints, unless
    ``required`` (the webhook cannot do without), when the error is raised.
    """
    if not port:
        return None
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await runner.cleanup()
        if required:
            raise
        logger.error("cannot serve /metrics and /healthz on %s:%s: %s", host, port, exc.strerror or exc)
        return None
    logger.info("serving /metrics and /healthz on http://%s:%s", host, port)
    return runner


async def stop_http(runner: web.AppRunner | None) -> None:
    if runner is None:
        return
    health = runner.app.get(HEALTH)
    await runner.cleanup()
    if health is not None:
        health.close()
