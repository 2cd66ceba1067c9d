"""The PyInstaller build installs pinned versions: every dependency is in the constraints file."""

from __future__ import annotations

import configparser
import importlib.metadata
import re
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
CONSTRAINTS = ROOT / "packaging" / "constraints.txt"


def _pins() -> dict[str, str]:
    pins = {}
    for line in CONSTRAINTS.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            match = re.fullmatch(r"([A-Za-z0-9._-]+)==([A-Za-z0-9.+!-]+)", line)
            assert match, f"not an exact pin: {line!r}"
            pins[canonicalize_name(match[1])] = match[2]
    return pins


def _requirements() -> list[Requirement]:
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    lines = setup["options"]["install_requires"] + setup["options.extras_require"]["build"]
    return [Requirement(line) for line in lines.splitlines() if line.strip()]


def test_build_sh_installs_through_the_constraints_file():
    script = (ROOT / "packaging" / "build.sh").read_text()
    assert "constraints=$root/packaging/constraints.txt" in script
    installs = [line for line in script.splitlines() if "pip install" in line and "[build]" in line]
    assert installs and all('-c "$constraints"' in line for line in installs), installs


def test_every_dependency_is_pinned_to_a_version_setup_cfg_allows():
    pins = _pins()
    for requirement in _requirements():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is not pinned in {CONSTRAINTS.name}"
        assert requirement.specifier.contains(pins[name], prereleases=True), \
            f"{requirement.name}=={pins[name]} does not satisfy setup.cfg's {requirement}"
    # Extras pull in more: aiogram[redis] needs redis pinned too.
    assert "redis" in pins and "pyinstaller" in pins
    assert "studymate" not in pins


def test_what_the_pinned_packages_need_is_pinned_too():
    """The pins are a closed set (checked for each pinned package installed here)."""
    pins = _pins()
    checked = 0
    for name in pins:
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        checked += 1
        for line in requires:
            requirement = Requirement(line)
            if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
                continue
            assert canonicalize_name(requirement.name) in pins, f"{name} needs {requirement.name}"
    assert checked >= 10, "too few pinned packages installed here to check"
