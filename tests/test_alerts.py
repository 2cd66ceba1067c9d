"""Admin alert bookkeeping: dedup with cooldown, a cap per minute, suppressed counts reported."""

from __future__ import annotations

import datetime as dt

from studymate.db.models import AlertLog, utcnow
from studymate.ops.alerts import claim_alert, clear_alert


def test_same_alert_once_per_cooldown(db):
    assert claim_alert("error:X", cooldown=600, per_minute=5) == 0
    assert claim_alert("error:X", cooldown=600, per_minute=5) is None
    assert claim_alert("error:X", cooldown=600, per_minute=5) is None
    AlertLog.update(last_sent_at=utcnow() - dt.timedelta(seconds=601)).execute()
    assert claim_alert("error:X", cooldown=600, per_minute=5) == 2  # reports what it held back


def test_global_cap_per_minute(db):
    sent = [claim_alert(f"error:{i}", cooldown=600, per_minute=5) for i in range(50)]
    assert sum(s is not None for s in sent) == 5
    assert AlertLog.select().where(AlertLog.suppressed > 0).count() == 45


def test_clear_lets_the_next_one_through(db):
    assert claim_alert("redis_down", cooldown=600, per_minute=5) == 0
    clear_alert("redis_down")
    assert claim_alert("redis_down", cooldown=600, per_minute=5) == 0
