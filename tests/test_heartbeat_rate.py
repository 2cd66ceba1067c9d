"""The heartbeat file under load: rewritten at most once per interval, never while stuck."""

from __future__ import annotations

import time
from pathlib import Path

from studymate.bot.infra.liveness import Liveness
from studymate.bot.runner import HEARTBEAT_WRITE_SECONDS, Heartbeat


def test_many_polls_a_second_write_the_file_once(tmp_path: Path) -> None:
    path = tmp_path / "run" / "heartbeat"
    heartbeat = Heartbeat(path, every=0.3)
    heartbeat.beat()  # the first poll is written at once: the watchdog sees a fresh bot
    first = path.read_text()
    assert abs(float(first) - time.time()) < 5
    for _ in range(50):
        heartbeat.beat()
    assert path.read_text() == first
    assert heartbeat.last_poll >= float(first) - 0.001  # /healthz and metrics see every poll (the file rounds to ms)
    time.sleep(0.35)
    heartbeat.beat()
    assert float(path.read_text()) > float(first)
    assert HEARTBEAT_WRITE_SECONDS <= 1.0  # far below the watchdog's staleness limit


def test_a_stuck_bot_does_not_beat_and_beats_again_once_healthy(tmp_path: Path) -> None:
    path = tmp_path / "heartbeat"
    clock = [1000.0]
    liveness = Liveness(window=10, clock=lambda: clock[0])
    heartbeat = Heartbeat(path, liveness, every=0.0)
    liveness.failed()
    clock[0] += 11
    liveness.failed()
    assert liveness.stuck
    heartbeat.beat()
    assert not path.exists()
    liveness.handled()
    heartbeat.beat()
    assert path.exists()
