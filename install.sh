#!/usr/bin/env bash
# StudyMate installer for one Debian 12/13 or Ubuntu 22.04/24.04 server. Run as root:
#
#   sudo ./install.sh                      install, or repair/upgrade an existing install
#   sudo ./install.sh --unattended --env-file my.env
#   sudo ./install.sh --uninstall [--purge]
#
# Re-running it is safe: settings, data and operator drop-ins are kept, the program is
# replaced by the one next to this script and the service restarted. See --help.
set -euo pipefail

readonly USER_NAME=studymate
readonly PREFIX=/opt/studymate
readonly CONF_DIR=/etc/studymate
readonly ENV_FILE=$CONF_DIR/studymate.env
readonly STATE_DIR=/var/lib/studymate
readonly LOG_DIR=/var/log/studymate
readonly CACHE_DIR=/var/cache/studymate
readonly RUN_DIR=/run/studymate
readonly UNIT_NAME=studymate.service
readonly UNIT_FILE=/etc/systemd/system/$UNIT_NAME
readonly DROPIN_DIR=/etc/systemd/system/$UNIT_NAME.d
readonly PROGRAMS_DROPIN=$DROPIN_DIR/10-programs.conf
readonly WRAPPER=/usr/local/bin/studymate
readonly APP=$PREFIX/current/bin/studymate
readonly TOKEN_RE='^[0-9]{1,20}:[A-Za-z0-9_-]{30,}$'
# Every setting, without its STUDYMATE_ prefix (tests/test_settings_names.py keeps this in step
# with studymate/config.py). studymate.env is written with the prefixed names; the bare ones of
# an --env-file or an older studymate.env are renamed on the way in.
readonly SETTING_NAMES=(
  BOT_TOKEN DATABASE_URL REDIS_URL ADMIN_TELEGRAM_IDS TEST_STUDENT_IDS TIMEZONE
  DEFAULT_LANGUAGE TELEGRAM_API_URL STATE_DIR LOG_DIR RUNTIME_DIR BACKUP_DIR
  BACKUP_RETENTION_DAYS BACKUP_KEEP_DAILY BACKUP_KEEP_WEEKLY BACKUP_KEEP_MONTHLY BACKUP_TIME
  BACKUP_MAX_AGE_HOURS LOG_MAX_AGE_DAYS LOG_MAX_TOTAL_MB LOG_ROTATE_INTERVAL
  MEMBERSHIP_CACHE_SECONDS MEMBERSHIP_CHECK_CONCURRENCY THROTTLE_MESSAGE_SECONDS
  THROTTLE_CALLBACK_SECONDS QUIZ_QUESTION_SECONDS QUIZ_COUNTDOWN_SECONDS QUIET_HOURS REMIND_BEFORE_CLOSE DIGEST_TIME NUDGE_TIME SHUTDOWN_GRACE_SECONDS UPDATE_STALE_SECONDS DB_BUSY_TIMEOUT_SECONDS DB_LOCKED_RETRY_SECONDS
  DB_THREADS LOG_LEVEL WATCHDOG_INTERVAL HEARTBEAT_STALE_SECONDS DISK_MIN_FREE_MB
  DISK_MIN_FREE_PERCENT WATCHDOG_MAX_ERRORS HEALTHCHECK_PING_URL TELEGRAM_MODE WEBHOOK_URL
  WEBHOOK_SECRET HTTP_HOST HTTP_PORT WATCHDOG_HTTP_PORT
)
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly SRC

unattended=0 network_check=1 with_postgres=0 with_redis=0 start=1
uninstall=0 purge=0 env_input="" wheelhouse="" binary="" programs="" background=""
health_timeout=${STUDYMATE_HEALTH_TIMEOUT:-120}

