"""Domains: Odoo's prefix notation parsed into a tree, and the ids each leaf matches (the tree
is evaluated by ``plan``, which looks leaves up in indexes when it can).

A leaf is ``(path, operator, value)``; ``&``/``|`` take the next two terms, ``!`` the next one,
and consecutive terms are implicitly ANDed. Null semantics follow PostgreSQL as Odoo writes its
SQL: ``!=``, ``not in``, ``not like`` and ``not ilike`` also match unset values; ordering
operators never do.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from .fields import X2MANY, normalize_date, normalize_datetime

if TYPE_CHECKING:
    from .model import BaseModel

TERM_OPERATORS = (
    "=",
    "!=",
    "<=",
    "<",
    ">",
    ">=",
    "=?",
    "=like",
    "=ilike",
    "like",
    "not like",
    "ilike",
    "not ilike",
    "in",
    "not in",
    "child_of",
    "parent_of",
    "any",
    "not any",
)
NEGATIVE = {"!=": "=", "not like": "like", "not ilike": "ilike", "not in": "in"}
TRUE_LEAF = (1, "=", 1)
FALSE_LEAF = (0, "=", 1)

Leaf = tuple[Any, str, Any]
Node = tuple[Any, ...]


def parse(domain: Sequence[Any] | None) -> Node:
    """Return a tree: ``("leaf", leaf)``, ``("!", node)``, ``("&"|"|", a, b)`` or ``("true",)``."""
    items = list(domain or [])
    if not items:
        return ("true",)
    pos = 0

    def term() -> Node:
        nonlocal pos
        if pos >= len(items):
            raise ValueError(f"Invalid domain {items!r}")
        token = items[pos]
        pos += 1
        if token == "!":  # noqa: S105 - a domain operator
            return ("!", term())
        if token in ("&", "|"):
            first = term()
            return (token, first, term())
        return ("leaf", _check_leaf(token))

    nodes = []
    while pos < len(items):
        nodes.append(term())
    tree = nodes[-1]
    for node in reversed(nodes[:-1]):
        tree = ("&", node, tree)
    return tree


def _check_leaf(token: Any) -> Leaf:
    if not isinstance(token, list | tuple) or len(token) != 3:
        raise ValueError(f"Invalid leaf {token!r}")
    left, operator, right = token
    if not isinstance(operator, str):
        raise ValueError(f"Invalid leaf {token!r}")
    operator = operator.lower()
    if operator == "<>":
        operator = "!="
    if operator not in TERM_OPERATORS:
        raise ValueError(f"Invalid leaf {token!r}")
    if tuple(token) in (TRUE_LEAF, FALSE_LEAF):
        return (left, operator, right)
    if not isinstance(left, str) or not left:
        raise ValueError(f"Invalid leaf {token!r}")
    return (left, operator, right)


def mentions(domain: Sequence[Any] | None, field_name: str) -> bool:
    return any(
        isinstance(t, list | tuple) and len(t) == 3 and str(t[0]).split(".")[0] == field_name
        for t in domain or []
    )


@lru_cache(maxsize=512)
def like_regex(pattern: str, insensitive: bool, wrap: bool) -> re.Pattern[str]:
    out = []
    escaped = False
    for char in pattern:
        if escaped:
            out.append(re.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "%":
            out.append(".*")
        elif char == "_":
            out.append(".")
        else:
            out.append(re.escape(char))
    body = "".join(out)
    if wrap:
        body = ".*" + body + ".*"
    return re.compile(body, re.DOTALL | (re.IGNORECASE if insensitive else 0))


def match_leaf(model: BaseModel, leaf: Leaf, ids: set[int]) -> set[int]:
    """The ``ids`` that ``leaf`` matches."""
    left, operator, right = leaf
    if (left, operator, right) == TRUE_LEAF:
        return set(ids)
    if (left, operator, right) == FALSE_LEAF:
        return set()
    path = left.split(".")
    fname = path[0]
    fld = model.fields_map.get(fname)
    if fld is None:
        raise ValueError(f"Invalid field {model.name}.{fname} in leaf {leaf!r}")
    if operator == "=?":
        if right is None or right is False:
            return set(ids)
        operator = "="
    if len(path) > 1 or operator in ("any", "not any"):
        return _path_leaf(model, fld.type, fld.relation, fname, path[1:], operator, right, ids)
    if operator in ("child_of", "parent_of"):
        comodel_name = fld.relation if fld.type == "many2one" or fld.type in X2MANY else None
        comodel = model.env[comodel_name] if comodel_name else model
        targets = _hierarchy(comodel, right, operator)
        return _compare(model, fld.type, fname, "in", list(targets), ids)
    if fld.type in ("many2one", *X2MANY) and is_name_value(right):
        assert fld.relation is not None
        comodel = model.env[fld.relation].with_context(active_test=False)
        positive = NEGATIVE.get(operator, operator)
        names = right if isinstance(right, list | tuple) else [right]
        matched: set[int] = set()
        name_op = "=" if positive == "in" else positive
        for name in names:
            matched |= comodel.name_search_ids(str(name), name_op)
        hit = _compare(model, fld.type, fname, "in", list(matched), ids)
        return ids - hit if operator in NEGATIVE else hit
    return _compare(model, fld.type, fname, operator, right, ids)


def is_name_value(right: Any) -> bool:
    """Whether a relational leaf compares names (searched on the comodel), not ids."""
    if isinstance(right, str):
        return True
    return (
        bool(right) and isinstance(right, list | tuple) and all(isinstance(v, str) for v in right)
    )


def _path_leaf(
    model: BaseModel,
    ftype: str,
    relation: str | None,
    fname: str,
    rest: list[str],
    operator: str,
    right: Any,
    ids: set[int],
) -> set[int]:
    if relation is None:
        raise ValueError(f"Invalid field {model.name}.{fname}: not relational")
    comodel = model.env[relation].with_context(active_test=False)
    if operator in ("any", "not any"):
        sub = comodel.search_ids(right)
    else:
        sub = comodel.search_ids([(".".join(rest), operator, right)])
    values = model.values(ids, fname)
    if ftype == "many2one":
        hit = {i for i in ids if values.get(i) in sub}
    else:
        hit = {i for i in ids if sub.intersection(values.get(i) or ())}
    return ids - hit if operator == "not any" else hit


def _hierarchy(model: BaseModel, right: Any, operator: str) -> set[int]:
    if isinstance(right, str):
        start = model.name_search_ids(right, "ilike")
    elif isinstance(right, list | tuple):
        start = {int(v) for v in right}
    else:
        start = {int(right)} if right else set()
    parent = model.parent_name
    if parent not in model.fields_map:
        return start
    table = model.table
    result = set(start)
    if operator == "child_of":
        children: dict[int, list[int]] = {}
        for rec_id, row in table.items():
            pid = row.get(parent)
            if pid:
                children.setdefault(pid, []).append(rec_id)
        todo = list(start)
        while todo:
            for child in children.get(todo.pop(), ()):
                if child not in result:
                    result.add(child)
                    todo.append(child)
    else:
        todo = list(start)
        while todo:
            parent_row = table.get(todo.pop())
            pid = parent_row.get(parent) if parent_row else None
            if pid and pid not in result:
                result.add(pid)
                todo.append(pid)
    return result


def normalize_right(ftype: str, operator: str, right: Any) -> Any:
    """``right`` in the stored form of a ``ftype`` field, as the comparisons use it."""
    if right is None or right is False:
        return False
    if isinstance(right, list | tuple):
        return [normalize_right(ftype, "=", v) for v in right]
    if ftype == "datetime" and isinstance(right, dt.date):
        return normalize_datetime(right)
    if ftype == "date" and isinstance(right, dt.date):
        return normalize_date(right)
    if ftype == "datetime" and isinstance(right, str):
        text = right.strip()
        if len(text) == 10:
            text += " 23:59:59" if operator in (">", "<=") else " 00:00:00"
        return normalize_datetime(text)
    if ftype == "date" and isinstance(right, str):
        return normalize_date(right)
    if ftype in ("integer", "many2one", *X2MANY) and isinstance(right, float | str):
        try:
            return int(right)
        except ValueError:
            return right
    return right


WHOLE_SECOND_OPERATORS = ("=", "!=", "in", "not in", "<", "<=", ">", ">=")


def _whole_second_compare(
    model: BaseModel, fname: str, operator: str, right: Any, ids: set[int]
) -> set[int]:
    """Odoo 19 compares datetimes at whole seconds (``_optimize_type_datetime``): values are
    stored with microseconds (``now()``), but ``> X`` means ``>= X + 1 s``, ``<= X`` means
    ``< X + 1 s`` and ``= X`` means ``X <= value < X + 1 s`` (a date steps by a day for the
    inequalities). Unset values never match. 17 and 18 compare the stored values as they are.
    """
    values = model.values(ids, fname)
    options = right if isinstance(right, list | tuple) else [right]
    if operator in ("<", "<=", ">", ">="):
        bounds = whole_second_range(operator, right)
        if bounds is None:
            return set()
        lo, hi = bounds
        return {
            i
            for i in ids
            if values.get(i) and (lo is None or values[i] >= lo) and (hi is None or values[i] < hi)
        }
    starts = [_datetime_bound(o)[0] for o in options if o is not None and o is not False]
    ranges = [(_stored(b), _stored(b + dt.timedelta(seconds=1))) for b in starts]
    with_null = any(o is None or o is False for o in options)
    hit = {
        i
        for i in ids
        if (values.get(i) and any(lo <= values[i] < hi for lo, hi in ranges))
        or (with_null and not values.get(i))
    }
    if operator in ("!=", "not in"):
        return {i for i in ids - hit if values.get(i) or not with_null}
    return hit


def whole_second_range(operator: str, right: Any) -> tuple[str | None, str | None] | None:
    """Odoo 19's ``[low, high)`` (stored form, ``None`` unbounded) of an ordering comparison
    with ``right``; ``None`` when it matches nothing (no single value to compare with)."""
    options = right if isinstance(right, list | tuple) else [right]
    bounds = [_datetime_bound(o) for o in options if o is not None and o is not False]
    if len(bounds) != 1:
        return None
    start, is_date = bounds[0]
    step = dt.timedelta(days=1) if is_date else dt.timedelta(seconds=1)
    low = {">": start + step, ">=": start}.get(operator)
    high = {"<": start, "<=": start + step}.get(operator)
    return (
        _stored(low) if low is not None else None,
        _stored(high) if high is not None else None,
    )


def _datetime_bound(value: Any) -> tuple[dt.datetime, bool]:
    """(the value at a whole second, whether it was a date)."""
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=0, tzinfo=None), False
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time.min), True
    text = str(value).strip()
    if len(text) == 10:
        return dt.datetime.fromisoformat(text), True
    return dt.datetime.fromisoformat(normalize_datetime(text)).replace(microsecond=0), False


def _stored(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def _compare(
    model: BaseModel, ftype: str, fname: str, operator: str, right: Any, ids: set[int]
) -> set[int]:
    if (
        ftype == "datetime"
        and model.env.major >= 19
        and operator in WHOLE_SECOND_OPERATORS
        and (not (right is None or right is False) or operator in ("in", "not in"))
    ):
        return _whole_second_compare(model, fname, operator, right, ids)
    values = model.values(ids, fname)
    right = normalize_right(ftype, operator, right)
    if operator in ("in", "not in"):
        options = right if isinstance(right, list) else [right]
        with_null = False in options or None in options
        wanted = {v for v in options if v is not False and v is not None}
        if ftype in X2MANY:
            hit = {
                i
                for i in ids
                if wanted.intersection(values.get(i) or ()) or (with_null and not values.get(i))
            }
        elif ftype == "boolean":
            hit = {
                i for i in ids if bool(values.get(i)) in wanted or (with_null and not values.get(i))
            }
        else:
            hit = {
                i
                for i in ids
                if values.get(i) in wanted or (with_null and values.get(i) in (False, None))
            }
        return ids - hit if operator == "not in" else hit
    if operator in ("=", "!="):
        if ftype in X2MANY:
            if right is False:
                hit = {i for i in ids if not values.get(i)}
            else:
                hit = {i for i in ids if right in (values.get(i) or ())}
        elif ftype == "boolean":
            hit = {i for i in ids if bool(values.get(i)) == bool(right)}
        elif right is False:
            hit = (
                {i for i in ids if values.get(i) in (False, None, "")}
                if ftype in ("char", "text")
                else {i for i in ids if values.get(i) in (False, None)}
            )
        elif ftype in ("float", "monetary"):
            hit = {
                i
                for i in ids
                if values.get(i) is not False
                and abs(float(values.get(i) or 0.0) - float(right)) < 1e-9
            }
        else:
            hit = {i for i in ids if values.get(i) == right}
        return ids - hit if operator == "!=" else hit
    if operator in ("<", "<=", ">", ">="):
        if right is False:
            return set()
        hit = set()
        for i in ids:
            value = values.get(i)
            if value is False or value is None:
                if ftype not in ("integer", "float", "monetary"):
                    continue
                value = 0
            try:
                ok = (
                    value < right
                    if operator == "<"
                    else value <= right
                    if operator == "<="
                    else value > right
                    if operator == ">"
                    else value >= right
                )
            except TypeError:
                ok = False
            if ok:
                hit.add(i)
        return hit
    # like family
    positive = NEGATIVE.get(operator, operator)
    insensitive = positive in ("ilike", "=ilike")
    wrap = positive in ("like", "ilike")
    pattern = like_regex(str(right) if right is not False else "", insensitive, wrap)
    hit = set()
    for i in ids:
        value = values.get(i)
        if value is False or value is None:
            continue
        if isinstance(value, list):
            continue
        if pattern.fullmatch(str(value)):
            hit.add(i)
    return ids - hit if operator in NEGATIVE else hit
