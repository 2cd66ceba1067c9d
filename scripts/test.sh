#!/usr/bin/env bash
# Run the whole test suite: lint, then every test on SQLite and again on PostgreSQL.
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

echo "== tests on SQLite"
STUDYMATE_TEST_BACKEND=sqlite .venv/bin/python -m pytest -q -p no:cacheprovider "$@"

echo "== tests on PostgreSQL (engine-independent tests ran above)"
STUDYMATE_TEST_BACKEND=postgres .venv/bin/python -m pytest -q -p no:cacheprovider \
  -m "not backend_agnostic" "$@"
