"""Paging for every list: page numbers from 1, a bounded page size."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from yilian.core.errors import ValidationFailed

T = TypeVar("T")
MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class PageRequest:
    number: int = 1
    size: int = 20

    def __post_init__(self) -> None:
        if self.number < 1:
            raise ValidationFailed("页码必须从 1 开始。", code="page_invalid")
        if not 1 <= self.size <= MAX_PAGE_SIZE:
            raise ValidationFailed(f"每页条数须在 1 到 {MAX_PAGE_SIZE} 之间。", code="page_size_invalid")

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    number: int
    size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))
