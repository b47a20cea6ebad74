"""Calculated query cost, as the Admin GraphQL API computes it.

Shopify's published table (shopify.dev "GraphQL Admin API rate limits"): scalars and enums cost 0,
objects 1, interfaces and unions the maximum of their possible selections, connections are
"sized by the first and last arguments", mutations 10. Shopify staff add (community.shopify.dev
"How to calculate GraphQL cost estimates") that connection sizing is logarithmic, not linear.
The rules below reproduce every real `requestedQueryCost`/`actualQueryCost` we could find in
captured Shopify answers, which is what the fake is held to:

* connection = 2 + floor(2·ln(max(2, first|last))) × cost of one item; `edges` itself is free, each
  `node`/`nodes` item costs 1 + its children; no `first`/`last` sizes the items at 0.
  `locations(first: 1) { nodes { id } }` = 3; `products(first: 10) { nodes { title } }` = 6;
  `product { variants(first: 250) { nodes { inventoryItem { id } } } }` = 1 + 2 + 11·2 = 25.
* value objects (PageInfo, money, addresses…) cost 0.
* a mutation root field costs 10 plus the cost of what its payload's objects select
  (`draftOrderComplete { draftOrder { order { id } } }` = 11).
* lists sized by an `ids` argument (`nodes(ids:)`) cost per id.
* the actual cost applies the same rules to what was returned, so it never exceeds the request
  (`products(first: 10)` returning 3 nodes costs 2 + floor(2·ln 3)·1 = 4).
"""
from __future__ import annotations

import math
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
)
from graphql.execution.values import get_argument_values, get_directive_values
from graphql.type import GraphQLIncludeDirective, GraphQLSkipDirective

MUTATION_COST = 10
MAX_QUERY_COST = 1000  # Shopify's single-query limit, whatever the bucket size
VALUE_OBJECT_TYPES = frozenset({
    "PageInfo", "MoneyV2", "MoneyBag", "MailingAddress", "Weight", "CurrencyFormats",
    "InventoryItemMeasurement",
})


def connection_multiplier(size: int | None) -> int:
    if not size or size <= 0:
        return 0
    return math.floor(2 * math.log(max(2, size)))


def is_connection(type_: Any) -> bool:
    return (isinstance(type_, GraphQLObjectType) and type_.name.endswith("Connection")
            and "pageInfo" in type_.fields)


def _unwrapped_list(type_: Any) -> bool:
    return is_list_type(type_.of_type if is_non_null_type(type_) else type_)


