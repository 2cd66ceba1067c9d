"""A question's text as Telegram shows it: fenced code blocks as ``<pre>`` code, the rest
escaped; a plain one-line form for lists; a short preview that keeps the first code block."""

from __future__ import annotations

import html
import re

from studymate.services.quiz.format import _FENCE_RE


def question_html(text: str) -> str:
    """Given a stored question text, return Telegram HTML: fenced code becomes ``<pre>`` (its
    indentation then shows in monospace), everything else is escaped."""
    out: list[str] = []
    code: list[str] | None = None
    language = ""
    marker = ""
    for line in text.split("\n"):
        stripped = line.strip()
        if code is None:
            opening = _FENCE_RE.match(stripped)
            if opening:
                marker, language, code = opening.group(1), opening.group(2).strip(), []
            else:
                out.append(html.escape(line, quote=False))
        elif stripped.startswith(marker) and not stripped.strip(marker[0]):
            out.append(_pre(code, language))
            code = None
        else:
            code.append(line)
    if code is not None:
        out.append(_pre(code, language))
    return "\n".join(out)


def _pre(lines: list[str], language: str) -> str:
    body = html.escape("\n".join(lines), quote=False)
    if re.fullmatch(r"[\w+#.-]{1,30}", language):
        return f'<pre><code class="language-{language}">{body}</code></pre>'
    return f"<pre>{body}</pre>"


def question_plain(text: str) -> str:
    """The question text without fence lines, for short previews (lists, review pages)."""
    return "\n".join(line for line in text.split("\n") if not _FENCE_RE.match(line.strip()))


def question_preview_html(text: str, *, prose: int = 50, code: int = 200) -> str:
    """A short Telegram-HTML preview of a question for review lists: its prose on one line,
    cut to ``prose`` characters, then its first code block as ``<pre>`` cut to ``code``
    characters at a line end (``code=0`` leaves code out), never the raw fence lines."""
    words: list[str] = []
    block: list[str] | None = None
    first: tuple[list[str], str] | None = None
    marker = language = ""
    for line in text.split("\n"):
        stripped = line.strip()
        if block is None:
            opening = _FENCE_RE.match(stripped)
            if opening:
                marker, language, block = opening.group(1), opening.group(2).strip(), []
            else:
                words.extend(line.split())
        elif stripped.startswith(marker) and not stripped.strip(marker[0]):
            first = first or (block, language)
            block = None
        else:
            block.append(line)
    if block is not None:
        first = first or (block, language)
    flat = " ".join(words)
    if len(flat) > prose:
        flat = flat[: prose - 3] + "..."
    out = html.escape(flat, quote=False)
    if first is not None and code > 0 and any(line.strip() for line in first[0]):
        kept: list[str] = []
        size = 0
        for line in first[0]:
            if size + len(line) > code:
                kept.append("…")
                break
            kept.append(line)
            size += len(line) + 1
        if kept == ["…"]:
            kept = [first[0][0][: code - 1] + "…"]
        out = f"{out}\n{_pre(kept, first[1])}" if out else _pre(kept, first[1])
    return out
