"""The quiz chart keeps the bot small: drawing the largest chart (200 questions) in a process
that has imported everything the bot imports loads no imaging library and leaves resident
memory where it was: the picture costs a few MB while it is drawn, then nothing (read from
/proc, in a fresh interpreter; the bot's budget is 100 MB resident)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = r"""
import json, sys

def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) // 1024  # MB

import studymate.bot.app  # noqa: F401  (everything the bot process imports)
from studymate.bot.features.routers import get_routers
from studymate.services.quiz import chart
get_routers()
before, peak_before = status("VmRSS"), status("VmHWM")
bars = [chart.Bar(n, n % 30, 29, worst=n == 7) for n in range(1, 201)]
png = chart.bar_chart_png(bars)
after, peak = status("VmRSS"), status("VmHWM")
heavy = sorted(m for m in ("PIL", "matplotlib", "numpy", "cairo") if m in sys.modules)
print(json.dumps({"peak_before": peak_before, "before": before, "after": after, "peak": peak, "heavy": heavy, "png": len(png)}))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_drawing_the_largest_chart_stays_within_the_bots_memory_budget():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True)
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    print(figures)
    assert figures["heavy"] == []
    # The 5,662 × 360 canvas (6 MB) lives only while it is drawn; nothing stays resident.
    assert figures["peak"] - max(figures["peak_before"], figures["before"]) <= 10, figures
    assert figures["after"] - figures["before"] <= 2, figures
