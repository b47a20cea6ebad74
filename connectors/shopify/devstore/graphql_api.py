"""The Admin GraphQL endpoint's request pipeline, in Shopify's order.

1. parse: syntax errors answer 200 `{"errors":[…PARSE_ERROR…]}` — no cost, no bucket charge;
2. validate against the real schema: errors answer 200 with Shopify's wording for the common
   cases (undefinedField, selectionMismatch) and nothing runs;
3. coerce variables (INVALID_VARIABLE) and refuse input arrays over 250 (MAX_INPUT_SIZE_EXCEEDED);
4. requested cost > 1000: MAX_COST_EXCEEDED; > what the bucket holds: THROTTLED — not executed;
5. execute, then refund requested − actual; `extensions.cost` goes on every answer from step 4 on.
(Steps 1-3 answer without `extensions`, as captured Shopify answers show.)
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import graphql
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
)
from graphql.execution.values import get_argument_values, get_variable_values

from .cost import MAX_QUERY_COST, QueryCost
from .resolvers import Context, strict_field_resolver

THROTTLE_DOCS = "https://shopify.dev/api/usage/limits#rate-limits"
MAX_INPUT_ARRAY = 250
MAX_COST_MESSAGE = (
    "Query cost is {cost}, which exceeds the single query max cost limit ({max}).\n\n"
    "See https://shopify.dev/concepts/about-apis/rate-limits for more information on how the\n"
    "cost of a query is calculated.\n\n"
    "To query larger amounts of data with fewer limits, bulk operations should be used instead.\n"
    "See https://shopify.dev/tutorials/perform-bulk-operations-with-admin-api for usage details.\n"
)
# graphql-core's wording (quotes vary by version), mapped to Shopify's (graphql-ruby) wording below.
UNDEFINED_FIELD_RE = re.compile(r"""^Cannot query field ["'](?P<field>\w+)["'] on type ["'](?P<type>\w+)["']""")
NO_SELECTION_RE = re.compile(
    r"""^Field ["'](?P<field>\w+)["'] of type ["'](?P<type>[^"']+)["'] must have a selection of subfields""")
VARIABLE_RE = re.compile(
    r"""^Variable ["']\$(?P<name>\w+)["'] (?:of (?:required )?type ["'](?P<type>[^"']+)["']\s*)?(?P<rest>.*)$""")


@dataclass
class Outcome:
    """What one GraphQL request produced: the HTTP answer plus what the `calls` log records."""
    status: int
    body: dict
    operation_name: str | None = None
    requested_cost: int | None = None
    actual_cost: int | None = None
    throttled: bool = False
    context: Context | None = None


def _locations(error: GraphQLError) -> list[dict] | None:
    return [{"line": loc.line, "column": loc.column} for loc in error.locations] if error.locations else None


def _error(message: str, locations=None, path=None, extensions=None) -> dict:
    out: dict[str, Any] = {"message": message}
    if locations:
        out["locations"] = locations
    if path:
        out["path"] = path
    if extensions:
        out["extensions"] = extensions
    return out


def _field_paths(document) -> dict[int, list[str]]:
    """id(FieldNode) -> graphql-ruby style path (["query Name", "shop", "foo"]) for validation errors."""
    paths: dict[int, list[str]] = {}

    def walk(selection_set, prefix):
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                path = prefix + [selection.alias.value if selection.alias else selection.name.value]
                paths[id(selection)] = path
                walk(selection.selection_set, path)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                walk(selection.selection_set, prefix + ([f"... on {condition.name.value}"] if condition else []))

    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            head = definition.operation.value + (f" {definition.name.value}" if definition.name else "")
            walk(definition.selection_set, [head])
        elif isinstance(definition, FragmentDefinitionNode):
            walk(definition.selection_set, [f"fragment {definition.name.value}"])
    return paths


def _validation_error(error: GraphQLError, paths: dict[int, list[str]]) -> dict:
    node = error.nodes[0] if error.nodes else None
    path = paths.get(id(node)) if node is not None else None
    match = UNDEFINED_FIELD_RE.match(error.message)
    if match:
        return _error(f"Field '{match['field']}' doesn't exist on type '{match['type']}'", _locations(error), path,
                      {"code": "undefinedField", "typeName": match["type"], "fieldName": match["field"]})
    match = NO_SELECTION_RE.match(error.message)
    if match:
        field, type_name = match["field"], match["type"].strip("[]!")
        return _error(f"Field must have selections (field '{field}' returns {type_name} but has no selections. "
                      f"Did you mean '{field} {{ ... }}'?)", _locations(error), path,
                      {"code": "selectionMismatch", "nodeName": f"field '{field}'", "typeName": type_name})
    return _error(error.message, _locations(error), path)


