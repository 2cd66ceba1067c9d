"""A new kind of alert is one enum member plus its catalog texts; everything else follows.

The test adds a kind in one place (a test-local enum built like ``Problem``), gives it texts,
and a watchdog check that reports it: the admins get one alert and one all-clear, deduplicated
like every other kind, the watchdog's Prometheus labels list it, and a restarted watchdog still
knows which all-clear it owes.
"""

from __future__ import annotations

import asyncio
from enum import ReprEnum

import pytest
from test_watchdog import Rig, scripted

from studymate.i18n import catalogs, t
from studymate.ops.alerts import (
    Alerts,
    FallbackStore,
    MemoryStore,
    Problem,
    ProblemKind,
    all_problems,
    problem_of,
)
from studymate.ops.watchdog.checks import ok, problem
from studymate.ops.watchdog.metrics import WatchdogMetrics

TEXTS = {
    "admin_watchdog_coffee_low": "☕ <b>Coffee is low</b>: {cups} cups left.",
    "admin_watchdog_coffee_ok": "✅ <b>Coffee again</b> ({cups} cups).",
}


class Extra(ProblemKind, ReprEnum):
    COFFEE_LOW = ("coffee_low", 0, 30.0, "admin_watchdog_coffee_low", "admin_watchdog_coffee_ok")


@pytest.fixture
def coffee_texts(monkeypatch):
    for catalog in catalogs().values():
        for key, text in TEXTS.items():
            monkeypatch.setitem(catalog._catalog, key, text)


def test_a_new_kind_gets_its_alert_and_recovery_deduplicated(tmp_path, coffee_texts):
    assert Extra.COFFEE_LOW in all_problems() and problem_of("coffee_low") is Extra.COFFEE_LOW
    low = problem("coffee", "coffee_low", cups=1)  # by kind, as a check would name it
    assert low.kind is Extra.COFFEE_LOW
    back = ok("coffee", cups=12)
    state = tmp_path / "watchdog-state.json"
    rounds = [low] * 2 + [low] * 30 + [back] * 3 + [low] * 3 + [back]  # a round every 15 s
    rig = Rig(tmp_path, checks=[scripted(rounds)], state_path=state)
    metrics = WatchdogMetrics()
    rig.dog.reporter.notifier = metrics.counting(rig.dog.reporter.notifier)

    rig.rounds(2, beating=True)
    assert rig.notes.sent == [], "within its grace period (30 s)"
    rig.rounds(30, beating=True)
    assert rig.notes.sent == [("watchdog:coffee:coffee_low", t("admin_watchdog_coffee_low", "en", cups=1))]
    rig.rounds(3, beating=True)
    assert rig.notes.sent[1] == ("watchdog:coffee:coffee_low:ok", t("admin_watchdog_coffee_ok", "en", cups=12))
    rig.rounds(4, beating=True)  # low again within the cooldown: held back, and so is its all-clear
    assert len(rig.notes.sent) == 2
    assert metrics.registry.get_sample_value(
        "studymate_watchdog_alerts_total", {"type": "alert", "kind": "coffee_low"}) == 1
    assert metrics.registry.get_sample_value(
        "studymate_watchdog_alerts_total", {"type": "recovery", "kind": "coffee_low"}) == 1


def test_a_restarted_watchdog_sends_the_all_clear_of_a_new_kind(tmp_path, coffee_texts):
    state = tmp_path / "state.json"
    first = Rig(tmp_path, checks=[scripted([problem("coffee", Extra.COFFEE_LOW, cups=0)])], state_path=state)
    first.rounds(3, beating=True)
    assert first.notes.keys == ["watchdog:coffee:coffee_low"]
    second = Rig(tmp_path, checks=[scripted([ok("coffee", cups=9)])], state_path=state)
    second.rounds(1, beating=True)
    assert second.notes.sent == [("watchdog:coffee:coffee_low:ok", t("admin_watchdog_coffee_ok", "en", cups=9))]


def test_the_bot_and_the_scheduler_send_any_kind_through_the_same_service(coffee_texts):
    """Alerts takes any member: the same dedup, held-back count and per-admin language."""
    sent: list[tuple[int, str]] = []

    class Outbox:
        async def send(self, chat_id: int, text: str, *, key: str) -> None:
            sent.append((chat_id, text))

        async def close(self) -> None:
            pass

    class Broken:  # the database is down: the fallback deduplicates in memory
        async def claim(self, key, *, cooldown, per_minute):
            raise OSError("connection refused")

        async def clear(self, key):
            raise OSError("connection refused")

        async def language(self, admin_id, default):
            raise OSError("connection refused")

    alerts = Alerts(store=FallbackStore(Broken(), MemoryStore()), sender=Outbox(), admin_ids=[7, 8],
                    default_language="en")

    async def scenario() -> list[bool]:
        return [
            await alerts.alert(Extra.COFFEE_LOW, {"cups": 2}),
            await alerts.alert(Extra.COFFEE_LOW, {"cups": 1}),  # within the cooldown
            await alerts.recover(Extra.COFFEE_LOW, {"cups": 5}),
            await alerts.alert(Problem.BACKUP_FAILED, {"reason": "disk full", "last": "-"}),
        ]

    assert asyncio.run(scenario()) == [True, False, True, True]
    coffee = t("admin_watchdog_coffee_low", "en", cups=2)
    assert sent[:2] == [(7, coffee), (8, coffee)]
    back = t("admin_watchdog_coffee_ok", "en", cups=5)
    assert sent[2:4] == [(7, back), (8, back)]
    assert sent[4][1] == t("admin_backup_failed", "en", reason="disk full", last="-")
