"""``order`` specifications: ``"write_date asc, id asc"``, ``"name desc nulls last"``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_TERM = re.compile(
    r"^\s*(?P<field>[a-z_][a-z0-9_]*)(?:\.(?P<prop>[a-z0-9_]+))?"
    r"(?:\s+(?P<dir>asc|desc))?(?:\s+nulls\s+(?P<nulls>first|last))?\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class OrderTerm:
    field: str
    descending: bool = False
    nulls_first: bool | None = None

    @property
    def effective_nulls_first(self) -> bool:
        # PostgreSQL: NULLS LAST for ASC, NULLS FIRST for DESC unless told.
        return self.descending if self.nulls_first is None else self.nulls_first


def parse_order(order: str | None, model_name: str = "") -> list[OrderTerm]:
    terms: list[OrderTerm] = []
    if not order:
        return terms
    for chunk in str(order).split(","):
        if not chunk.strip():
            continue
        match = _TERM.match(chunk)
        if match is None:
            raise ValueError(f"Invalid order {order!r} for model {model_name!r}")
        nulls = match.group("nulls")
        terms.append(
            OrderTerm(
                field=match.group("field"),
                descending=(match.group("dir") or "asc").lower() == "desc",
                nulls_first=None if nulls is None else nulls.lower() == "first",
            )
        )
    return terms


def sort_ids(ids: list[int], terms: list[OrderTerm], values: list[dict[int, Any]]) -> list[int]:
    """Stable multi-key sort: the last term first, each with its direction and null placement."""
    result = list(ids)
    for term, column in reversed(list(zip(terms, values, strict=True))):
        nulls_first = term.effective_nulls_first
        nulls = [i for i in result if column.get(i) in (False, None)]
        present = [i for i in result if column.get(i) not in (False, None)]
        present.sort(key=lambda i: _comparable(column[i]), reverse=term.descending)
        result = nulls + present if nulls_first else present + nulls
    return result


def _comparable(value: Any) -> Any:
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, bool):
        return int(value)
    return value
