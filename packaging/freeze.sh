#!/usr/bin/env bash
# Regenerate packaging/constraints.txt: the exact versions packaging/build.sh installs, so two
# builds of one commit bundle the same libraries. Run it after changing the dependencies in
# setup.cfg (or to take newer releases), then commit the file with the change.
#
#   packaging/freeze.sh            # resolves setup.cfg's dependencies and the `build` extra anew
#   PYTHON=python3.11 packaging/freeze.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
"${PYTHON:-python3}" -m venv "$scratch/venv"
"$scratch/venv/bin/python" -m pip install --quiet "$root[build]"
{
  echo "# The versions packaging/build.sh installs (pip install -c this file): regenerate with"
  echo "# packaging/freeze.sh, never edit by hand. Made with $("$scratch/venv/bin/python" -V)."
  "$scratch/venv/bin/python" -m pip freeze --all --exclude-editable \
    | grep -v -i -E '^(studymate|pip)( @|==)' | LC_ALL=C sort -f
} > packaging/constraints.txt
echo "wrote packaging/constraints.txt ($(grep -c '==' packaging/constraints.txt) packages)"
