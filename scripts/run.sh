#!/usr/bin/env bash
# Install StudyMate from this checkout into .venv and run the bot in the foreground.
# Asks once for the bot token and keeps it in ./studymate.env (mode 0600).
# The appliance install (systemd + supervisor) is install.sh; this is the quick way.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
  else
    echo "run.sh: Python's venv module is missing: sudo apt-get install python3-venv" >&2
    exit 2
  fi
fi
if [ ! -x .venv/bin/studymate ] || [ setup.cfg -nt .venv/bin/studymate ]; then
  python3 -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet .
fi

env_file=studymate.env
if [ ! -f "$env_file" ]; then
  token=${STUDYMATE_BOT_TOKEN:-${BOT_TOKEN:-}}
  if [ -z "$token" ]; then
    read -r -s -p "Bot token from @BotFather: " token
    echo
  fi
  umask 077
  {
    echo "STUDYMATE_BOT_TOKEN=$token"
    echo "STUDYMATE_STATE_DIR=$PWD/var/lib"
    echo "STUDYMATE_LOG_DIR=$PWD/var/log"
    echo "STUDYMATE_RUNTIME_DIR=$PWD/var/run"
  } > "$env_file"
  echo "wrote $env_file (mode 0600); edit it to add STUDYMATE_ADMIN_TELEGRAM_IDS," \
    "STUDYMATE_DATABASE_URL, STUDYMATE_REDIS_URL"
fi
export STUDYMATE_ENV_FILE="$PWD/$env_file"

.venv/bin/studymate migrate
echo "add a mentor: STUDYMATE_ENV_FILE=$PWD/$env_file .venv/bin/studymate mentor add --telegram-id ID --name NAME --group-chat-id -100..."
exec .venv/bin/studymate bot
