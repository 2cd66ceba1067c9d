#!/usr/bin/env bash
# Run the whole test suite: lint, then every test on SQLite and, side by side, the tests that
# depend on the database engine again on PostgreSQL.
# Creates its own virtual environment (.venv) on first use. Extra arguments go to pytest.
#   TEST_DATABASE_URL  PostgreSQL server for the second pass (default: local 'test' database)
#   TEST_REDIS_URL     Redis for FSM/throttling tests (default: redis://127.0.0.1:6379/0)
#   STUDYMATE_REQUIRE_SERVICES=1  a missing PostgreSQL or Redis fails instead of skipping
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.studymate-deps
if [ ! -f "$stamp" ] || [ setup.cfg -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[test]'
  touch "$stamp"
fi

export TEST_DATABASE_URL=${TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test}
export TEST_REDIS_URL=${TEST_REDIS_URL:-redis://127.0.0.1:6379/0}

echo "== ruff"
.venv/bin/ruff check --quiet .

# The two passes run side by side: most of their time is spent waiting on bot processes,
# the fake server and the install container, not on the CPU. Each pass has its own Redis
# database so one pass's clean-up cannot touch the other's keys.
if [[ $TEST_REDIS_URL =~ /[0-9]+$ ]]; then
  pg_redis_url="${TEST_REDIS_URL%/*}/$(( ${TEST_REDIS_URL##*/} + 1 ))"
else
  pg_redis_url="${TEST_REDIS_URL%/}/1"
fi
work=$(mktemp -d /tmp/smt.XXXXXX)  # short: unix socket paths live below it
pg_pid=
trap 'if [ -n "$pg_pid" ]; then kill "$pg_pid" 2>/dev/null || true; fi; rm -rf "$work"' EXIT
pg_log=$work/postgres.log

STUDYMATE_TEST_BACKEND=postgres TEST_REDIS_URL=$pg_redis_url \
  .venv/bin/python -m pytest -q -p no:cacheprovider --basetemp "$work/p" \
  -m "not backend_agnostic" "$@" \
  >"$pg_log" 2>&1 &
pg_pid=$!

echo "== tests on SQLite (every test)"
sqlite_status=0
STUDYMATE_TEST_BACKEND=sqlite .venv/bin/python -m pytest -q -p no:cacheprovider \
  --basetemp "$work/s" "$@" \
  || sqlite_status=$?

pg_status=0
wait "$pg_pid" || pg_status=$?
pg_pid=
echo "== tests on PostgreSQL (the tests that depend on the database engine)"
cat "$pg_log"

if (( sqlite_status != 0 || pg_status != 0 )); then
  echo "FAILED: SQLite pass exit $sqlite_status, PostgreSQL pass exit $pg_status" >&2
  exit 1
fi
