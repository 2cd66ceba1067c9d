#!/usr/bin/env python3
"""Add or update texts in the three catalogs from a JSON file.

    scripts/add_texts.py texts.json [--area "Materials"]

The JSON maps each key to its texts: {"key": {"ru": "...", "kaa": "...", "en": "..."}}.
Existing keys are updated in place; new keys are appended under a "# --- AREA ---" comment.
"""

from __future__ import annotations

import argparse
import json
import re
import string
from pathlib import Path

LOCALES = Path(__file__).resolve().parents[1] / "studymate" / "locales"
LANGUAGES = ("ru", "kaa", "en")


def po_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    if "\n" not in text:
        return '"' + escaped + '"'
    lines = escaped.split("\n")
    parts = [f'"{line}\\n"' for line in lines[:-1]] + ([f'"{lines[-1]}"'] if lines[-1] else [])
    return '""\n' + "\n".join(parts)


def entry(key: str, text: str) -> str:
    has_placeholders = any(name for _, name, _, _ in string.Formatter().parse(text))
    flag = "#, python-brace-format\n" if has_placeholders else ""
    return f'{flag}msgid "{key}"\nmsgstr {po_string(text)}\n'


def merge(path: Path, texts: dict[str, str], area: str) -> None:
    content = path.read_text(encoding="utf-8")
    added = []
    for key, text in texts.items():
        pattern = re.compile(
            rf'(#, python-brace-format\n)?msgid "{re.escape(key)}"\nmsgstr (?:"[^\n]*"\n)+', re.M
        )
        if pattern.search(content):
            content = pattern.sub(lambda _m, k=key, v=text: entry(k, v), content, count=1)
        else:
            added.append(entry(key, text))
    if added:
        content = content.rstrip("\n") + f"\n\n# --- {area} ---\n" + "\n".join(added)
    path.write_text(content if content.endswith("\n") else content + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json_file", type=Path)
    parser.add_argument("--area", default="More")
    args = parser.parse_args()
    data: dict[str, dict[str, str]] = json.loads(args.json_file.read_text(encoding="utf-8"))
    for lang in LANGUAGES:
        missing = [key for key, texts in data.items() if not texts.get(lang)]
        if missing:
            raise SystemExit(f"{lang} text missing for {missing}")
        merge(LOCALES / lang / "LC_MESSAGES" / "messages.po", {k: v[lang] for k, v in data.items()}, args.area)
    print(f"merged {len(data)} keys into {', '.join(LANGUAGES)}")


if __name__ == "__main__":
    main()