usage() {
  cat <<'EOF'
Usage: sudo ./install.sh [OPTIONS]

Installs StudyMate as a hardened systemd service (studymate.service) running as the user
'studymate': program in /opt/studymate, settings in /etc/studymate/studymate.env (mode 0600),
data and backups in /var/lib/studymate, logs in /var/log/studymate. Re-run it to repair or
upgrade. Where systemd is not PID 1 (containers), it starts `studymate supervise` in the
background instead.

  --unattended         never ask; settings come from --env-file and an existing install
  --env-file FILE      settings to install (STUDYMATE_BOT_TOKEN=..., any variable of the
                       README; v1's BOT_TOKEN=... too); merged into an existing studymate.env
  --no-network-check   do not check the token with Telegram (getMe)
  --with-postgres      install PostgreSQL, create database and user 'studymate', set
                       STUDYMATE_DATABASE_URL
  --with-redis         install Redis and set STUDYMATE_REDIS_URL
  --wheelhouse DIR     install the Python packages from DIR only (offline; made by `pip wheel .`)
  --binary PATH        install this PyInstaller build (its folder or the executable in it)
  --programs LIST      run only these supervisor programs, e.g. bot,logrotate ('all' = default)
  --no-start           install and enable, but do not start
  --uninstall          stop and remove the service and the program; keep data and settings
  --purge              with --uninstall: also delete data, backups, logs, settings and the user
  -h, --help           this text

Environment: STUDYMATE_HEALTH_TIMEOUT (seconds to wait for a healthy start, default 120).
EOF
}

say() { printf '==> %s\n' "$*"; }
warn() { printf 'install.sh: warning: %s\n' "$*" >&2; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit "${2:-1}"; }

parse_args() {
  while [ $# -gt 0 ]; do
    case $1 in
      --unattended) unattended=1 ;;
      --env-file) env_input=${2:?--env-file needs a file}; shift ;;
      --env-file=*) env_input=${1#*=} ;;
      --no-network-check) network_check=0 ;;
      --with-postgres) with_postgres=1 ;;
      --with-redis) with_redis=1 ;;
      --wheelhouse) wheelhouse=${2:?--wheelhouse needs a folder}; shift ;;
      --wheelhouse=*) wheelhouse=${1#*=} ;;
      --binary) binary=${2:?--binary needs a path}; shift ;;
      --binary=*) binary=${1#*=} ;;
      --programs) programs=${2:?--programs needs a list}; shift ;;
      --programs=*) programs=${1#*=} ;;
      --no-start) start=0 ;;
      --uninstall) uninstall=1 ;;
      --purge) purge=1 ;;
      -h|--help) usage; exit 0 ;;
      *) usage >&2; die "unknown option: $1" 2 ;;
    esac
    shift
  done
  [ "$purge" = 0 ] || [ "$uninstall" = 1 ] || die "--purge only goes with --uninstall" 2
  if [ -n "$env_input" ]; then
    [ -r "$env_input" ] || die "--env-file: cannot read $env_input" 2
    env_input=$(cd "$(dirname "$env_input")" && pwd)/$(basename "$env_input")
  fi
  [ -z "$wheelhouse" ] || [ -d "$wheelhouse" ] || die "--wheelhouse: no folder $wheelhouse" 2
  [ -z "$programs" ] || [[ $programs =~ ^[a-z_,]+$ ]] || die "--programs: use names like bot,logrotate" 2
}

# -- the machine ----------------------------------------------------------------------------

has_systemd() { [ -d /run/systemd/system ] && command -v systemctl >/dev/null; }

check_os() {
  local id="" version=""
  if [ -r /etc/os-release ]; then
    # shellcheck disable=SC1091
    id=$(. /etc/os-release && echo "${ID:-}")
    # shellcheck disable=SC1091
    version=$(. /etc/os-release && echo "${VERSION_ID:-}")
  fi
  case "$id:$version" in
    debian:12|debian:13|ubuntu:22.04|ubuntu:24.04) ;;
    *) warn "tested on Debian 12/13 and Ubuntu 22.04/24.04, this is '${id:-unknown} ${version}'; trying anyway" ;;
  esac
  command -v apt-get >/dev/null || warn "apt-get not found: missing packages cannot be installed"
}

apt_updated=0
apt_install() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  command -v apt-get >/dev/null || die "please install: ${missing[*]}"
  say "installing packages: ${missing[*]}"
  if [ "$apt_updated" = 0 ]; then
    apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

python_ok() { "$1" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }

