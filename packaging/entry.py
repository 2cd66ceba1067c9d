"""Entry script of the PyInstaller build: the same as ``python -m studymate``.

PyInstaller needs a script, not a module; this one lives outside the package so the analysis
does not put ``studymate/`` itself on the import path. ``studymate supervise`` starts the
binary again as ``studymate __supervisord__ CONF SOCK HEARTBEAT STALE MODE``: that process
imports only supervisord's modules (as ``python -m studymate.ops.supervisor`` does from a
Python install).
"""

import sys

if sys.argv[1:2] == ["__supervisord__"]:  # studymate.ops.supervisor.run.LEAN_SUPERVISORD
    from studymate.ops.supervisor import run  # supervisord alone: no CLI, settings or drivers

    raise SystemExit(run.main(sys.argv[2:]))

from studymate.cli.main import main

raise SystemExit(main())
