#!/usr/bin/env bash
# Build the single-binary StudyMate: a PyInstaller onedir bundle (no noexec temp dir needed).
#
#   packaging/build.sh                   -> dist/studymate/studymate (+ dist/studymate/_internal)
#   dist/studymate/studymate --version
#
# Install it by copying the whole dist/studymate directory (e.g. to /opt/studymate/) and
# linking the binary into PATH. Onedir, no UPX: see packaging/studymate.spec for why.
#
#   VENV      virtual environment to build with (default: .venv of this checkout); created when
#             missing, and the `build` extra (PyInstaller) and StudyMate's dependencies are
#             installed into it when they are missing or setup.cfg changed
#   SKIP_INSTALL=1  use VENV as it is (it must have PyInstaller and StudyMate's dependencies)
#   DIST_DIR  where the bundle goes (default: dist)
#   WORK_DIR  PyInstaller's work files (default: build/pyinstaller)
#   PYTHON    interpreter that creates the venv (default: python3; StudyMate needs 3.11+)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

venv=${VENV:-$root/.venv}
dist=${DIST_DIR:-$root/dist}
work=${WORK_DIR:-$root/build/pyinstaller}

if [ ! -x "$venv/bin/python" ]; then
  "${PYTHON:-python3}" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
fi
stamp=$venv/.studymate-build-deps
if [ "${SKIP_INSTALL:-}" != 1 ] && { [ ! -f "$stamp" ] || [ setup.cfg -nt "$stamp" ] \
   || ! "$venv/bin/python" -c 'import PyInstaller' 2>/dev/null; }; then
  "$venv/bin/python" -m pip install --quiet -e "$root[build]"
  touch "$stamp"
fi

started=$(date +%s)
"$venv/bin/python" -m PyInstaller --noconfirm --log-level WARN \
  --distpath "$dist" --workpath "$work" packaging/studymate.spec
took=$(( $(date +%s) - started ))

binary=$dist/studymate/studymate
"$binary" --version >/dev/null  # a bundle that cannot start is not a build
size=$(du -sh "$dist/studymate" | cut -f1)
echo "built $binary ($("$binary" --version)): $size in ${took} s"
