"""A backup that fails for lack of disk space leaves nothing of itself behind.

The full disk is real: a small tmpfs mounted in a private mount namespace (``unshare``), filled
so that the dump just fits and what comes after it does not."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_backup import cli, cli_env

PAGE = 4096

FILL_AND_RUN = r"""
import json, os, subprocess, sys
small, leave = sys.argv[1], int(sys.argv[2])
backups = os.path.join(small, "backups")
os.makedirs(backups)
st = os.statvfs(small)
with open(os.path.join(small, "filler"), "wb") as f:
    f.write(b"\0" * (st.f_bavail * st.f_frsize - leave))
done = subprocess.run([sys.executable, "-m", "studymate", "backup", "run"], capture_output=True, text=True)
print(json.dumps({"code": done.returncode, "err": done.stderr[-400:], "files": sorted(os.listdir(backups))}))
"""


def full_disk_backup(env: dict[str, str], small: Path, leave: int) -> dict:
    small.mkdir()
    script = f'mount -t tmpfs -o size=8m tmpfs "$1" && exec "{sys.executable}" -c "$2" "$1" "$3"'
    done = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script, "sh",
         str(small), FILL_AND_RUN, str(leave)],
        env={**env, "STUDYMATE_BACKUP_DIR": str(small / "backups")}, capture_output=True, text=True, timeout=120,
    )
    if done.returncode != 0 or not done.stdout.strip():
        pytest.skip(f"cannot mount a private tmpfs here: {done.stderr.strip()[-200:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("extra_pages", [1, 3, 6])
def test_a_backup_failing_for_space_leaves_no_temporary_file(db, database_url, tmp_path, extra_pages):
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is needed for a private tmpfs")
    env = cli_env(database_url, tmp_path)
    first = cli(env, "backup", "run")  # how big a dump of this database is
    assert first.returncode == 0, first.stderr
    [dump] = [p for p in (tmp_path / "backups").iterdir() if not p.name.endswith(".json") and not p.name.startswith(".")]
    size = -(-dump.stat().st_size // PAGE) * PAGE

    outcome = full_disk_backup(env, tmp_path / "small", size + extra_pages * PAGE)
    leftovers = [name for name in outcome["files"] if ".tmp" in name]
    assert leftovers == [], outcome
    if outcome["code"] != 0:
        assert outcome["files"] == [".backup.lock"], outcome