pick_python() {
  # The distribution's Python first: the service user must be able to run it, which an
  # interpreter under /root (pyenv, conda) does not allow.
  local candidate
  for candidate in /usr/bin/python3 /usr/bin/python3.13 /usr/bin/python3.12 /usr/bin/python3.11 \
                   python3 python3.13 python3.12 python3.11; do
    candidate=$(command -v "$candidate") || continue
    if python_ok "$candidate"; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

ensure_python() {
  local python
  if python=$(pick_python); then echo "$python"; return 0; fi
  apt_install python3 python3-venv >&2
  if python=$(pick_python); then echo "$python"; return 0; fi
  apt_install python3.11 python3.11-venv >&2  # Ubuntu 22.04: python3 is 3.10
  pick_python || die "StudyMate needs Python 3.11 or newer with the venv module"
}

as_service_user() {
  # setpriv keeps this process (no PAM session, no fork), so it also works in containers.
  HOME=$STATE_DIR setpriv --reuid="$USER_NAME" --regid="$USER_NAME" --init-groups "$@"
}

ensure_user_and_dirs() {
  if ! id -u "$USER_NAME" >/dev/null 2>&1; then
    say "creating system user $USER_NAME"
    useradd --system --user-group --home-dir "$STATE_DIR" --no-create-home \
      --shell /usr/sbin/nologin --comment "StudyMate Telegram bot" "$USER_NAME"
  fi
  install -d -m 0755 -o root -g root "$CONF_DIR" "$PREFIX" "$PREFIX/releases"
  local dir
  for dir in "$STATE_DIR" "$LOG_DIR" "$CACHE_DIR"; do
    install -d -m 0700 -o "$USER_NAME" -g "$USER_NAME" "$dir"
  done
}

# -- settings -------------------------------------------------------------------------------

unquote() {  # a value as written in an env file, without CR and surrounding quotes
  local value=${1%$'\r'}
  if [[ $value =~ ^\"(.*)\"$ ]] || [[ $value =~ ^\'(.*)\'$ ]]; then value=${BASH_REMATCH[1]}; fi
  printf '%s' "$value"
}

env_get() {  # env_get FILE KEY: the last value of KEY
  local line value=""
  [ -f "$1" ] || return 0
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line#"${line%%[![:space:]]*}"}
    line=${line#export }
    if [[ $line == "$2="* ]]; then value=${line#*=}; fi
  done < "$1"
  unquote "$value"
}

env_set() {  # env_set FILE KEY VALUE: replace every KEY= line by one, or append it
  local file=$1 key=$2 value=$3 line done=0 tmp
  tmp=$(mktemp "$CONF_DIR/.env.XXXXXX")
  if [ -f "$file" ]; then
    while IFS= read -r line || [ -n "$line" ]; do
      local bare=${line#"${line%%[![:space:]]*}"}
      bare=${bare#export }
      if [[ $bare == "$key="* ]]; then
        [ "$done" = 1 ] || printf '%s=%s\n' "$key" "$value"
        done=1
      else
        printf '%s\n' "$line"
      fi
    done < "$file" > "$tmp"
  fi
  [ "$done" = 1 ] || printf '%s=%s\n' "$key" "$value" >> "$tmp"
  mv "$tmp" "$file"
}

canonical_key() {  # canonical_key KEY: STUDYMATE_KEY for a setting's bare name, else KEY
  local name
  for name in "${SETTING_NAMES[@]}"; do
    if [ "$1" = "$name" ]; then printf 'STUDYMATE_%s' "$1"; return 0; fi
  done
  printf '%s' "$1"
}

prefix_names() {  # prefix_names FILE: rename bare setting names to STUDYMATE_*, in place
  local file=$1 line bare key tmp
  local -A present=()
  while IFS= read -r line || [ -n "$line" ]; do
    bare=${line#"${line%%[![:space:]]*}"}
    bare=${bare#export }
    [[ $bare =~ ^([A-Za-z_][A-Za-z0-9_]*)= ]] && present[${BASH_REMATCH[1]}]=1
  done < "$file"
  tmp=$(mktemp "$(dirname "$file")/.env.XXXXXX")
  while IFS= read -r line || [ -n "$line" ]; do
    bare=${line#"${line%%[![:space:]]*}"}
    bare=${bare#export }
    if [[ $bare =~ ^([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]]; then
      key=$(canonical_key "${BASH_REMATCH[1]}")
      if [ "$key" != "${BASH_REMATCH[1]}" ]; then
        # The prefixed name already set wins at run time: the bare one is dropped.
        [ -n "${present[$key]:-}" ] || printf '%s=%s\n' "$key" "${BASH_REMATCH[2]}"
        continue
      fi
    fi
    printf '%s\n' "$line"
  done < "$file" > "$tmp"
  chmod --reference="$file" "$tmp" 2>/dev/null || true
  mv "$tmp" "$file"
}

ask() {  # ask PROMPT [silent]: one line from the terminal
  local answer=""
  [ -r /dev/tty ] || die "no terminal to ask on: use --unattended --env-file FILE" 2
  if [ "${2:-}" = silent ]; then
    read -r -s -p "$1" answer < /dev/tty; echo >&2
  else
    read -r -p "$1" answer < /dev/tty
  fi
  printf '%s' "$answer"
}

telegram_get_me() {  # prints the bot's @username; exit 1 rejected, 3 unreachable
  local api=$1 token=$2
  if command -v python3 >/dev/null; then
    SM_API=$api SM_TOKEN=$token python3 - <<'PY'
import json, os, sys, urllib.error, urllib.request
url = f"{os.environ['SM_API'].rstrip('/')}/bot{os.environ['SM_TOKEN']}/getMe"
try:
    with urllib.request.urlopen(url, timeout=20) as response:
        data = json.load(response)
except urllib.error.HTTPError as exc:
    try:
        data = json.load(exc)
    except ValueError:
        print(f"HTTP {exc.code}")
        sys.exit(1)
except (OSError, ValueError) as exc:
    print(getattr(exc, "reason", exc))
    sys.exit(3)
if data.get("ok"):
    print(data["result"].get("username", ""))
    sys.exit(0)
print(data.get("description", "rejected"))
sys.exit(1)
PY
  elif command -v curl >/dev/null; then
    local body  # the URL goes through stdin: a token must not show up in `ps`
    body=$(printf 'url = "%s/bot%s/getMe"\n' "${api%/}" "$token" | curl -sS --max-time 20 -K -) || return 3
    if [[ $body == *'"ok":true'* ]]; then
      [[ $body =~ \"username\":\"([^\"]*)\" ]] && echo "${BASH_REMATCH[1]}"
      return 0
    fi
    echo "$body"
    return 1
  else
    echo "neither python3 nor curl is installed"
    return 3
  fi
}

check_token() {  # check_token TOKEN API -> 0 ok, 1 rejected/malformed, 3 unreachable
  local token=$1 api=$2 answer rc=0
  if ! [[ $token =~ $TOKEN_RE ]]; then
    echo "malformed token: expected '<digits>:<secret>' exactly as @BotFather gave it" >&2
    return 1
  fi
  [ "$network_check" = 1 ] || return 0
  answer=$(telegram_get_me "$api" "$token") || rc=$?
  case $rc in
    0) say "token accepted by Telegram: @${answer}" ;;
    1) echo "Telegram rejected the token: $answer" >&2 ;;
    *) echo "Telegram is unreachable at $api ($answer); fix the network or use --no-network-check" >&2 ;;
  esac
  return "$rc"
}

write_settings() {
  local work existed=0
  umask 077
  work=$(mktemp "$CONF_DIR/.studymate.env.XXXXXX")
  pending_settings=$work  # removed by the EXIT trap if we stop before moving it in place
  if [ -f "$ENV_FILE" ]; then
    existed=1
    cp "$ENV_FILE" "$work"
    prefix_names "$work"  # an older install wrote TIMEZONE=..., BOT_TOKEN=...
  else
    cat > "$work" <<'EOF'
# StudyMate settings (see the README, "Configure"). This file holds the bot token: mode 0600.
# After a change: sudo systemctl restart studymate
EOF
  fi
  if [ -n "$env_input" ]; then
    local line key
    while IFS= read -r line || [ -n "$line" ]; do
      line=${line%$'\r'}
      line=${line#"${line%%[![:space:]]*}"}
      line=${line#export }
      [[ $line =~ ^([A-Za-z_][A-Za-z0-9_]*)= ]] || continue
      key=$(canonical_key "${BASH_REMATCH[1]}")
      env_set "$work" "$key" "${line#*=}"  # as written, quotes included
    done < "$env_input"
  fi
  # The operator's CLI (not started by systemd) must find the same folders as the service.
  local key value
  for key in STUDYMATE_STATE_DIR STUDYMATE_LOG_DIR STUDYMATE_RUNTIME_DIR; do
    case $key in *STATE_DIR) value=$STATE_DIR ;; *LOG_DIR) value=$LOG_DIR ;; *) value=$RUN_DIR ;; esac
    [ -n "$(env_get "$work" "$key")" ] || env_set "$work" "$key" "$value"
  done

  local api token rc
  api=$(env_get "$work" STUDYMATE_TELEGRAM_API_URL)
  api=${api:-https://api.telegram.org}
  token=$(env_get "$work" STUDYMATE_BOT_TOKEN)
  while :; do
    if [ -z "$token" ]; then
      [ "$unattended" = 0 ] || die "STUDYMATE_BOT_TOKEN is missing: put STUDYMATE_BOT_TOKEN=... into the --env-file" 2
      echo "Create a bot with @BotFather in Telegram (/newbot) and paste its token."
      token=$(ask "Bot token: " silent)
      [ -n "$token" ] || continue
    fi
    rc=0
    check_token "$token" "$api" || rc=$?
    [ "$rc" = 0 ] && break
    if [ "$unattended" = 1 ] || [ "$rc" != 1 ]; then die "the bot token was not accepted (see above)" 2; fi
    token=""
  done
  env_set "$work" STUDYMATE_BOT_TOKEN "$token"
  if [ "$unattended" = 0 ] && [ -z "$(env_get "$work" STUDYMATE_ADMIN_TELEGRAM_IDS)" ]; then
    local ids
    ids=$(ask "Telegram ids of the admins who get alerts (comma-separated; @userinfobot tells yours; empty to skip): ")
    if [ -n "$ids" ]; then
      [[ $ids =~ ^[0-9,\ -]+$ ]] || die "admin ids must be numbers separated by commas" 2
      env_set "$work" STUDYMATE_ADMIN_TELEGRAM_IDS "${ids// /}"
    fi
  fi
  [ -n "$(env_get "$work" STUDYMATE_ADMIN_TELEGRAM_IDS)" ] ||
    warn "STUDYMATE_ADMIN_TELEGRAM_IDS is empty: nobody will be alerted when something breaks"

  [ "$with_postgres" = 0 ] || setup_postgres "$work"
  [ "$with_redis" = 0 ] || setup_redis "$work"

  chown "$USER_NAME:$USER_NAME" "$work"
  chmod 0600 "$work"
  if [ "$existed" = 1 ] && cmp -s "$work" "$ENV_FILE"; then
    rm -f "$work"
    say "settings unchanged: $ENV_FILE"
  else
    [ "$existed" = 0 ] || cp -p "$ENV_FILE" "$ENV_FILE.previous"
    mv "$work" "$ENV_FILE"
    say "settings written: $ENV_FILE (mode 0600)"
  fi
  pending_settings=""
  umask 022
}

# -- PostgreSQL and Redis -------------------------------------------------------------------

start_system_service() {  # start_system_service NAME FALLBACK-COMMAND...
  local name=$1; shift
  if has_systemd; then
    systemctl enable --now --quiet "$name"
  else
    "$@" >/dev/null 2>&1 || true
  fi
}

pg_port=5432
setup_postgres() {
  local work=$1 url version pass
  apt_install postgresql
  version=$(find /etc/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -V | tail -1)
  start_system_service postgresql pg_ctlcluster "$version" main start
  # The port the local cluster really uses (5432 unless another cluster had it first).
  pg_port=$(pg_lsclusters -h 2>/dev/null | awk -v v="$version" '$1 == v && $2 == "main" {print $3}')
  pg_port=${pg_port:-5432}
  for _ in $(seq 60); do pg_isready -q -p "$pg_port" && break; sleep 1; done
  pg_isready -q -p "$pg_port" || die "PostgreSQL does not answer on port $pg_port (pg_isready)"
  url=$(env_get "$work" STUDYMATE_DATABASE_URL)
  if [[ $url == postgresql://$USER_NAME:*@127.0.0.1:$pg_port/$USER_NAME ]] && role_exists; then
    say "PostgreSQL: keeping database $USER_NAME and its password"
  elif [ -n "$url" ] && [[ $url != sqlite* ]]; then
    say "PostgreSQL: STUDYMATE_DATABASE_URL already points elsewhere; leaving it"
    return 0
  else
    pass=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
    # The password goes through stdin, never a command line.
    if role_exists; then
      printf "ALTER ROLE %s LOGIN PASSWORD '%s';\n" "$USER_NAME" "$pass" | psql_admin
    else
      printf "CREATE ROLE %s LOGIN PASSWORD '%s';\n" "$USER_NAME" "$pass" | psql_admin
    fi
    env_set "$work" STUDYMATE_DATABASE_URL "postgresql://$USER_NAME:$pass@127.0.0.1:$pg_port/$USER_NAME"
    say "PostgreSQL: role $USER_NAME ready, STUDYMATE_DATABASE_URL set (port $pg_port)"
  fi
  if [ "$(echo "SELECT 1 FROM pg_database WHERE datname = '$USER_NAME'" | psql_admin -tA)" != 1 ]; then
    echo "CREATE DATABASE $USER_NAME OWNER $USER_NAME ENCODING 'UTF8' TEMPLATE template0;" | psql_admin
    say "PostgreSQL: database $USER_NAME created"
  fi
}

psql_admin() {
  (cd / && PGPORT=$pg_port runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 -d postgres "$@")
}
role_exists() { [ "$(echo "SELECT 1 FROM pg_roles WHERE rolname = '$USER_NAME'" | psql_admin -tA)" = 1 ]; }

setup_redis() {
  local work=$1 port
  apt_install redis-server
  start_system_service redis-server service redis-server start
  port=$(awk '$1 == "port" {p = $2} END {print p}' /etc/redis/redis.conf 2>/dev/null)
  port=${port:-6379}
  for _ in $(seq 30); do redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1 && break; sleep 1; done
  redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1 || die "Redis does not answer on 127.0.0.1:$port"
  if [ -z "$(env_get "$work" STUDYMATE_REDIS_URL)" ]; then
    env_set "$work" STUDYMATE_REDIS_URL "redis://127.0.0.1:$port/0"
    say "Redis: STUDYMATE_REDIS_URL set (port $port)"
  fi
}

# -- the program ----------------------------------------------------------------------------

find_binary() {
  local candidate candidates=("$binary")
  # A build next to this script (release tarball) or in the checkout (packaging/build.sh),
  # unless --wheelhouse asked for the Python packages.
  [ -n "$binary" ] || [ -n "$wheelhouse" ] || candidates+=("$SRC/dist/studymate/studymate" "$SRC/studymate")
  for candidate in "${candidates[@]}"; do
    [ -n "$candidate" ] || continue
    [ -d "$candidate" ] && candidate=$candidate/studymate
    if [ -f "$candidate" ] && [ -x "$candidate" ]; then echo "$candidate"; return 0; fi
  done
  [ -z "$binary" ] || die "--binary: no executable studymate at $binary" 2
  return 1
}

install_program() {
  local release bin python stamp
  stamp=$(date +%Y%m%d-%H%M%S)
  if bin=$(find_binary); then
    release=$PREFIX/releases/$stamp-binary
    say "installing the single binary $bin"
    failed_release=$release
    cp -a "$(dirname "$bin")" "$release"
    mkdir -p "$release/bin"
    ln -sfn "../$(basename "$bin")" "$release/bin/studymate"
  else
    python=$(ensure_python)
    release=$PREFIX/releases/$stamp-venv
    say "installing into a virtual environment ($python)"
    "$python" -m venv "$release"
    failed_release=$release  # removed by the EXIT trap unless the install completes
    if [ -n "$wheelhouse" ]; then
      "$release/bin/python" -m pip install --quiet --no-index --find-links "$wheelhouse" studymate
    else
      [ -f "$SRC/setup.cfg" ] || die "no checkout next to install.sh and no --binary/--wheelhouse" 2
      local build
      build=$(mktemp -d)
      # Build from a copy: the checkout may be read-only or belong to someone else.
      cp -r "$SRC/studymate" "$SRC/setup.cfg" "$SRC/pyproject.toml" "$SRC/README.md" \
        "$SRC/supervisord.conf" "$build/"
      "$release/bin/python" -m pip install --quiet --upgrade pip
      "$release/bin/python" -m pip install --quiet "$build"
      rm -rf "$build"
    fi
  fi
  chown -R root:root "$release"
  chmod -R go-w "$release"
  local version
  version=$(as_service_user "$release/bin/studymate" --version) ||
    die "the new program does not run ($release/bin/studymate --version); the old one stays"
  failed_release=""
  if [ -e "$PREFIX/current" ] && [ -f "$ENV_FILE" ]; then
    # Migrations only go forward: keep a verified copy of the data made by the old program.
    say "backing up the database before switching programs"
    (cd "$STATE_DIR" && STUDYMATE_ENV_FILE=$ENV_FILE as_service_user "$APP" backup run --no-prune) ||
      warn "the backup before the upgrade failed; continuing (see 'studymate backup list')"
  fi
  # Switch atomically; the previous release stays for a manual rollback.
  ln -sfn "releases/$(basename "$release")" "$PREFIX/current.new"
  mv -T "$PREFIX/current.new" "$PREFIX/current"
  say "installed $version in $release"
  local keep
  keep=$(readlink "$PREFIX/current")
  # Keep the two newest releases (the one just installed and the one before).
  find "$PREFIX/releases" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort -r | tail -n +3 |
    while read -r old; do [ "releases/$old" = "$keep" ] || rm -rf "${PREFIX:?}/releases/$old"; done
  [ ! -f "$SRC/README.md" ] || install -m 0644 "$SRC/README.md" "$PREFIX/README.md"

  cat > "$WRAPPER.new" <<EOF
#!/bin/sh
# StudyMate's command line, installed by install.sh. Run by root it switches to the service
# user, so files it creates (database, backups) stay the service's; settings: $ENV_FILE.
STUDYMATE_ENV_FILE=$ENV_FILE
export STUDYMATE_ENV_FILE
if [ "\$(id -u)" = 0 ]; then
  exec env HOME=$STATE_DIR setpriv --reuid=$USER_NAME --regid=$USER_NAME --init-groups \\
    sh -c 'cd "\$1" 2>/dev/null || cd /; shift; exec "\$@"' sh "\$PWD" $APP "\$@"
fi
exec $APP "\$@"
EOF
  chmod 0755 "$WRAPPER.new"
  mv "$WRAPPER.new" "$WRAPPER"
}

install_unit() {
  local unit_src=$SRC/systemd/$UNIT_NAME
  [ -f "$unit_src" ] || die "missing $unit_src next to install.sh" 2
  install -m 0644 "$unit_src" "$UNIT_FILE"
  if [ -n "$programs" ] && [ "$programs" != all ]; then
    mkdir -p "$DROPIN_DIR"
    cat > "$PROGRAMS_DROPIN" <<EOF
# Written by install.sh --programs: only these supervisor programs run.
[Service]
ExecStart=
ExecStart=$APP supervise --programs $programs
EOF
  elif [ "$programs" = all ]; then
    rm -f "$PROGRAMS_DROPIN"
  fi
  if has_systemd; then
    systemctl daemon-reload
    systemctl enable --quiet "$UNIT_NAME"
  elif command -v systemctl >/dev/null; then
    systemctl enable --quiet "$UNIT_NAME" 2>/dev/null || true  # takes effect if systemd boots later
  fi
}

# -- running it -----------------------------------------------------------------------------

supervise_args() {
  # Without systemd the --programs choice lives in the same drop-in as with it.
  local line
  [ -f "$PROGRAMS_DROPIN" ] || return 0
  line=$(grep -E '^ExecStart=.+ supervise --programs ' "$PROGRAMS_DROPIN" | tail -1)
  echo "--programs ${line##* }"
}

background_pid() {
  local pid
  pid=$(cat "$RUN_DIR/supervisord.pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q supervis || return 1
  echo "$pid"
}

stop_background() {
  local pid
  pid=$(background_pid) || return 0
  say "stopping the running appliance (pid $pid)"
  kill -TERM "$pid"
  for _ in $(seq 70); do kill -0 "$pid" 2>/dev/null || return 0; sleep 1; done
  warn "supervisord (pid $pid) did not stop in 70 s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
}

start_service() {
  local began took
  began=$(date +%s.%N)
  if has_systemd; then
    systemctl reset-failed "$UNIT_NAME" 2>/dev/null || true
    say "starting $UNIT_NAME (returns when the bot is up)"
    if ! systemctl restart "$UNIT_NAME"; then
      journalctl -u "$UNIT_NAME" -n 30 --no-pager >&2 || true
      die "the service did not start; see the log above and run: sudo studymate doctor"
    fi
  else
    stop_background
    install -d -m 0700 -o "$USER_NAME" -g "$USER_NAME" "$RUN_DIR"
    (cd "$STATE_DIR" && STUDYMATE_ENV_FILE=$ENV_FILE as_service_user "$APP" migrate) ||
      die "database migration failed; run: sudo studymate doctor"
    say "systemd is not PID 1 here: starting 'studymate supervise' in the background"
    # setsid and setpriv exec, and supervise keeps its PID: $! is supervisord's PID.
    # shellcheck disable=SC2046  # supervise_args is empty or two words
    (cd "$STATE_DIR" && exec env STUDYMATE_ENV_FILE="$ENV_FILE" HOME="$STATE_DIR" setsid \
      setpriv --reuid="$USER_NAME" --regid="$USER_NAME" --init-groups \
      "$APP" supervise $(supervise_args)) >> "$LOG_DIR/supervise.out" 2>&1 < /dev/null &
    background=$!
    disown "$background" 2>/dev/null || true
  fi
  took=$(echo "$(date +%s.%N) - $began" | awk '{printf "%.1f", $1 - $3}')
  wait_healthy
  if has_systemd; then
    say "running (systemctl restart returned after $took s, with the bot up)"
  else
    say "running (healthy $(echo "$(date +%s.%N) - $began" | awk '{printf "%.1f", $1 - $3}') s after the start)"
  fi
}

wait_healthy() {
  local deadline=$(( $(date +%s) + health_timeout )) out=""
  while :; do
    if out=$("$WRAPPER" status 2>&1); then
      printf '%s\n' "$out"
      return 0
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      printf '%s\n' "$out" >&2
      if has_systemd; then journalctl -u "$UNIT_NAME" -n 20 --no-pager >&2 || true; fi
      die "not healthy after $health_timeout s; check the settings with: sudo studymate doctor"
    fi
    if [ -n "$background" ] && ! kill -0 "$background" 2>/dev/null; then
      tail -n 20 "$LOG_DIR/supervise.out" >&2 || true
      die "'studymate supervise' exited; see $LOG_DIR/supervise.out"
    fi
    sleep 1
  done
}

next_steps() {
  local apply="sudo systemctl restart studymate" journal=", and: sudo journalctl -u studymate"
  local status="sudo studymate status   (or: sudo systemctl status studymate)"
  if ! has_systemd; then
    apply="sudo ./install.sh (restarts the appliance)"
    journal=" ($LOG_DIR/supervise.out: start-up messages)"
    status="sudo studymate status"
  fi
  cat <<EOF

StudyMate is installed.
  settings   $ENV_FILE (after a change: $apply)
  data       $STATE_DIR (database, backups in $STATE_DIR/backups)
  logs       $LOG_DIR$journal
  status     $status

Next:
  1. Add the bot to each mentor's group and make it an administrator there.
  2. Register each mentor (the group id is negative; @RawDataBot in the group tells it):
       sudo studymate mentor add --telegram-id ID --name "NAME" --group-chat-id -100... --language ru
  3. Check everything: sudo studymate doctor
EOF
  if ! has_systemd; then
    cat <<EOF

Note: systemd is not running as PID 1 on this machine (a container?), so 'studymate supervise'
runs in the background without a service manager; after a restart of the machine run
'sudo ./install.sh' again (or start '$APP supervise' as user $USER_NAME from your entrypoint).
EOF
  fi
}

# -- uninstall ------------------------------------------------------------------------------

do_uninstall() {
  if has_systemd && systemctl list-unit-files "$UNIT_NAME" >/dev/null 2>&1; then
    systemctl disable --now --quiet "$UNIT_NAME" 2>/dev/null || true
  fi
  stop_background
  rm -f "$UNIT_FILE" "$PROGRAMS_DROPIN" "$WRAPPER"
  rmdir "$DROPIN_DIR" 2>/dev/null || true
  if has_systemd; then systemctl daemon-reload; systemctl reset-failed "$UNIT_NAME" 2>/dev/null || true; fi
  rm -rf "$PREFIX"
  say "removed the service and the program"
  if [ "$purge" = 0 ]; then
    cat <<EOF
Kept: settings in $CONF_DIR, data and backups in $STATE_DIR, logs in $LOG_DIR, user $USER_NAME.
Reinstalling picks them up again; 'install.sh --uninstall --purge' deletes them.
EOF
    return 0
  fi
  if [ "$unattended" = 0 ]; then
    local answer
    answer=$(ask "Delete the database, backups, logs and settings for good? Type 'purge': ")
    [ "$answer" = purge ] || die "not purged; data kept" 1
  fi
  local url
  url=$(env_get "$ENV_FILE" STUDYMATE_DATABASE_URL)
  [ -n "$url" ] || url=$(env_get "$ENV_FILE" DATABASE_URL)  # written by an older install.sh
  if [[ $url =~ ^postgresql://$USER_NAME:[^@]*@127\.0\.0\.1:([0-9]+)/$USER_NAME$ ]] && command -v psql >/dev/null; then
    pg_port=${BASH_REMATCH[1]}
    echo "DROP DATABASE IF EXISTS $USER_NAME;" | psql_admin || warn "could not drop database $USER_NAME"
    echo "DROP ROLE IF EXISTS $USER_NAME;" | psql_admin || warn "could not drop role $USER_NAME"
  fi
  rm -rf "$CONF_DIR" "$STATE_DIR" "$LOG_DIR" "$CACHE_DIR" "$RUN_DIR"
  if id -u "$USER_NAME" >/dev/null 2>&1; then userdel "$USER_NAME" 2>/dev/null || warn "could not delete user $USER_NAME"; fi
  say "purged settings, data, backups, logs and the user $USER_NAME"
}

main() {
  parse_args "$@"
  umask 022  # the program must be readable by the service user whatever root's umask is
  [ "$(id -u)" = 0 ] || die "run as root: sudo $0 $*" 2
  if [ "$uninstall" = 1 ]; then do_uninstall; return 0; fi
  check_os
  local began=$SECONDS
  ensure_user_and_dirs
  write_settings
  install_program
  install_unit
  if [ "$start" = 1 ]; then
    start_service
  else
    say "not started (--no-start): sudo systemctl start studymate"
  fi
  say "install.sh finished in $(( SECONDS - began )) s"
  next_steps
}

failed_release="" pending_settings=""
cleanup() {
  [ -z "$failed_release" ] || rm -rf "$failed_release"
  [ -z "$pending_settings" ] || rm -f "$pending_settings"
}
trap cleanup EXIT

# Sourced (tests call single functions), it only defines them.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then main "$@"; fi
