"""A bot on SQLite without Redis loads neither psycopg2 nor redis, nor greenlet (which runs the
PostgreSQL work): they would cost it ~10 MB resident of its 100 MB budget (psycopg2-binary maps
its own libpq, libssl and libcrypto). Nor do the backup and the watchdog on SQLite. Each probe runs in a fresh
interpreter, as the appliance's processes do."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.backend_agnostic

DRIVERS = ("psycopg2", "redis", "greenlet")

BOT = r"""
import json, sys
from studymate.cli import bot  # the command module, as `studymate bot` loads it
from studymate.bot.infra import lean_models  # noqa: F401  as cli/bot.py does before aiogram
from studymate.bot import runner  # noqa: F401
from studymate.bot.app import create_dispatcher
from studymate.bot.http_server import create_http_app
from studymate.cli.common import open_migrated
from studymate.config import load_settings

settings = load_settings()
open_migrated(settings).close()
dp = create_dispatcher(settings)
create_http_app(settings, dp.workflow_data["runtime"], None, None, None)
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[1:]))))
"""


DAEMONS = r"""
import json, sys
from studymate.cli.main import main

assert main(["backup", "run"]) == 0  # what the backup scheduler does each night
main(["watchdog", "--once"])  # one round of the watchdog's checks (unhealthy: no supervisor)
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[1:]))))
"""


def _loaded(probe: str, env: dict[str, str]) -> list[str]:
    out = subprocess.run([sys.executable, "-c", probe, *DRIVERS], capture_output=True, text=True,
                         timeout=120, env={**os.environ, **env})
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def _sqlite_install(tmp_path) -> dict[str, str]:
    env = {"STUDYMATE_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}", "STUDYMATE_REDIS_URL": "",
           "STUDYMATE_ENV_FILE": os.devnull, "STUDYMATE_BOT_TOKEN": "123456789:" + "A" * 35,
           "STUDYMATE_STATE_DIR": str(tmp_path), "STUDYMATE_RUNTIME_DIR": str(tmp_path),
           "STUDYMATE_LOG_DIR": str(tmp_path), "STUDYMATE_BACKUP_DIR": str(tmp_path / "backups")}
    subprocess.run([sys.executable, "-m", "studymate", "migrate"], env={**os.environ, **env},
                   check=True, capture_output=True, timeout=120)
    return env


def test_a_bot_on_sqlite_without_redis_loads_no_postgres_or_redis_driver(tmp_path):
    assert _loaded(BOT, _sqlite_install(tmp_path)) == []


def test_the_backup_and_the_watchdog_on_sqlite_load_no_postgres_driver(tmp_path):
    assert _loaded(DAEMONS, _sqlite_install(tmp_path)) == []
