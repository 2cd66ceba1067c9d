"""``systemd/studymate.service``: exposure score, ``systemd-analyze verify``, and the properties
the appliance relies on. Offline checks: no running systemd needed.

tests/test_install.py checks the same unit in force inside a booted Debian container.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from conftest import service_missing

from studymate.ops.supervisor.config import find_template, stop_budget

REPO = Path(__file__).resolve().parents[1]
UNIT = REPO / "systemd" / "studymate.service"
INSTALL_SH = REPO / "install.sh"
EXECUTABLE = "/opt/studymate/current/bin/studymate"  # what install.sh installs
MAX_EXPOSURE = 1.5


def systemd_analyze() -> str:
    path = shutil.which("systemd-analyze")
    if path is None:
        service_missing("systemd-analyze (package systemd)")
    return path


def sections(text: str) -> dict[str, dict[str, list[str]]]:
    """``{section: {key: [values in order]}}``: keys such as SystemCallFilter repeat."""
    result: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        header = re.fullmatch(r"\[(\w+)\]", line)
        if header:
            current = result.setdefault(header.group(1), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key, []).append(value)
    return result


def one(unit: dict[str, dict[str, list[str]]], section: str, key: str) -> str:
    values = unit[section].get(key)
    assert values is not None, f"{key}= missing in [{section}]"
    assert len(values) == 1, f"{key}= set {len(values)} times in [{section}]"
    return values[0]


def test_exposure_score_is_at_most_1_5():
    analyze = systemd_analyze()
    result = subprocess.run(
        [analyze, "security", "--offline=yes", "--no-pager", str(UNIT)],
        capture_output=True, text=True, timeout=60, cwd=UNIT.parent,
    )
    found = re.search(r"Overall exposure level for studymate\.service: (\d+\.\d) (\w+)", result.stdout)
    assert found, result.stdout + result.stderr
    score = float(found.group(1))
    print(f"\nsystemd-analyze security --offline=yes systemd/studymate.service: {score} {found.group(2)}")
    assert score <= MAX_EXPOSURE
    # The CI-style gate agrees (its threshold is on the 0-100 scale).
    gate = subprocess.run(
        [analyze, "security", "--offline=yes", "--threshold=15", "--no-pager", str(UNIT)],
        capture_output=True, text=True, timeout=60, cwd=UNIT.parent,
    )
    assert gate.returncode == 0, gate.stdout[-2000:]


def test_systemd_analyze_verify_accepts_the_unit(tmp_path):
    analyze = systemd_analyze()
    # verify insists that ExecStart= exists: point it at a stand-in executable.
    stand_in = tmp_path / "studymate"
    stand_in.write_text("#!/bin/sh\nexit 0\n")
    stand_in.chmod(0o755)
    copy = tmp_path / "studymate.service"
    copy.write_text(UNIT.read_text().replace(EXECUTABLE, str(stand_in)))
    result = subprocess.run(
        [analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    # verify also reports unrelated units of this machine; only our file counts.
    ours = [line for line in result.stderr.splitlines() if "studymate.service" in line]
    assert result.returncode == 0 and not ours, result.stderr


def test_unit_has_the_properties_the_appliance_relies_on():
    unit = sections(UNIT.read_text())
    service = unit["Service"]
    # The dedicated user, and what systemd starts: migrations first, then supervisord.
    assert one(unit, "Service", "User") == "studymate" and one(unit, "Service", "Group") == "studymate"
    assert one(unit, "Service", "ExecStartPre") == f"{EXECUTABLE} migrate"
    assert one(unit, "Service", "ExecStart") == f"{EXECUTABLE} supervise"
    # `systemctl start` returns when supervise says READY=1 from its own (main) process.
    assert one(unit, "Service", "Type") == "notify"
    assert one(unit, "Service", "NotifyAccess") == "main"
    # SIGTERM to supervisord alone, which stops the programs in order; its stop budget fits.
    assert one(unit, "Service", "KillMode") == "mixed"
    budget = stop_budget(find_template().read_text())
    assert int(one(unit, "Service", "TimeoutStopSec")) >= max(60, budget + 5)
    # Restart policy in [Service], start limits in [Unit] (systemd ignores them elsewhere).
    assert one(unit, "Service", "Restart") == "on-failure"
    assert int(one(unit, "Service", "RestartSec")) >= 1
    assert int(one(unit, "Unit", "StartLimitBurst")) >= 3
    assert int(one(unit, "Unit", "StartLimitIntervalSec")) >= 60
    assert not {"StartLimitBurst", "StartLimitIntervalSec"} & set(service)
    # supervisord raises RLIMIT_NOFILE to minfds (1024) unless it already is; ~@resources forbids that.
    assert int(one(unit, "Service", "LimitNOFILE")) >= 1024
    # The directories systemd creates for the service user; everything else is read-only.
    for key in ("StateDirectory", "LogsDirectory", "RuntimeDirectory", "ConfigurationDirectory",
                "CacheDirectory"):
        assert one(unit, "Service", key) == "studymate"
    for key in ("StateDirectoryMode", "LogsDirectoryMode", "RuntimeDirectoryMode"):
        assert one(unit, "Service", key) == "0700"
    assert one(unit, "Service", "UMask") == "0077"
    assert "STUDYMATE_ENV_FILE=/etc/studymate/studymate.env" in service["Environment"]
    # No capabilities at all, and the full sandbox.
    assert service["CapabilityBoundingSet"] == [""] and service["AmbientCapabilities"] == [""]
    expected = {
        "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
        "PrivateTmp": "yes", "PrivateDevices": "yes", "PrivateUsers": "yes",
        "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes", "ProtectKernelLogs": "yes",
        "ProtectControlGroups": "yes", "ProtectClock": "yes", "ProtectHostname": "yes",
        "ProtectProc": "invisible", "RestrictNamespaces": "yes", "RestrictRealtime": "yes",
        "RestrictSUIDSGID": "yes", "LockPersonality": "yes", "MemoryDenyWriteExecute": "yes",
        "RemoveIPC": "yes", "SystemCallArchitectures": "native",
        "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
    }
    assert {key: one(unit, "Service", key) for key in expected} == expected
    # supervisord's no-op chown of its socket is the one @privileged call given back (0.1).
    assert service["SystemCallFilter"] == ["@system-service", "~@privileged @resources", "@chown"]
    # ProcSubset=pid would hide /proc/meminfo and /proc/loadavg from the watchdog.
    assert "ProcSubset" not in service
    assert one(unit, "Install", "WantedBy") == "multi-user.target"


def test_install_sh_installs_what_the_unit_runs():
    """The unit and the installer agree on paths (a rename in one breaks the other)."""
    script = INSTALL_SH.read_text()
    assert "readonly PREFIX=/opt/studymate" in script and "$PREFIX/current/bin/studymate" in script
    assert "readonly ENV_FILE=$CONF_DIR/studymate.env" in script
    assert "readonly USER_NAME=studymate" in script
    assert "ExecStart=$APP supervise --programs" in script  # the --programs drop-in
    assert EXECUTABLE in UNIT.read_text()
    shellcheck = shutil.which("shellcheck")
    if shellcheck:  # optional locally; the install test exercises the script for real
        result = subprocess.run([shellcheck, "-S", "warning", str(INSTALL_SH),
                                 str(REPO / "scripts" / "nspawn_root.sh")],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout
