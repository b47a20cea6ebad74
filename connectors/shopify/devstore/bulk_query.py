"""A bulk query's document: Shopify's checks before it accepts one, and its JSONL flattening.

Checks (shopify.dev "Perform bulk operations with the GraphQL Admin API", Operation
restrictions; wording as Shopify answers in `userErrors`, field ["query"], code INVALID):
a query operation (not a mutation) that is valid against the schema; at least one connection,
at most five, nested at most two deep, never inside a list field; connections selected through
`edges > node` (not `nodes`), their nodes implementing Node; a nested connection's parent node
selects `id` (unaliased, so __parentId can name it); no top-level `node`/`nodes`.

Flattening (the guide's "JSONL data format"): each node of a connection is one line; a nested
connection's nodes are lines of their own carrying `__parentId`, the id of the connection node
they hang under, and they are left out of the parent's line. Children follow their parent.
"""
from __future__ import annotations

from typing import Any

import graphql
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    get_named_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
)

from .cost import is_connection

MAX_CONNECTIONS = 5
MAX_NESTING = 2


def user_error(message: str) -> dict:
    return {"field": ["query"], "message": message, "code": "INVALID"}


def _fragments(document) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def collect(schema, owner, selection_sets, fragments) -> dict[str, list[tuple[FieldNode, Any]]]:
    """Response key -> [(field node, type that defines the field)], following every fragment."""
    fields: dict[str, list[tuple[FieldNode, Any]]] = {}

    def walk(current, selection_set):
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                fields.setdefault(key, []).append((selection, current))
                continue
            if isinstance(selection, InlineFragmentNode):
                condition, sub = selection.type_condition, selection.selection_set
            else:
                assert isinstance(selection, FragmentSpreadNode)
                definition = fragments[selection.name.value]
                condition, sub = definition.type_condition, definition.selection_set
            walk(schema.get_type(condition.name.value) if condition else current, sub)

    for selection_set in selection_sets:
        if selection_set is not None:
            walk(owner, selection_set)
    return fields


def _field_def(entries):
    node, owner = entries[0]
    if node.name.value.startswith("__"):
        return None
    return owner.fields.get(node.name.value) if hasattr(owner, "fields") else None


def _subs(entries) -> list:
    return [node.selection_set for node, _ in entries if node.selection_set]


def _is_list(type_) -> bool:
    return is_list_type(type_.of_type if is_non_null_type(type_) else type_)


def _edge_node(schema, connection, selection_sets, fragments):
    """(node type, selection sets of `edges { node { … } }`, selects `nodes`?) of a connection field."""
    fields = collect(schema, connection, selection_sets, fragments)
    edge_type = get_named_type(connection.fields["edges"].type)
    node_type = get_named_type(edge_type.fields["node"].type)
    node_sets = []
    for node, _ in fields.get("edges", []):
        for entries in collect(schema, edge_type, [node.selection_set], fragments).values():
            if entries[0][0].name.value == "node":
                node_sets += _subs(entries)
    via_nodes = any(entries[0][0].name.value == "nodes" for entries in fields.values())
    return node_type, node_sets, via_nodes


def _implements_node(schema, type_) -> bool:
    """An object type implementing Node; an interface or union all of whose types do (Media)."""
    if type_.name == "Node" or any(interface.name == "Node" for interface in getattr(type_, "interfaces", ())):
        return True
    if isinstance(type_, GraphQLObjectType):
        return False
    possible = schema.get_possible_types(type_)
    return bool(possible) and all(_implements_node(schema, t) for t in possible)


def _selects_id(schema, node_type, node_sets, fragments) -> bool:
    entries = collect(schema, node_type, node_sets, fragments).get("id", [])
    return any(node.alias is None and node.name.value == "id" for node, _ in entries)


def check(schema, text: str):
    """(document, operation, []) for an acceptable bulk query, else (None, None, userErrors)."""
    try:
        document = graphql.parse(text)
    except GraphQLError as error:
        detail = error.message.removeprefix("Syntax Error: ").rstrip(".")
        detail = "unexpected end of file" if detail == "Unexpected <EOF>" else detail[:1].lower() + detail[1:]
        return None, None, [user_error(f"Invalid bulk query: syntax error, {detail}")]
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if not operations or operations[0].operation != OperationType.QUERY:
        return None, None, [user_error("Invalid operation type. Only `query` operations are supported.")]
    operation = operations[0]
    problems = graphql.validate(schema, document)
    if problems:
        from .graphql_api import _field_paths, _validation_error  # Shopify's wording of schema errors

        paths = _field_paths(document)
        return None, None, [user_error(f"Invalid bulk query: {_validation_error(e, paths)['message']}")
                            for e in problems]
    errors = _shape_errors(schema, document, operation)
    return (None, None, errors) if errors else (document, operation, [])


def _shape_errors(schema, document, operation) -> list[dict]:
    fragments = _fragments(document)
    found = {"connections": 0, "depth": 0, "via_nodes": [], "without_id": [], "in_list": False, "not_node": []}

    def walk(owner, selection_sets, depth, in_list, parent):
        for entries in collect(schema, owner, selection_sets, fragments).values():
            field_def = _field_def(entries)
            if field_def is None:
                continue
            named = get_named_type(field_def.type)
            if is_leaf_type(named):
                continue
            name = entries[0][0].name.value
            if is_connection(named):
                found["connections"] += 1
                found["depth"] = max(found["depth"], depth + 1)
                found["in_list"] = found["in_list"] or in_list
                if parent is not None and not parent[1]:
                    found["without_id"].append(parent[0])
                node_type, node_sets, via_nodes = _edge_node(schema, named, _subs(entries), fragments)
                if via_nodes:
                    found["via_nodes"].append(name)
                if not _implements_node(schema, node_type):
                    found["not_node"].append(name)
                has_id = _selects_id(schema, node_type, node_sets, fragments)
                walk(node_type, node_sets, depth + 1, False, (name, has_id))
            elif isinstance(named, (GraphQLObjectType, GraphQLInterfaceType)) or hasattr(named, "types"):
                walk(named, _subs(entries), depth, in_list or _is_list(field_def.type), parent)

    errors = []
    roots = collect(schema, schema.query_type, [operation.selection_set], fragments)
    for key, entries in roots.items():
        if entries[0][0].name.value in ("node", "nodes"):
            errors.append(user_error(f"Bulk queries cannot contain a top level `{entries[0][0].name.value}` field."))
    walk(schema.query_type, [operation.selection_set], 0, False, None)
    if found["connections"] == 0:
        errors.append(user_error("Bulk queries must contain at least one connection."))
    if found["depth"] > MAX_NESTING + 1:  # the guide counts nesting below the top-level connection
        errors.append(user_error(f"Bulk queries cannot contain connections with a nesting depth greater than {MAX_NESTING}."))
    if found["connections"] > MAX_CONNECTIONS:
        errors.append(user_error(f"Bulk queries cannot contain more than {MAX_CONNECTIONS} connections."))
    if found["via_nodes"]:
        errors.append(user_error(
            "All connection fields in a bulk query must select their contents using 'edges' > 'node', e.g: "
            f"'{found['via_nodes'][0]} {{ edges {{ node {{'. Selecting via 'nodes' is not supported. Invalid connection "
            f"fields: {', '.join(repr(n) for n in found['via_nodes'])}."))
    if found["without_id"]:
        errors.append(user_error(
            "The parent 'node' field for a nested connection must select the 'id' field without an alias and must "
            f"be of 'ID' return type. Connection fields without 'id': {', '.join(dict.fromkeys(found['without_id']))}."))
    if found["in_list"]:
        errors.append(user_error("Queries that contain a connection field within a list field are not currently supported."))
    if found["not_node"]:
        # Shopify documents the rule; this wording is the dev store's own.
        errors.append(user_error("Bulk queries can only contain connections whose nodes implement the Node interface. "
                                 f"Invalid connection fields: {', '.join(repr(n) for n in found['not_node'])}."))
    return errors


def flatten(schema, document, operation, data: dict) -> tuple[list[dict], int]:
    """The JSONL objects of an executed bulk query, children after their parent; and how many are roots."""
    fragments = _fragments(document)
    lines: list[dict] = []
    roots = 0

    def strip(owner, selection_sets, value, nested):
        """The value without its nested connections (collected into `nested` for later lines)."""
        if isinstance(value, list):
            return [strip(owner, selection_sets, item, nested) for item in value]
        if not isinstance(value, dict):
            return value
        out = {}
        for key, entries in collect(schema, owner, selection_sets, fragments).items():
            if key not in value:
                continue
            field_def = _field_def(entries)
            named = get_named_type(field_def.type) if field_def is not None else None
            if named is not None and is_connection(named):
                nested.append((named, _subs(entries), value[key]))
            elif named is None or is_leaf_type(named):
                out[key] = value[key]
            else:
                out[key] = strip(named, _subs(entries), value[key], nested)
        return out

    def emit(connection, selection_sets, value, parent_id):
        nonlocal roots
        node_type, node_sets, _ = _edge_node(schema, connection, selection_sets, fragments)
        for edge in (value or {}).get("edges") or []:
            node = edge.get("node")
            if node is None:
                continue
            nested: list = []
            line = strip(node_type, node_sets, node, nested)
            if parent_id is None:
                roots += 1
            else:
                line["__parentId"] = parent_id
            lines.append(line)
            for child_connection, child_sets, child_value in nested:
                emit(child_connection, child_sets, child_value, node.get("id"))

    def top(owner, selection_sets, value):
        for key, entries in collect(schema, owner, selection_sets, fragments).items():
            field_def = _field_def(entries)
            if field_def is None or key not in (value or {}):
                continue
            named = get_named_type(field_def.type)
            if is_connection(named):
                emit(named, _subs(entries), value[key], None)
            elif not is_leaf_type(named) and isinstance(value[key], dict):
                top(named, _subs(entries), value[key])  # e.g. shop { … connection … }

    top(schema.query_type, [operation.selection_set], data)
    return lines, roots
