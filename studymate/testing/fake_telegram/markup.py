"""Telegram's text formatting for the fake Bot API server: HTML, MarkdownV2 and Markdown.

``parse_text(text, parse_mode)`` turns what the bot sent into what Telegram stores: the plain
text plus ``MessageEntity`` dicts (offsets and lengths in UTF-16 code units, as in the Bot API).
Malformed markup raises :class:`MarkupError` with Telegram's wording (taken from tdlib's parsers);
the caller prefixes it with ``Bad Request: can't parse entities:``.

One deliberate difference from Telegram: in HTML mode a bare ``&`` that does not start one of the
supported entities (``&lt; &gt; &amp; &quot;`` and numeric ones) is rejected instead of being kept
literally. Telegram tolerates it, but it almost always means user input went out unescaped, and a
test server should say so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = ["MarkupError", "ParsedText", "bot_command_entities", "parse_text", "utf16_len"]

_HTML_TAGS: Final[dict[str, str]] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES: Final[dict[str, str]] = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE: Final = re.compile(r"&(?:#x([0-9a-fA-F]{1,6})|#([0-9]{1,7})|([A-Za-z]+));")
_MD2_RESERVED: Final = frozenset("_*[]()~`>#+-=|{}.!")
_COMMAND_RE: Final = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![\w/])")


class MarkupError(ValueError):
    """The text does not parse in the requested parse mode (message is Telegram's wording)."""


@dataclass
class ParsedText:
    """Plain text as Telegram stores it plus its formatting entities."""

    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (the unit of entity offsets)."""
    return len(text.encode("utf-16-le")) // 2


def parse_text(text: str, parse_mode: str | None) -> ParsedText:
    """Parse ``text`` the way Telegram does for ``parse_mode`` (None/empty: plain text).

    :raises MarkupError: when the markup is malformed.
    """
    mode = (parse_mode or "").strip().lower()
    if not mode:
        return ParsedText(text)
    if mode == "html":
        return _HtmlParser(text).parse()
    if mode == "markdownv2":
        return _MarkdownV2Parser(text).parse()
    if mode == "markdown":
        return _parse_legacy_markdown(text)
    raise MarkupError(f'Unsupported parse_mode "{parse_mode}"')


def bot_command_entities(text: str) -> list[dict[str, Any]]:
    """``bot_command`` entities Telegram adds to an incoming text such as ``/start``."""
    return [
        {
            "type": "bot_command",
            "offset": utf16_len(text[: match.start()]),
            "length": utf16_len(match.group()),
        }
        for match in _COMMAND_RE.finditer(text)
    ]


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _sorted_entities(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(entities, key=lambda e: (e["offset"], -e["length"]))


class _TextBuilder:
    """Accumulates output text and tracks the UTF-16 position."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self.pos16 = 0

    def add(self, chunk: str) -> None:
        self._parts.append(chunk)
        self.pos16 += utf16_len(chunk)

    def text(self) -> str:
        return "".join(self._parts)

    def since(self, start16: int) -> str:
        """Text appended since UTF-16 position ``start16``."""
        raw = self.text().encode("utf-16-le")
        return raw[start16 * 2 :].decode("utf-16-le")


@dataclass
class _OpenTag:
    name: str
    attrs: dict[str, str]
    start16: int
    byte_offset: int


class _HtmlParser:
    """Telegram's HTML parse mode (tdlib ``parse_html``), strict about bare ``&``."""

    def __init__(self, source: str) -> None:
        self._src = source
        self._i = 0
        self._out = _TextBuilder()
        self._stack: list[_OpenTag] = []
        self._entities: list[dict[str, Any]] = []

    def parse(self) -> ParsedText:
        src = self._src
        while self._i < len(src):
            char = src[self._i]
            if char == "&":
                self._out.add(self._entity())
            elif char == "<" and src.startswith("</", self._i):
                self._end_tag()
            elif char == "<":
                self._start_tag()
            else:
                self._out.add(char)
                self._i += 1
        if self._stack:
            name = self._stack[-1].name
            raise MarkupError(f'Can\'t find end tag corresponding to start tag "{name}"')
        return ParsedText(self._out.text(), _sorted_entities(self._entities))

    def _offset(self, index: int | None = None) -> int:
        return _byte_offset(self._src, self._i if index is None else index)

    def _entity(self) -> str:
        decoded, end = _decode_html_entity(self._src, self._i)
        if decoded is None:
            raise MarkupError(
                f'Unsupported HTML entity at byte offset {self._offset()}: escape "&" as "&amp;"'
            )
        self._i = end
        return decoded

    def _skip_spaces(self) -> None:
        while self._i < len(self._src) and self._src[self._i].isspace():
            self._i += 1

    def _start_tag(self) -> None:
        begin = self._i
        src = self._src
        self._i += 1
        while self._i < len(src) and not src[self._i].isspace() and src[self._i] not in "/>":
            self._i += 1
        if self._i >= len(src):
            raise MarkupError(f"Unclosed start tag at byte offset {self._offset(begin)}")
        name = src[begin + 1 : self._i].lower()
        if name not in _HTML_TAGS:
            raise MarkupError(
                f'Unsupported start tag "{name}" at byte offset {self._offset(begin)}'
            )
        attrs = self._attributes(name, begin)
        self._check_required_attrs(name, attrs, begin)
        self._stack.append(_OpenTag(name, attrs, self._out.pos16, self._offset(begin)))

    def _attributes(self, tag: str, begin: int) -> dict[str, str]:
        attrs: dict[str, str] = {}
        src = self._src
        while True:
            self._skip_spaces()
            if self._i >= len(src):
                raise MarkupError(
                    f'Unclosed start tag "{tag}" at byte offset {self._offset(begin)}'
                )
            if src[self._i] == ">":
                self._i += 1
                return attrs
            name = self._attribute_name(tag, begin)
            self._skip_spaces()
            if self._i < len(src) and src[self._i] == "=":
                self._i += 1
                self._skip_spaces()
                attrs[name] = self._attribute_value(begin)
            else:
                attrs[name] = ""

    def _attribute_name(self, tag: str, begin: int) -> str:
        src = self._src
        start = self._i
        while self._i < len(src) and not src[self._i].isspace() and src[self._i] not in "=>":
            self._i += 1
        if self._i == start:
            raise MarkupError(
                f'Empty attribute name in the tag "{tag}" at byte offset {self._offset(begin)}'
            )
        return src[start : self._i].lower()

    def _attribute_value(self, begin: int) -> str:
        src = self._src
        if self._i >= len(src):
            raise MarkupError(f"Unclosed start tag at byte offset {self._offset(begin)}")
        quote = src[self._i]
        if quote not in "'\"":
            start = self._i
            while self._i < len(src) and (src[self._i].isalnum() or src[self._i] in ".-"):
                self._i += 1
            if self._i >= len(src) or not (src[self._i].isspace() or src[self._i] == ">"):
                raise MarkupError(
                    f"Unexpected end of name token at byte offset {self._offset(start)}"
                )
            return src[start : self._i].lower()
        end = src.find(quote, self._i + 1)
        if end < 0:
            raise MarkupError(f"Unclosed start tag at byte offset {self._offset(begin)}")
        raw = src[self._i + 1 : end]
        self._i = end + 1
        return _ENTITY_RE.sub(lambda m: _decode_html_entity(m.group(), 0)[0] or m.group(), raw)

    def _check_required_attrs(self, name: str, attrs: dict[str, str], begin: int) -> None:
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise MarkupError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {self._offset(begin)}'
            )
        if name == "tg-emoji" and not attrs.get("emoji-id"):
            raise MarkupError(
                f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {self._offset(begin)}'
            )

    def _end_tag(self) -> None:
        begin = self._i
        close = self._src.find(">", begin)
        if close < 0:
            raise MarkupError(f"Unclosed end tag at byte offset {self._offset(begin)}")
        name = self._src[begin + 2 : close].strip().lower()
        if not self._stack:
            raise MarkupError(f"Unexpected end tag at byte offset {self._offset(begin)}")
        tag = self._stack.pop()
        if name and name != tag.name:
            raise MarkupError(
                f"Unmatched end tag at byte offset {self._offset(begin)}, "
                f'expected "</{tag.name}>", found "</{name}>"'
            )
        self._i = close + 1
        self._close_entity(tag)

    def _close_entity(self, tag: _OpenTag) -> None:
        length = self._out.pos16 - tag.start16
        if length <= 0:
            return
        entity: dict[str, Any] = {
            "type": _HTML_TAGS[tag.name],
            "offset": tag.start16,
            "length": length,
        }
        if tag.name == "a":
            url = tag.attrs.get("href") or self._out.since(tag.start16)
            entity["url"] = url
        elif tag.name == "tg-emoji":
            entity["custom_emoji_id"] = tag.attrs["emoji-id"]
        elif tag.name == "blockquote" and "expandable" in tag.attrs:
            entity["type"] = "expandable_blockquote"
        elif tag.name == "pre" and tag.attrs.get("_language"):
            entity["language"] = tag.attrs["_language"]
        elif tag.name == "code" and self._merge_into_pre(tag):
            return
        self._entities.append(entity)

    def _merge_into_pre(self, tag: _OpenTag) -> bool:
        """``<pre><code class="language-x">`` becomes one ``pre`` entity with a language."""
        language = tag.attrs.get("class", "")
        parent = self._stack[-1] if self._stack else None
        if parent is None or parent.name != "pre" or not language.startswith("language-"):
            return False
        parent.attrs["_language"] = language.removeprefix("language-")
        return True


