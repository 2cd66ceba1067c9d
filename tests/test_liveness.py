"""The bot counts as alive while it handles updates, not merely while it polls (issue 16)."""

from __future__ import annotations

import pytest

from studymate.bot.infra.liveness import Liveness
from studymate.bot.infra.update_outcome import note_outcome


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_failures_spanning_the_window_without_a_success_make_it_stuck():
    clock = Clock()
    live = Liveness(90, clock=clock)
    live.failed()
    clock.now += 60
    live.failed()
    assert not live.stuck and live.failing_seconds is None
    clock.now += 30
    live.failed()
    assert live.stuck and live.failing_seconds == 90
    live.handled()  # one success is proof enough
    assert not live.stuck and live.last_handled == clock.now


def test_one_failure_then_silence_is_not_stuck():
    clock = Clock()
    live = Liveness(90, clock=clock)
    live.failed()
    clock.now += 3600  # a quiet night after one bug
    assert not live.stuck and live.failing_seconds is None


def test_successes_in_between_keep_it_alive():
    clock = Clock()
    live = Liveness(90, clock=clock)
    for _ in range(10):
        live.failed()
        clock.now += 30
        live.handled()
    assert not live.stuck


async def test_the_middleware_reads_the_outcome_the_error_middleware_notes():
    clock = Clock()
    live = Liveness(0, clock=clock)

    async def caught(event, data):  # what an error middleware inside does: answer, note, return
        note_outcome("error")

    async def fine(event, data):
        return "done"

    async def raises(event, data):
        raise RuntimeError("storage down")

    await live(caught, object(), {})
    await live(caught, object(), {})
    assert live.stuck
    assert await live(fine, object(), {}) == "done"
    assert not live.stuck
    for _ in range(2):
        with pytest.raises(RuntimeError):
            await live(raises, object(), {})
    assert live.stuck