class QueryCost:
    """Requested (static, before execution) and actual (from the answer) cost of one operation."""

    def __init__(self, schema: GraphQLSchema, document, operation: OperationDefinitionNode, variable_values):
        self.schema = schema
        self.operation = operation
        self.variables = variable_values  # graphql-core VariableValues (coerced)
        self.fragments = {d.name.value: d for d in document.definitions
                          if d.__class__.__name__ == "FragmentDefinitionNode"}
        self.is_mutation = operation.operation == OperationType.MUTATION
        self.root = schema.mutation_type if self.is_mutation else schema.query_type

    # -- selection walking ------------------------------------------------------------------
    def _included(self, node) -> bool:
        skip = get_directive_values(GraphQLSkipDirective, node, self.variables)
        if skip and skip.get("if") is True:
            return False
        include = get_directive_values(GraphQLIncludeDirective, node, self.variables)
        return not (include and include.get("if") is False)

    def _applies(self, condition, concrete) -> bool:
        if concrete is None or condition is None or condition is concrete:
            return True
        if isinstance(condition, (GraphQLInterfaceType, GraphQLUnionType)):
            return self.schema.is_sub_type(condition, concrete)
        return False

    def collect(self, parent, selection_sets, concrete=None) -> dict[str, list[tuple[FieldNode, Any]]]:
        """Response key -> [(field node, type owning the field definition)], merging fragments.

        With `concrete` given, only fragments that apply to that object type are followed; without
        it every fragment is (used for actual cost, where the answer shows what applied).
        """
        fields: dict[str, list[tuple[FieldNode, Any]]] = {}

        def walk(owner, selection_set: SelectionSetNode):
            for selection in selection_set.selections:
                if not self._included(selection):
                    continue
                if isinstance(selection, FieldNode):
                    key = selection.alias.value if selection.alias else selection.name.value
                    fields.setdefault(key, []).append((selection, owner))
                    continue
                if isinstance(selection, InlineFragmentNode):
                    fragment_type, sub = selection.type_condition, selection.selection_set
                else:  # FragmentSpreadNode
                    assert isinstance(selection, FragmentSpreadNode)
                    definition = self.fragments.get(selection.name.value)
                    if definition is None:
                        continue
                    fragment_type, sub = definition.type_condition, definition.selection_set
                condition = self.schema.get_type(fragment_type.name.value) if fragment_type else None
                if self._applies(condition, concrete):
                    walk(condition or owner, sub)

        for selection_set in selection_sets:
            walk(parent, selection_set)
        return fields

    @staticmethod
    def _sub_selections(entries) -> list[SelectionSetNode]:
        return [node.selection_set for node, _ in entries if node.selection_set]

    def _field_def(self, entries):
        node, owner = entries[0]
        name = node.name.value
        if name.startswith("__"):
            return None
        return owner.fields.get(name) if hasattr(owner, "fields") else None

    # -- requested cost -----------------------------------------------------------------------
    def requested(self) -> int:
        total = 0
        for entries in self.collect(self.root, [self.operation.selection_set], self.root).values():
            if self.is_mutation:
                total += MUTATION_COST + self._payload_cost(entries)
            else:
                total += self._field_cost(entries)
        return total

    def _payload_cost(self, entries) -> int:
        """A mutation's payload objects ride on the flat 10; what they select is charged."""
        field_def = self._field_def(entries)
        if field_def is None:
            return 0
        payload = get_named_type(field_def.type)
        if is_leaf_type(payload):
            return 0
        total = 0
        for sub in self.collect(payload, self._sub_selections(entries), None).values():
            cost = self._field_cost(sub)
            sub_def = self._field_def(sub)
            if sub_def is not None:
                named = get_named_type(sub_def.type)
                if not is_leaf_type(named) and not is_connection(named) and named.name not in VALUE_OBJECT_TYPES:
                    cost -= 1
            total += cost
        return total

    def _selection_cost(self, type_, selection_sets) -> int:
        if not selection_sets:
            return 0
        if isinstance(type_, (GraphQLInterfaceType, GraphQLUnionType)):
            return max((self._concrete_cost(t, selection_sets) for t in self.schema.get_possible_types(type_)),
                       default=0)
        return self._concrete_cost(type_, selection_sets)

    def _concrete_cost(self, type_, selection_sets) -> int:
        return sum(self._field_cost(entries) for entries in self.collect(type_, selection_sets, type_).values())

    def _field_cost(self, entries) -> int:
        field_def = self._field_def(entries)
        if field_def is None:
            return 0
        named = get_named_type(field_def.type)
        if is_leaf_type(named):
            return 0
        subs = self._sub_selections(entries)
        args = get_argument_values(field_def, entries[0][0], self.variables)
        if is_connection(named):
            size = args.get("first") or args.get("last")
            return 2 + connection_multiplier(size) * self._items_cost(named, subs)
        own = 0 if named.name in VALUE_OBJECT_TYPES else 1
        per_item = own + self._selection_cost(named, subs)
        ids = args.get("ids")
        if _unwrapped_list(field_def.type) and isinstance(ids, list):
            return len(ids) * per_item
        return per_item

    def _items_cost(self, connection, selection_sets) -> int:
        """Cost of one item of a connection: what `edges` and `nodes` select for it."""
        total = 0
        for key, entries in self.collect(connection, selection_sets, connection).items():
            name = entries[0][0].name.value
            if name == "edges":
                edge_type = get_named_type(connection.fields["edges"].type)
                total += self._selection_cost(edge_type, self._sub_selections(entries))
            elif name == "nodes":
                node_type = get_named_type(connection.fields["nodes"].type)
                total += 1 + self._selection_cost(node_type, self._sub_selections(entries))
            elif name != "pageInfo":
                total += self._field_cost(entries)
        return total

    # -- actual cost --------------------------------------------------------------------------
    def actual(self, data: dict | None, requested: int) -> int:
        if self.is_mutation:
            return requested  # Shopify charges mutations what it announced
        if not data:
            return 0
        total = 0
        for key, entries in self.collect(self.root, [self.operation.selection_set], self.root).items():
            if key in data:
                total += self._actual_field(entries, data[key])
        return min(total, requested)

    def _actual_selection(self, type_, selection_sets, value) -> int:
        if not isinstance(value, dict) or not selection_sets:
            return 0
        total = 0
        for key, entries in self.collect(type_, selection_sets, None).items():
            if key in value:
                total += self._actual_field(entries, value[key])
        return total

    def _actual_field(self, entries, value) -> int:
        field_def = self._field_def(entries)
        if field_def is None:
            return 0
        named = get_named_type(field_def.type)
        if is_leaf_type(named):
            return 0
        subs = self._sub_selections(entries)
        if is_connection(named):
            if not isinstance(value, dict):
                return 0
            items = self._actual_items(named, subs, value)
            return 2 + connection_multiplier(len(items)) * max(items, default=0)
        own = 0 if named.name in VALUE_OBJECT_TYPES else 1
        if isinstance(value, list):
            costs = [own + self._actual_selection(named, subs, item) if item is not None else own for item in value]
            args = get_argument_values(field_def, entries[0][0], self.variables)
            if isinstance(args.get("ids"), list):
                return sum(costs)
            return max(costs, default=own)
        if value is None:
            return own  # the lookup happened even though nothing was found
        return own + self._actual_selection(named, subs, value)

    def _actual_items(self, connection, selection_sets, value: dict) -> list[int]:
        items: list[int] = []

        def add(index: int, cost: int):
            while len(items) <= index:
                items.append(0)
            items[index] += cost

        for key, entries in self.collect(connection, selection_sets, connection).items():
            name = entries[0][0].name.value
            returned = value.get(key)
            if name == "edges" and isinstance(returned, list):
                edge_type = get_named_type(connection.fields["edges"].type)
                for index, edge in enumerate(returned):
                    add(index, self._actual_selection(edge_type, self._sub_selections(entries), edge))
            elif name == "nodes" and isinstance(returned, list):
                node_type = get_named_type(connection.fields["nodes"].type)
                for index, node in enumerate(returned):
                    add(index, 1 + self._actual_selection(node_type, self._sub_selections(entries), node))
        return items
