"""Domain evaluation with indexes: what PostgreSQL's planner does for Odoo's searches.

A leaf on an indexed field (``=``, ``in``, ``=like``/``=ilike`` without wildcards, ``<``/``>`` on
an ordered datetime) gives its candidate rows from the store's index (a :class:`Probe`); the
leaf is then evaluated (``domain.match_leaf``) on those candidates only, so an index narrows
what is looked at but never changes a result. In a conjunction the leaf with the fewest
candidates runs first and the others run on what it kept, in their order, stopping at an empty
set as before; without an index, a domain is evaluated on every row as it always was.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .domain import (
    FALSE_LEAF,
    TRUE_LEAF,
    Leaf,
    Node,
    is_name_value,
    match_leaf,
    normalize_right,
    whole_second_range,
)
from .index import Probe, indexable

if TYPE_CHECKING:
    from .model import BaseModel

EQUALITY_TYPES = ("char", "text", "html", "integer", "many2one", "selection")
TEXT_TYPES = ("char", "text", "html")
ORDERING = ("<", "<=", ">", ">=")


def evaluate(model: BaseModel, node: Node, ids: set[int] | None) -> set[int]:
    """The ids among ``ids`` (``None``: every record) that ``node`` matches."""
    kind = node[0]
    if kind == "true":
        return _all(model, ids)
    if kind == "!":
        universe = _all(model, ids)
        return universe - evaluate(model, node[1], universe)
    if kind == "&":
        return _conjunction(model, _conjuncts(node), ids)
    if kind == "|":
        first = evaluate(model, node[1], ids)
        if ids is None:
            # the second term only looks at rows the first left out; none left: not evaluated
            return (
                first if len(first) == len(model.table) else first | evaluate(model, node[2], None)
            )
        rest = ids - first
        return first | (evaluate(model, node[2], rest) if rest else set())
    return _leaf(model, node[1], ids, probe(model, node[1]))


def _all(model: BaseModel, ids: set[int] | None) -> set[int]:
    return set(model.table) if ids is None else set(ids)


def _conjuncts(node: Node) -> list[Node]:
    out: list[Node] = []
    while node[0] == "&":
        out.extend(_conjuncts(node[1]))
        node = node[2]
    out.append(node)
    return out


def _conjunction(model: BaseModel, terms: list[Node], ids: set[int] | None) -> set[int]:
    """Every term in turn on what the previous kept; the term with the fewest candidates first
    when all are leaves on the model's fields (else the first term only may use its index)."""
    reorder = all(_plain_leaf(model, t) for t in terms)
    probes = [
        probe(model, t[1]) if t[0] == "leaf" and (reorder or i == 0) else None
        for i, t in enumerate(terms)
    ]
    sizes = [(p.size, i) for i, p in enumerate(probes) if p is not None]
    first = min(sizes)[1] if sizes else None
    order = list(range(len(terms)))
    if first is not None:
        order.remove(first)
        order.insert(0, first)
    result = ids
    for i in order:
        term = terms[i]
        if term[0] == "leaf":
            result = _leaf(model, term[1], result, probes[i] if i == first else None)
        else:
            result = evaluate(model, term, result)
        if not result:
            return set()
    assert result is not None
    return result


def _plain_leaf(model: BaseModel, node: Node) -> bool:
    """A leaf on a field of the model (the terms a conjunction may reorder: evaluating them in
    any order gives the same rows and the same errors)."""
    if node[0] != "leaf":
        return False
    left = node[1][0]
    if tuple(node[1]) in (TRUE_LEAF, FALSE_LEAF):
        return True
    return isinstance(left, str) and left.split(".")[0] in model.fields_map


def _leaf(model: BaseModel, leaf: Leaf, ids: set[int] | None, found: Probe | None) -> set[int]:
    """``leaf`` on its candidates when they are fewer than the rows it would look at."""
    if found is None or (ids is not None and found.size >= len(ids)):
        return match_leaf(model, leaf, _all(model, ids))
    candidates = found.fetch()
    return match_leaf(model, leaf, candidates if ids is None else candidates & ids)