def _decode_html_entity(src: str, index: int) -> tuple[str | None, int]:
    """Decode the HTML entity at ``src[index]``; ``(None, index)`` when there is none."""
    match = _ENTITY_RE.match(src, index)
    if match is None:
        return None, index
    hex_code, dec_code, name = match.groups()
    if name is not None:
        decoded = _NAMED_ENTITIES.get(name)
        return (decoded, match.end()) if decoded is not None else (None, index)
    code = int(hex_code, 16) if hex_code is not None else int(dec_code)
    if code == 0 or code >= 0x110000 or 0xD800 <= code <= 0xDFFF:
        return None, index
    return chr(code), match.end()


@dataclass
class _OpenMd:
    type: str
    start16: int
    byte_offset: int
    argument: str = ""


_MD2_ENTITY_NAMES: Final[dict[str, str]] = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


class _MarkdownV2Parser:
    """Telegram's MarkdownV2 parse mode (tdlib ``parse_markdown_v2``)."""

    def __init__(self, source: str) -> None:
        self._src = source
        self._i = 0
        self._out = _TextBuilder()
        self._stack: list[_OpenMd] = []
        self._entities: list[dict[str, Any]] = []
        self._quote_start: int | None = None

    def parse(self) -> ParsedText:
        src = self._src
        while self._i < len(src):
            char = src[self._i]
            if char == "\\" and self._i + 1 < len(src) and 0 < ord(src[self._i + 1]) <= 126:
                self._out.add(src[self._i + 1])
                self._i += 2
            elif char not in self._reserved():
                self._plain(char)
            elif self._is_entity_end(char):
                self._end_entity()
            else:
                self._begin_entity(char)
        if self._stack:
            top = self._stack[-1]
            raise MarkupError(
                f"Can't find end of {_MD2_ENTITY_NAMES[top.type]} entity "
                f"at byte offset {top.byte_offset}"
            )
        self._finish_quote()
        return ParsedText(self._out.text(), _sorted_entities(self._entities))

    def _reserved(self) -> frozenset[str] | str:
        if self._stack and self._stack[-1].type in ("code", "pre"):
            return "`"
        return _MD2_RESERVED

    def _at(self, offset: int) -> str:
        index = self._i + offset
        return self._src[index] if index < len(self._src) else ""

    def _plain(self, char: str) -> None:
        if char == "\n" and self._quote_start is not None and self._at(1) != ">":
            self._finish_quote()
        self._out.add(char)
        self._i += 1

    def _finish_quote(self) -> None:
        if self._quote_start is not None and self._out.pos16 > self._quote_start:
            length = self._out.pos16 - self._quote_start
            self._entities.append(
                {"type": "blockquote", "offset": self._quote_start, "length": length}
            )
        self._quote_start = None

    def _is_entity_end(self, char: str) -> bool:
        if not self._stack:
            return False
        kind = self._stack[-1].type
        ends = {
            "bold": char == "*",
            "italic": char == "_" and self._at(1) != "_",
            "code": char == "`",
            "pre": char == "`" and self._at(1) == "`" and self._at(2) == "`",
            "text_link": char == "]",
            "custom_emoji": char == "]",
            "underline": char == "_" and self._at(1) == "_",
            "strikethrough": char == "~",
            "spoiler": char == "|" and self._at(1) == "|",
        }
        return ends[kind]

    def _reserved_error(self, char: str) -> MarkupError:
        return MarkupError(
            f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
        )

    def _begin_entity(self, char: str) -> None:
        byte_offset = _byte_offset(self._src, self._i)
        line_start = self._i == 0 or self._src[self._i - 1] == "\n"
        if char == ">" and line_start and not self._stack:
            if self._quote_start is None:
                self._quote_start = self._out.pos16
            self._i += 1
            return
        kind, argument = self._entity_kind(char)
        self._stack.append(_OpenMd(kind, self._out.pos16, byte_offset, argument))

    def _entity_kind(self, char: str) -> tuple[str, str]:
        simple = {"*": "bold", "~": "strikethrough", "[": "text_link"}
        if char in simple:
            self._i += 1
            return simple[char], ""
        if char == "_":
            double = self._at(1) == "_"
            self._i += 2 if double else 1
            return ("underline" if double else "italic"), ""
        if char == "|" and self._at(1) == "|":
            self._i += 2
            return "spoiler", ""
        if char == "!" and self._at(1) == "[":
            self._i += 2
            return "custom_emoji", ""
        if char == "`":
            return self._code_start()
        raise self._reserved_error(char)

    def _code_start(self) -> tuple[str, str]:
        if not (self._at(1) == "`" and self._at(2) == "`"):
            self._i += 1
            return "code", ""
        self._i += 3
        src = self._src
        end = self._i
        while end < len(src) and not src[end].isspace() and src[end] != "`":
            end += 1
        language = ""
        if end != self._i and end < len(src) and src[end] != "`":
            language = src[self._i : end]
            self._i = end
        if self._at(0) in ("\n", "\r"):
            self._i += 2 if self._at(1) in ("\n", "\r") and self._at(1) != self._at(0) else 1
        return "pre", language

    def _end_entity(self) -> None:
        top = self._stack.pop()
        skip = {"underline": 2, "spoiler": 2, "pre": 3}.get(top.type, 1)
        self._i += skip
        entity: dict[str, Any] = {"type": top.type, "offset": top.start16}
        if top.type == "pre" and top.argument:
            entity["language"] = top.argument
        if top.type in ("text_link", "custom_emoji"):
            url = self._link_target(top)
            if top.type == "custom_emoji":
                entity["custom_emoji_id"] = url.removeprefix("tg://emoji?id=")
            else:
                entity["url"] = url
        entity["length"] = self._out.pos16 - top.start16
        if entity["length"] > 0:
            self._entities.append(entity)

    def _link_target(self, top: _OpenMd) -> str:
        src = self._src
        if self._at(0) != "(":
            if top.type == "custom_emoji":
                raise MarkupError("Custom emoji entity must contain a tg://emoji URL")
            return self._out.since(top.start16)
        self._i += 1
        begin = self._i
        chars: list[str] = []
        while self._i < len(src) and src[self._i] != ")":
            if src[self._i] == "\\" and self._i + 1 < len(src):
                self._i += 1
            chars.append(src[self._i])
            self._i += 1
        if self._i >= len(src):
            raise MarkupError(f"Can't find end of a URL at byte offset {_byte_offset(src, begin)}")
        self._i += 1
        return "".join(chars)


