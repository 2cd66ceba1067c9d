"""Entry script of the PyInstaller build: the same as ``python -m studymate``.

PyInstaller needs a script, not a module; this one lives outside the package so the analysis
does not put ``studymate/`` itself on the import path.
"""

from studymate.cli.main import main

raise SystemExit(main())