def _variable_error(error: GraphQLError, raw_variables: dict, operation: OperationDefinitionNode) -> dict:
    match = VARIABLE_RE.match(error.message)
    if not match:
        return _error(error.message, _locations(error), extensions={"code": "INVALID_VARIABLE"})
    name = match["name"]
    definition = next((d for d in operation.variable_definitions or () if d.variable.name.value == name), None)
    type_name = graphql.print_ast(definition.type) if definition is not None else match["type"]
    value = raw_variables.get(name)
    detail = match["rest"].strip().removeprefix("has invalid value:").strip()
    if value is None and ("non-null" in detail or "was not provided" in detail):
        detail = "Expected value to not be null"  # graphql-ruby's explanation
    return _error(f"Variable ${name} of type {type_name} was provided invalid value", _locations(error),
                  extensions={"code": "INVALID_VARIABLE", "value": value,
                              "problems": [{"path": [], "explanation": detail or error.message}]})


def _oversized_inputs(schema, document, operation, variable_values) -> list[dict]:
    """Shopify caps every input array at 250 items before running anything."""
    problems: list[dict] = []
    type_info = graphql.TypeInfo(schema)

    class Visitor(graphql.Visitor):
        def enter_field(self, node, *_):
            field_def = type_info.get_field_def()
            if field_def is None:
                return
            try:
                args = get_argument_values(field_def, node, variable_values)
            except GraphQLError:
                return
            for name, value in args.items():
                if isinstance(value, list) and len(value) > MAX_INPUT_ARRAY:
                    problems.append(_error(
                        f"The input array size of {len(value)} is greater than the maximum allowed of {MAX_INPUT_ARRAY}.",
                        [{"line": node.loc.start_token.line, "column": node.loc.start_token.column}] if node.loc else None,
                        [node.name.value, name], {"code": "MAX_INPUT_SIZE_EXCEEDED"}))

    graphql.visit(operation, graphql.TypeInfoVisitor(type_info, Visitor()))
    return problems


def run(schema, payload: dict, *, make_context, bucket, lock) -> Outcome:
    """Answer one GraphQL request. `make_context()` builds the resolver Context; `bucket` is the
    (shop, app) LeakyBucket; `lock` guards the store while resolvers run."""
    query = payload.get("query")
    if not isinstance(query, str) or not query.strip():
        return Outcome(400, {"errors": {"query": "Required parameter missing or invalid"}})
    raw_variables = payload.get("variables") or {}
    if not isinstance(raw_variables, dict):
        return Outcome(400, {"errors": {"variables": "must be an object"}})
    operation_name = payload.get("operationName") or None

    try:
        document = graphql.parse(query)
    except GraphQLError as error:
        detail = error.message.removeprefix("Syntax Error: ").rstrip(".")
        loc = error.locations[0] if error.locations else None
        where = f" at [{loc.line}, {loc.column}]" if loc else ""
        return Outcome(200, {"errors": [_error(f"syntax error, {detail}{where}", _locations(error),
                                               extensions={"code": "PARSE_ERROR"})]})

    validation = graphql.validate(schema, document)
    if validation:
        paths = _field_paths(document)
        return Outcome(200, {"errors": [_validation_error(e, paths) for e in validation]}, operation_name)

    operation = graphql.get_operation_ast(document, operation_name)
    if operation is None:
        message = (f"No operation named \"{operation_name}\"" if operation_name
                   else "An operation name is required")
        return Outcome(200, {"errors": [_error(message)]}, operation_name)
    operation_name = operation.name.value if operation.name else operation_name

    coerced = get_variable_values(schema, operation.variable_definitions or (), raw_variables)
    if isinstance(coerced, list):
        return Outcome(200, {"errors": [_variable_error(e, raw_variables, operation) for e in coerced]}, operation_name)

    oversized = _oversized_inputs(schema, document, operation, coerced)
    if oversized:
        return Outcome(200, {"errors": oversized}, operation_name)

    calculator = QueryCost(schema, document, operation, coerced)
    requested = calculator.requested()

    def cost(actual):
        return {"cost": {"requestedQueryCost": requested, "actualQueryCost": actual,
                         "throttleStatus": bucket.status()}}

    with lock:
        if requested > MAX_QUERY_COST:
            error = _error(MAX_COST_MESSAGE.format(cost=requested, max=MAX_QUERY_COST),
                           extensions={"code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": MAX_QUERY_COST})
            return Outcome(200, {"errors": [error], "extensions": cost(None)}, operation_name, requested)
        if not bucket.try_take(requested):
            error = _error("Throttled", extensions={"code": "THROTTLED", "documentation": THROTTLE_DOCS})
            return Outcome(200, {"errors": [error], "extensions": cost(None)}, operation_name, requested,
                           throttled=True)
        context = make_context()
        result = graphql.execute(schema, document, context_value=context, variable_values=raw_variables,
                                 operation_name=operation_name, field_resolver=strict_field_resolver)
        actual = calculator.actual(result.data, requested)
        bucket.refund(requested - actual)
        body: dict[str, Any] = {}
        if result.errors:
            body["errors"] = [_error(e.message, _locations(e), e.path, e.extensions) for e in result.errors]
        body["data"] = result.data
        body["extensions"] = cost(actual)
        if context.search:
            body["extensions"]["search"] = context.search
    return Outcome(200, body, operation_name, requested, actual, context=context)
