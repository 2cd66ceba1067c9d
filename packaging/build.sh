#!/usr/bin/env bash
# Build the single-binary StudyMate: a PyInstaller onedir bundle (no noexec temp dir needed).
#
#   packaging/build.sh                   -> dist/studymate/studymate (+ dist/studymate/_internal)
#   dist/studymate/studymate --version
#
# Install it by copying the whole dist/studymate directory (e.g. to /opt/studymate/) and
# linking the binary into PATH. Onedir, no UPX: see packaging/studymate.spec for why.
#
# The libraries are installed at the versions pinned in packaging/constraints.txt (made by
# packaging/freeze.sh), so two builds of one commit bundle the same code.
#
#   VENV      virtual environment to build with (default: build/venv of this checkout); created
#             when missing, and the `build` extra (PyInstaller) and StudyMate's dependencies are
#             installed into it at the pinned versions when they are missing or setup.cfg or
#             the constraints changed; the build stops if an installed version is not the pinned one
#   SKIP_INSTALL=1  use VENV as it is (it must have PyInstaller and StudyMate's dependencies);
#             versions other than the pinned ones are only reported
#   DIST_DIR  where the bundle goes (default: dist)
#   WORK_DIR  PyInstaller's work files (default: build/pyinstaller)
#   PYTHON    interpreter that creates the venv (default: python3; StudyMate needs 3.11+)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

venv=${VENV:-$root/build/venv}
constraints=$root/packaging/constraints.txt
dist=${DIST_DIR:-$root/dist}
work=${WORK_DIR:-$root/build/pyinstaller}

if [ ! -x "$venv/bin/python" ]; then
  "${PYTHON:-python3}" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
fi
stamp=$venv/.studymate-build-deps
if [ "${SKIP_INSTALL:-}" != 1 ] && { [ ! -f "$stamp" ] || [ setup.cfg -nt "$stamp" ] \
   || [ "$constraints" -nt "$stamp" ] || ! "$venv/bin/python" -c 'import PyInstaller' 2>/dev/null; }; then
  "$venv/bin/python" -m pip install --quiet -c "$constraints" -e "$root[build]"
  touch "$stamp"
fi
# Every pinned library this build would bundle must be at its pinned version.
if ! "$venv/bin/python" - "$constraints" <<'PY'
import importlib.metadata as metadata
import sys

wrong = []
for line in open(sys.argv[1], encoding="utf-8"):
    name, _, version = line.split("#")[0].strip().partition("==")
    if not version:
        continue
    try:
        installed = metadata.version(name)
    except metadata.PackageNotFoundError:
        continue  # not needed on this Python
    if installed != version:
        wrong.append(f"{name} {installed} (pinned {version})")
if wrong:
    print("build.sh: not the pinned versions of packaging/constraints.txt: " + ", ".join(wrong),
          file=sys.stderr)
    sys.exit(1)
PY
then
  [ "${SKIP_INSTALL:-}" = 1 ] || exit 1
fi

started=$(date +%s)
# A fixed hash seed: otherwise the order of files in base_library.zip changes from build to build.
PYTHONHASHSEED=0 "$venv/bin/python" -m PyInstaller --noconfirm --log-level WARN \
  --distpath "$dist" --workpath "$work" packaging/studymate.spec
took=$(( $(date +%s) - started ))

binary=$dist/studymate/studymate
"$binary" --version >/dev/null  # a bundle that cannot start is not a build
size=$(du -sh "$dist/studymate" | cut -f1)
echo "built $binary ($("$binary" --version)): $size in ${took} s"
