"""Cursor pagination of connections, and the ``query:`` search syntax of list fields.

Search: terms are ANDed unless joined by ``OR``; a term is ``field:value`` (``sku``, ``id``,
``product_id``, ``title``) or a bare word (matched against SKU and title); a value may be
quoted and may end in ``*`` for a prefix; ``-term`` negates. Unknown fields are ignored, as
Shopify ignores them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from graphql import GraphQLError

from .ids import decode_cursor, encode_cursor
from .store import Variant

T = TypeVar("T")
MAX_PAGE = 250
_TOKEN = re.compile(r'(-?)(?:(\w+):)?("(?:[^"\\]|\\.)*"|\S+)')
_ESCAPE = re.compile(r"\\(.)")


def paginate(
    items: Sequence[T],
    key: Callable[[T], int],
    *,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    reverse: bool = False,
) -> dict[str, Any]:
    """A Relay connection (``edges``, ``nodes``, ``pageInfo``) over items sorted by ``key``."""
    if first is None and last is None:
        raise GraphQLError("you must provide one of first or last")
    for name, size in (("first", first), ("last", last)):
        if size is not None and not 0 <= size <= MAX_PAGE:
            raise GraphQLError(f"The '{name}' argument must be between 0 and {MAX_PAGE}.")
    ordered = sorted(items, key=key, reverse=reverse)
    start, end = 0, len(ordered)
    if after is not None:
        start = _position(ordered, key, after) + 1
    if before is not None:
        end = _position(ordered, key, before)
    window = ordered[start:end]
    has_next = has_previous = False
    if first is not None and len(window) > first:
        window, has_next = window[:first], True
    if last is not None and len(window) > last:
        window, has_previous = window[len(window) - last :], True
    has_next = has_next or end < len(ordered)
    has_previous = has_previous or start > 0
    edges = [{"cursor": encode_cursor(key(item)), "node": item} for item in window]
    return {
        "edges": edges,
        "nodes": list(window),
        "pageInfo": {
            "hasNextPage": has_next,
            "hasPreviousPage": has_previous,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


def _position(ordered: Sequence[T], key: Callable[[T], int], cursor: str) -> int:
    target = decode_cursor(cursor)
    for index, item in enumerate(ordered):
        if key(item) == target:
            return index
    raise GraphQLError(f"Invalid cursor for current pagination sort: {cursor}")


@dataclass(frozen=True)
class Term:
    field: str | None
    value: str
    negate: bool = False


def parse_query(query: str) -> list[list[Term]]:
    """A disjunction of conjunctions of terms."""
    groups: list[list[Term]] = [[]]
    for match in _TOKEN.finditer(query or ""):
        negate, field, value = match.group(1), match.group(2), match.group(3)
        if not negate and not field and value == "OR":
            groups.append([])
            continue
        if not negate and not field and value == "AND":
            continue
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = _ESCAPE.sub(r"\1", value[1:-1])
        groups[-1].append(Term(field.lower() if field else None, value, bool(negate)))
    return [g for g in groups if g] or [[]]


def _text_match(actual: str, wanted: str, exact: bool) -> bool:
    actual, wanted = actual.lower(), wanted.lower()
    if wanted.endswith("*"):
        return actual.startswith(wanted[:-1])
    return actual == wanted if exact else wanted in actual


def _term_match(variant: Variant, term: Term) -> bool:
    if term.field == "sku":
        hit = _text_match(variant.sku, term.value, exact=True)
    elif term.field == "id":
        hit = term.value == str(variant.id)
    elif term.field == "product_id":
        hit = term.value == str(variant.product_id)
    elif term.field == "title":
        hit = _text_match(variant.product_title, term.value, exact=False)
    elif term.field is None:
        hit = _text_match(variant.sku, term.value, exact=True) or _text_match(
            variant.product_title, term.value, exact=False
        )
    else:
        return True
    return hit != term.negate


def variant_matches(variant: Variant, query: str | None) -> bool:
    if not query or not query.strip():
        return True
    return any(all(_term_match(variant, t) for t in group) for group in parse_query(query))