# -- probes --------------------------------------------------------------------------------------


def probe(model: BaseModel, leaf: Leaf) -> Probe | None:
    """The candidates of ``leaf`` from an index (a superset of what it matches), if any."""
    left, operator, right = leaf
    if not isinstance(left, str) or "." in left or tuple(leaf) in (TRUE_LEAF, FALSE_LEAF):
        return None
    fld = model.fields_map.get(left)
    if fld is None:
        return None
    if operator == "=?":
        if right is None or right is False:
            return None
        operator = "="
    if left == "id":
        return _ids(model, operator, right)
    if fld.delegated_to:
        return _delegated(model, fld.delegated_to, (left, operator, right))
    if fld.compute is not None or not fld.stored:
        return model.search_probe(left, operator, right)
    index = model.env.store.index(model.name, left)
    if index is None:
        return None
    if index.ordered:
        if operator in ORDERING and fld.type == "datetime":
            return _range(model, index, fld.type, operator, right)
        return None
    if operator in ("=", "in") and fld.type in EQUALITY_TYPES:
        if fld.type == "many2one" and is_name_value(right):
            return None
        options = _options(fld.type, operator, right)
        return None if options is None else index.probe_equal(options)
    if operator in ("=like", "=ilike") and fld.type in TEXT_TYPES and isinstance(right, str):
        literal = like_literal(right)
        if not literal:
            return None
        if operator == "=like":
            return index.probe_equal([literal])
        if index.folded and literal.isascii():
            return index.probe_folded(literal)
    return None


def _options(ftype: str, operator: str, right: Any) -> list[Any] | None:
    """The values an ``=`` or ``in`` leaf looks for, if all can be looked up in an index
    (``False``, ``0`` and ``""`` may also match unset values: they are left to a scan)."""
    if operator == "=" and isinstance(right, list | tuple):
        return None
    value = normalize_right(ftype, operator, right)
    options = value if isinstance(value, list) else [value]
    if not all(indexable(v) and v for v in options):
        return None
    return options


def _ids(model: BaseModel, operator: str, right: Any) -> Probe | None:
    """``id = x`` / ``id in [...]``: the ids themselves."""
    options = _options("integer", operator, right) if operator in ("=", "in") else None
    if options is None:
        return None
    table = model.table
    return Probe(
        len(options),
        lambda: {int(v) for v in options if isinstance(v, int) and v in table},
    )


def _range(model: BaseModel, index: Any, ftype: str, operator: str, right: Any) -> Probe | None:
    if right is None or right is False:
        return None
    if model.env.major >= 19:
        bounds = whole_second_range(operator, right)
        if bounds is None:
            return None
        low, high = bounds
        return index.probe_range(low, True, high, False)  # type: ignore[no-any-return]
    value = normalize_right(ftype, operator, right)
    if not isinstance(value, str):
        return None
    if operator in (">", ">="):
        return index.probe_range(value, operator == ">=", None, False)  # type: ignore[no-any-return]
    return index.probe_range(None, False, value, operator == "<=")  # type: ignore[no-any-return]


def _delegated(model: BaseModel, link: str, leaf: Leaf) -> Probe | None:
    """A field of the parent (``_inherits``): the parent's candidates, then their children."""
    parent = model.env[model.fields_map[link].relation or ""]
    found = probe(parent, leaf)
    index = model.env.store.index(model.name, link)
    if found is None or index is None:
        return None
    return Probe(found.size, lambda: index.equal(found.fetch()))


def like_literal(pattern: str) -> str | None:
    """The text a ``=like`` pattern matches when it has no wildcard (``\\`` escapes one, as in
    ``like_regex``), else ``None``."""
    out = []
    escaped = False
    for char in pattern:
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in "%_":
            return None
        else:
            out.append(char)
    return "".join(out)
