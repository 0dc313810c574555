"""Calculated query cost, after Shopify's rules, from the validated document.

Scalars and enums cost 0, an object 1, a list of objects 1 plus one element's selection, a
connection 2 plus ``first`` (or ``last``) times its node's selection, each mutation field 10.
The requested cost is computed before running from the arguments; the actual cost walks the
answer and counts the nodes that came back (and nothing for a null object).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
    is_leaf_type,
    is_list_type,
    value_from_ast_untyped,
)
from graphql.utilities import get_operation_ast

MUTATION_COST = 10
MAX_QUERY_COST = 1000
CONNECTION_COST = 2

_Composite = GraphQLObjectType | GraphQLInterfaceType


def requested_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None = None,
    variables: Mapping[str, Any] | None = None,
) -> int:
    return _Coster(schema, document, variables).operation(operation_name, None, actual=False)


def actual_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    data: Mapping[str, Any] | None,
) -> int:
    return _Coster(schema, document, variables).operation(operation_name, data, actual=True)


class _Coster:
    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        variables: Mapping[str, Any] | None,
    ) -> None:
        self.schema = schema
        self.document = document
        self.variables = dict(variables or {})
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }

    def operation(self, name: str | None, data: Mapping[str, Any] | None, *, actual: bool) -> int:
        op = get_operation_ast(self.document, name)
        if op is None:
            return 0
        if op.operation == OperationType.MUTATION:
            fields = [
                f for f in self._fields(op.selection_set) if not f.name.value.startswith("__")
            ]
            return MUTATION_COST * len(fields)
        root = self.schema.query_type
        if op.operation != OperationType.QUERY or root is None:
            return 0
        if actual and data is None:
            return 0
        return self._selection(root, op.selection_set, data, actual)

    # -- walking ------------------------------------------------------------------------------

    def _included(self, node: FieldNode | InlineFragmentNode | FragmentSpreadNode) -> bool:
        for directive in node.directives or ():
            args = {a.name.value: a.value for a in directive.arguments or ()}
            if "if" not in args:
                continue
            flag = bool(value_from_ast_untyped(args["if"], self.variables))
            if directive.name.value == "skip" and flag:
                return False
            if directive.name.value == "include" and not flag:
                return False
        return True

    def _fields(self, selection_set: SelectionSetNode | None) -> Iterator[FieldNode]:
        for selection in selection_set.selections if selection_set else ():
            if not self._included(selection):  # type: ignore[arg-type]
                continue
            if isinstance(selection, FieldNode):
                yield selection
            elif isinstance(selection, InlineFragmentNode):
                yield from self._fields(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None:
                    yield from self._fields(fragment.selection_set)

    def _selection(
        self,
        parent: _Composite,
        selection_set: SelectionSetNode | None,
        data: Mapping[str, Any] | None,
        actual: bool,
    ) -> int:
        return sum(self._field(parent, f, data, actual) for f in self._fields(selection_set))

    def _field(
        self, parent: _Composite, node: FieldNode, data: Mapping[str, Any] | None, actual: bool
    ) -> int:
        name = node.name.value
        definition = parent.fields.get(name)
        if name.startswith("__") or definition is None:
            return 0
        named = get_named_type(definition.type)
        if is_leaf_type(named) or not isinstance(named, _Composite):
            return 0
        key = node.alias.value if node.alias else name
        value = data.get(key) if data is not None else None
        if actual and value is None:
            return 0
        if _is_connection(named):
            return self._connection(named, node, value, actual)
        if is_list_type(get_nullable_type(definition.type)):
            items = value if actual and isinstance(value, list) else [None]
            if actual and not items:
                return 0
            return 1 + max(self._selection(named, node.selection_set, i, actual) for i in items)
        return 1 + self._selection(named, node.selection_set, value, actual)

    def _connection(self, connection: _Composite, node: FieldNode, value: Any, actual: bool) -> int:
        node_type = _node_type(connection)
        per_node: list[tuple[SelectionSetNode | None, list[Any]]] = []
        for part in self._fields(node.selection_set):
            key = part.alias.value if part.alias else part.name.value
            if part.name.value == "nodes":
                nodes = value.get(key) if actual else None
                per_node.append((part.selection_set, list(nodes or [])))
            elif part.name.value == "edges":
                edges = list(value.get(key) or []) if actual else []
                for inner in self._fields(part.selection_set):
                    if inner.name.value != "node":
                        continue
                    inner_key = inner.alias.value if inner.alias else "node"
                    nodes = [e.get(inner_key) for e in edges if isinstance(e, dict)]
                    per_node.append((inner.selection_set, nodes))
        if node_type is None:
            return CONNECTION_COST
        if actual:
            return CONNECTION_COST + sum(
                1 + self._selection(node_type, selection, item, actual)
                for selection, items in per_node
                for item in items
                if item is not None
            )
        size = self._page_size(node)
        each = sum(
            1 + self._selection(node_type, selection, None, actual) for selection, _ in per_node
        )
        return CONNECTION_COST + size * each

    def _page_size(self, node: FieldNode) -> int:
        for argument in node.arguments or ():
            if argument.name.value in ("first", "last"):
                size = value_from_ast_untyped(argument.value, self.variables)
                if isinstance(size, int) and not isinstance(size, bool) and size > 0:
                    return size
        return 0


def _is_connection(named: GraphQLNamedType) -> bool:
    return (
        isinstance(named, _Composite)
        and named.name.endswith("Connection")
        and "edges" in named.fields
    )


def _node_type(connection: _Composite) -> _Composite | None:
    edge = get_named_type(connection.fields["edges"].type)
    if not isinstance(edge, _Composite) or "node" not in edge.fields:
        return None
    node = get_named_type(edge.fields["node"].type)
    return node if isinstance(node, _Composite) else None