def _parse_legacy_markdown(src: str) -> ParsedText:
    """Telegram's legacy Markdown parse mode (tdlib ``parse_markdown``)."""
    out = _TextBuilder()
    entities: list[dict[str, Any]] = []
    i = 0
    while i < len(src):
        char = src[i]
        if char == "\\" and i + 1 < len(src) and src[i + 1] in "_*`[":
            out.add(src[i + 1])
            i += 2
            continue
        if char not in "_*`[":
            out.add(char)
            i += 1
            continue
        i = _legacy_entity(src, i, out, entities)
    return ParsedText(out.text(), _sorted_entities(entities))


def _legacy_entity(src: str, begin: int, out: _TextBuilder, entities: list[dict[str, Any]]) -> int:
    char = src[begin]
    is_pre = src.startswith("```", begin)
    end_marker = "```" if is_pre else ("]" if char == "[" else char)
    start = begin + (3 if is_pre else 1)
    end = src.find(end_marker, start)
    if end < 0:
        raise MarkupError(
            f"Can't find end of the entity starting at byte offset {_byte_offset(src, begin)}"
        )
    inner = src[start:end]
    position = end + len(end_marker)
    entity: dict[str, Any] = {"offset": out.pos16, "length": utf16_len(inner)}
    kinds = {"_": "italic", "*": "bold", "[": "text_link", "`": "pre" if is_pre else "code"}
    entity["type"] = kinds[char]
    if char == "[":
        url = inner
        if src.startswith("(", position):
            close = src.find(")", position)
            if close >= 0:
                url = src[position + 1 : close]
                position = close + 1
        entity["url"] = url
    out.add(inner)
    if entity["length"] > 0:
        entities.append(entity)
    return position
