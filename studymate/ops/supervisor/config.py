"""supervisord's configuration: the shipped file, the programs kept, the environment it reads.

``supervisord.conf`` (top of the checkout, shipped with the build) is a plain supervisord file.
The install's paths and the command that starts ``studymate`` come from the environment,
through supervisor's own ``%(ENV_NAME)s`` expansion; :func:`environment` is what
``studymate supervise`` puts there. Children inherit that environment too, so every program
agrees on the directories whatever its working directory or env file says.

``--programs`` keeps a subset: the other ``[program:x]`` sections are left out of the copy
written to ``RUNTIME_DIR/supervisord.conf``, which is what supervisord reads.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from studymate.config import Settings

TEMPLATE_NAME: Final = "supervisord.conf"
SECTION_RE: Final = re.compile(r"^\[([^\]]+)\]", re.MULTILINE)
COMMAND_VARIABLE: Final = "STUDYMATE_COMMAND"


def config_path(settings: Settings) -> Path:
    return settings.runtime_dir.resolve() / TEMPLATE_NAME


def studymate_command() -> list[str]:
    """How a child starts ``studymate``: one executable, many roles."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, "-m", "studymate"]


def find_template(explicit: Path | None = None) -> Path:
    """The file: ``--config``, else the copy shipped with this build or checkout."""
    if explicit is not None:
        return explicit
    candidates = [
        Path(getattr(sys, "_MEIPASS", "/nonexistent")) / TEMPLATE_NAME,  # PyInstaller bundle
        Path(__file__).resolve().parents[3] / TEMPLATE_NAME,  # checkout / editable install
        Path(sys.prefix) / "share" / "studymate" / TEMPLATE_NAME,  # wheel data_files
    ]
    for path in candidates:
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"{TEMPLATE_NAME} not found next to the program; pass it with --config FILE"
    )


def template_programs(text: str) -> list[str]:
    """Names of the ``[program:x]`` sections, in file order."""
    return [s.split(":", 1)[1] for s in SECTION_RE.findall(text) if s.startswith("program:")]


def environment(settings: Settings, command: Sequence[str] | None = None) -> dict[str, str]:
    """What supervisord's ``%(ENV_...)s`` and every program read: absolute directories and
    the command line of ``studymate``."""
    return {
        "STUDYMATE_STATE_DIR": str(settings.state_dir.resolve()),
        "STUDYMATE_LOG_DIR": str(settings.log_dir.resolve()),
        "STUDYMATE_RUNTIME_DIR": str(settings.runtime_dir.resolve()),
        "PYTHONUNBUFFERED": "1",
        COMMAND_VARIABLE: shlex.join(command or studymate_command()),
    }


def select_programs(text: str, programs: Sequence[str] | None = None) -> str:
    """``text`` with only the ``[program:x]`` sections named (default: all of them)."""
    available = template_programs(text)
    if programs is None:
        return text
    unknown = [name for name in programs if name not in available]
    if unknown:
        raise ValueError(f"unknown program(s) {', '.join(unknown)}; known: {', '.join(available)}")
    starts = [m.start() for m in SECTION_RE.finditer(text)] + [len(text)]
    kept = [text[: starts[0]]]
    for begin, end in zip(starts, starts[1:], strict=False):
        chunk = text[begin:end]
        name = SECTION_RE.match(chunk).group(1)  # type: ignore[union-attr]
        if not (name.startswith("program:") and name.split(":", 1)[1] not in programs):
            kept.append(chunk)
    return "".join(kept)


def check(path: Path, env: Mapping[str, str]) -> Any:
    """Parse ``path`` as supervisord will under ``env``: supervisor's ServerOptions, whose
    ``process_group_configs`` and ``configroot.supervisord`` say what it would run. ValueError
    with supervisor's reason when it would refuse the file."""
    from supervisor.options import ServerOptions

    options = ServerOptions()
    options.environ_expansions = {f"ENV_{k}": v for k, v in {**os.environ, **env}.items()}
    options.configfile = str(path)
    options.process_config(do_usage=False)
    return options


def write_private(path: Path, text: str) -> None:
    """Write ``text`` atomically with mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def stop_budget(text: str) -> int:
    """Worst-case seconds to stop every program: priorities stop one after another."""
    total = 0
    for section in re.split(r"^\[", text, flags=re.MULTILINE):
        if section.startswith("program:"):
            found = re.search(r"^stopwaitsecs\s*=\s*(\d+)", section, re.MULTILINE)
            total += int(found.group(1)) if found else 10  # supervisor's default
    return total
