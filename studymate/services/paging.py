"""Pages of query results (no keyboard grows without bound)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    page: int
    pages: int
    offset: int  # items before this page, for "n." numbering that continues across pages
    total: int


def paginate(query: Any, page: int, convert: Callable[[Any], T], *, per_page: int = 5) -> Page[T]:
    """One page of a peewee query; an out-of-range page number is clamped."""
    total = query.count()
    pages = max(1, -(-total // per_page))
    page = min(max(page, 0), pages - 1)
    items = [convert(row) for row in query.paginate(page + 1, per_page)]
    return Page(items, page, pages, page * per_page, total)
