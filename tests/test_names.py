"""A class name means one thing across the package, so a reader never mistakes one for another."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "studymate"
# Frozen copies of the models in migrations, peewee's Meta, and the two backup engines, which
# implement one interface on purpose (``engines.sqlite.Prepared`` / ``engines.postgres.Prepared``).
ALLOWED = {"Meta", "Prepared"}


def test_class_names_are_unique_across_the_package():
    where: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith("db/migrations/"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and node.name not in ALLOWED:
                where.setdefault(node.name, []).append(relative)
    assert {name: paths for name, paths in where.items() if len(paths) > 1} == {}
