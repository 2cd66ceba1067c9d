"""The watchdog's Prometheus series, served by prometheus_client's own small HTTP server.

The watchdog is a synchronous loop, so the server runs in prometheus_client's daemon thread
on ``HTTP_HOST:WATCHDOG_HTTP_PORT``. Series::

    studymate_watchdog_check_ok{subject}          1 fine, 0 a problem (last known judgement)
    studymate_watchdog_rounds_total
    studymate_watchdog_last_round_timestamp_seconds
    studymate_watchdog_restarts_total{program,action}   action: restart | start
    studymate_watchdog_alerts_total{type,kind}    type: alert | recovery; kind: a Problem's kind
plus the standard ``process_*`` series of the watchdog process.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from studymate.ops.alerts import ProblemKind, all_problems

if TYPE_CHECKING:
    from studymate.ops.watchdog.checks import Finding
    from studymate.ops.watchdog.daemon import Action
    from studymate.ops.watchdog.reporter import Notifier

logger = logging.getLogger(__name__)


class WatchdogMetrics:
    def __init__(self) -> None:
        from prometheus_client import (
            CollectorRegistry,
            Counter,
            Gauge,
            ProcessCollector,
            disable_created_metrics,
        )

        disable_created_metrics()  # no ``*_created`` series: Prometheus does not need them
        self.registry = registry = CollectorRegistry()
        self.check_ok = Gauge("studymate_watchdog_check_ok",
                              "1 when the subject was last found fine, 0 with a problem",
                              ["subject"], registry=registry)
        self.rounds = Counter("studymate_watchdog_rounds", "Rounds of checks", registry=registry)
        self.last_round = Gauge("studymate_watchdog_last_round_timestamp_seconds",
                                "When the last round of checks ran", registry=registry)
        self.restarts = Counter("studymate_watchdog_restarts",
                                "Programs the watchdog restarted or started", ["program", "action"],
                                registry=registry)
        self.alerts = Counter("studymate_watchdog_alerts", "Messages that went out to the admins",
                              ["type", "kind"], registry=registry)
        for problem in all_problems():  # every kind shows, at 0 until it happens
            self.alerts.labels("alert", problem.kind)
            if problem.recovery:
                self.alerts.labels("recovery", problem.kind)
        self._server: Any = None
        ProcessCollector(registry=registry)  # its own memory and CPU

    def round(self, findings: list[Finding], now: float) -> None:
        self.rounds.inc()
        self.last_round.set(now)
        for finding in findings:
            if finding.known:
                self.check_ok.labels(finding.subject).set(0 if finding.problem else 1)

    def acted(self, action: Action) -> None:
        self.restarts.labels(action.program.split(":")[-1], action.verb).inc()

    def counting(self, notifier: Notifier) -> Notifier:
        """``notifier`` that also counts the messages that really went out."""
        return CountingNotifier(notifier, self)

    def serve(self, host: str, port: int) -> bool:
        from prometheus_client import start_http_server

        try:
            self._server, _thread = start_http_server(port, addr=host, registry=self.registry)
        except OSError as exc:  # the watchdog's job matters more than its graphs
            logger.error("cannot serve watchdog metrics on %s:%s: %s", host, port, exc.strerror or exc)
            return False
        logger.info("serving watchdog metrics on http://%s:%s/metrics", host, port)
        return True

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class CountingNotifier:
    def __init__(self, inner: Notifier, metrics: WatchdogMetrics) -> None:
        self.inner = inner
        self.metrics = metrics

    def send(self, problem: ProblemKind, params: Mapping[str, Any], *, key: str,
             recovery: bool = False) -> bool:
        sent = self.inner.send(problem, params, key=key, recovery=recovery)
        if sent:
            self.metrics.alerts.labels("recovery" if recovery else "alert", problem.kind).inc()
        return sent
