#!/usr/bin/env python3
"""Add or update texts in the three catalogs from a JSON file.

    scripts/add_texts.py texts.json [--area "Materials"]

The JSON maps each key to its texts: {"key": {"ru": "...", "kaa": "...", "en": "..."}}.
Existing keys are updated in place; new keys are appended under a "# --- AREA ---" comment.
The catalogs are read and written by Babel (the same reader the bot loads them with).

Which keys the code uses can be listed with Babel too (the keys are the msgids):

    pybabel extract -F babel.cfg -k t -k MenuButton -k all_labels -o messages.pot studymate
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import string
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po, write_po

LOCALES = Path(__file__).resolve().parents[1] / "studymate" / "locales"
LANGUAGES = ("ru", "kaa", "en")
DOMAIN = "messages"
BRACE_FLAG = "python-brace-format"


def has_placeholders(text: str) -> bool:
    return any(name for _, name, _, _ in string.Formatter().parse(text))


def _flag(message: Message) -> None:
    """Babel looks for placeholders in the msgid; ours is a key, the placeholders are in the text."""
    if isinstance(message.string, str) and has_placeholders(message.string):
        message.flags.add(BRACE_FLAG)
    else:
        message.flags.discard(BRACE_FLAG)


def load(path: Path, lang: str) -> Catalog:
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=lang, domain=DOMAIN)
    for message in catalog:
        if message.id:
            _flag(message)
    return catalog


def dump(catalog: Catalog, path: Path) -> None:
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=0)  # no wrapping: one line of text is one line in the file
    path.write_bytes(buffer.getvalue().rstrip(b"\n") + b"\n")


def merge(catalog: Catalog, texts: dict[str, str], area: str) -> bool:
    """Put ``texts`` into ``catalog``; returns whether anything changed."""
    changed, first_new = False, True
    for key, text in texts.items():
        message = catalog.get(key)
        if message is None:
            message = catalog.add(key, text, user_comments=[f"--- {area} ---"] if first_new else [])
            first_new, changed = False, True
        elif message.string != text:
            message.string, changed = text, True
        _flag(message)
    if changed:
        catalog.revision_date = dt.datetime.now(dt.UTC)
    return changed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json_file", type=Path)
    parser.add_argument("--area", default="More")
    parser.add_argument("--locales", type=Path, default=LOCALES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    data: dict[str, dict[str, str]] = json.loads(args.json_file.read_text(encoding="utf-8"))
    for lang in LANGUAGES:
        missing = [key for key, texts in data.items() if not texts.get(lang)]
        if missing:
            raise SystemExit(f"{lang} text missing for {missing}")
    for lang in LANGUAGES:
        path = args.locales / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
        catalog = load(path, lang)
        if merge(catalog, {k: v[lang] for k, v in data.items()}, args.area):
            dump(catalog, path)
    print(f"merged {len(data)} keys into {', '.join(LANGUAGES)}")


if __name__ == "__main__":
    main()
