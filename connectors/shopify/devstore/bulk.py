"""Bulk query operations in the dev store, as Shopify documents them for API version 2026-10.

* `bulkOperationRunQuery(query:, groupObjects:)` checks the inner query (bulk_query.check) and
  answers a BulkOperation in status CREATED, or `userErrors`. It costs what a mutation costs
  (10 points); the inner query is not cost-limited, and its `first`/`after` are ignored: every
  connection is read to the end.
* The operation runs "in the background": each later request that reads it (bulkOperation(id:),
  node(id:), currentBulkOperation, bulkOperations) moves it one step, CREATED -> RUNNING ->
  COMPLETED (`running_polls` readings in RUNNING), executing the inner query with the scopes of
  the token that started it. A resolver's ACCESS_DENIED fails it with errorCode ACCESS_DENIED,
  any other error with INTERNAL_SERVER_ERROR; `fail_next()` scripts a FAILED or CANCELED ending.
* The result is JSONL (bulk_query.flatten) at `url`, a signed link on a storage host that needs
  no access token (served by the dev store's WSGI app under /_bulk/); objectCount,
  rootObjectCount and fileSize (UnsignedInt64, so strings) describe it. An empty result has no
  url, as on Shopify. Seven days after completion the link expires: status EXPIRED, url null.
* From 2026-01 an app may run five bulk queries at a time per shop (LIMIT_REACHED beyond); set
  `concurrency = 1` for the older rule (OPERATION_IN_PROGRESS, with the running operation's id).
"""
from __future__ import annotations

import json
import secrets
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import graphql
from graphql import GraphQLError

from . import bulk_query
from .connections import paginate
from .resolvers import Context, strict_field_resolver
from .store import Store, iso, parse_gid

RESULT_HOST = "storage.devstore.invalid"  # Shopify's results live on a storage host, not the shop's
RESULT_TTL = timedelta(days=7)
PAGE = 250
IN_PROGRESS = ("CREATED", "RUNNING", "CANCELING")
FIELDS = ("id", "status", "type", "errorCode", "createdAt", "completedAt", "objectCount", "rootObjectCount",
          "fileSize", "url", "partialDataUrl", "query")


@dataclass
class _Ending:
    status: str                  # FAILED | CANCELED
    error_code: str | None
    partial_lines: int | None    # a FAILED operation's partial data: this many lines, or none


@dataclass
class Operation:
    gql: dict                    # the object GraphQL resolves (registered as a node of the shop)
    number: int
    shop: str
    query: str
    scopes: frozenset[str]
    api_client_id: int
    schema: Any
    created_at: datetime
    type: str = "QUERY"
    status: str = "CREATED"
    error_code: str | None = None
    completed_at: datetime | None = None
    object_count: int = 0
    root_object_count: int = 0
    result: bytes | None = None
    partial: bytes | None = None
    signature: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    running_seen: int = 0
    ending: _Ending | None = None
    last_reader: object = None   # the Context of the last request that read it: one step per request


class BulkOperations:
    """The bulk operations of one dev store (every shop), kept on its Store."""

    def __init__(self, store: Store):
        self.store = store
        self.concurrency = 5
        self.running_polls = 1
        self.by_number: dict[int, Operation] = {}
        self._endings: deque[_Ending] = deque()

    def fail_next(self, error_code: str | None = "INTERNAL_SERVER_ERROR", *, status: str = "FAILED",
                  partial_lines: int | None = None) -> None:
        """The next operation started ends `status` (FAILED with `error_code`, or CANCELED) instead
        of completing; a FAILED one may leave `partial_lines` lines at partialDataUrl."""
        if status not in ("FAILED", "CANCELED"):
            raise ValueError("status must be FAILED or CANCELED")
        self._endings.append(_Ending(status, error_code if status == "FAILED" else None, partial_lines))

    def of_shop(self, domain: str) -> list[Operation]:
        return [op for op in self.by_number.values() if op.shop == domain]

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self, ctx: Context, schema, query: str) -> Operation:
        gql = self.store._new(ctx.shop, "BulkOperation")  # noqa: SLF001 - the store's id and node registry
        op = Operation(gql, int(gql["legacyResourceId"]), ctx.shop.domain, query, ctx.scopes, ctx.api_client_id,
                       schema, self.store.now(), ending=self._endings.popleft() if self._endings else None,
                       last_reader=ctx)
        gql["_op"] = op
        for name in FIELDS:
            if name != "id":
                gql[name] = (lambda info, _name=name: self.view(op, info.context)[_name])
        self.by_number[op.number] = op
        return op

    def observe(self, op: Operation, reader) -> None:
        """A request reads the operation: it moves on one step (once per request)."""
        if reader is op.last_reader:
            return
        op.last_reader = reader
        if op.status == "CREATED":
            op.status = "RUNNING"
        elif op.status == "RUNNING":
            op.running_seen += 1
            if op.running_seen >= self.running_polls:
                self._finish(op)
        elif op.status == "CANCELING":
            op.status = "CANCELED"

    def view(self, op: Operation, reader) -> dict:
        self.observe(op, reader)
        if op.status == "COMPLETED" and self.store.now() >= op.completed_at + RESULT_TTL:
            op.status = "EXPIRED"
        url = self._url(op, "") if op.status == "COMPLETED" and op.result else None
        partial = self._url(op, ".partial") if op.status == "FAILED" and op.partial else None
        return {"id": op.gql["id"], "status": op.status, "type": op.type, "errorCode": op.error_code,
                "createdAt": iso(op.created_at), "completedAt": iso(op.completed_at) if op.completed_at else None,
                "objectCount": str(op.object_count), "rootObjectCount": str(op.root_object_count),
                "fileSize": str(len(op.result)) if url else None, "url": url, "partialDataUrl": partial,
                "query": op.query}

    def _url(self, op: Operation, suffix: str) -> str:
        return f"https://{RESULT_HOST}/_bulk/{op.number}{suffix}.jsonl?sig={op.signature}"

    def _finish(self, op: Operation) -> None:
        ending = op.ending
        if ending is not None and ending.status == "CANCELED":
            op.status = "CANCELED"  # Shopify cancels stalled operations
            return
        lines, roots, error_code = self._run(op)
        if ending is not None:
            error_code = ending.error_code or "INTERNAL_SERVER_ERROR"
            lines = lines[:ending.partial_lines] if ending.partial_lines else []
        if error_code:
            # completedAt stays null: "When the bulk operation was successfully completed."
            op.status, op.error_code = "FAILED", error_code
            op.partial = _jsonl(lines) if lines else None
            return
        op.completed_at = self.store.now()
        op.status, op.object_count, op.root_object_count = "COMPLETED", len(lines), roots
        op.result = _jsonl(lines) if lines else None

    def _run(self, op: Operation) -> tuple[list[dict], int, str | None]:
        document = graphql.parse(op.query)
        operation = next(d for d in document.definitions if isinstance(d, graphql.OperationDefinitionNode))
        ctx = Context(self.store, self.store.shop(op.shop), op.scopes, op.api_client_id)
        result = graphql.execute(op.schema, document, context_value=ctx, field_resolver=strict_field_resolver,
                                 middleware=[_every_page], operation_name=operation.name.value if operation.name else None)
        lines, roots = bulk_query.flatten(op.schema, document, operation, result.data or {})
        if result.errors:
            denied = any((e.extensions or {}).get("code") == "ACCESS_DENIED" for e in result.errors)
            return lines, roots, "ACCESS_DENIED" if denied else "INTERNAL_SERVER_ERROR"
        return lines, roots, None

    def cancel(self, ctx: Context, op: Operation | None) -> dict:
        if op is None:
            return {"bulkOperation": None, "userErrors": [{"field": ["id"], "message": "Bulk operation does not exist"}]}
        op.last_reader = ctx  # the cancel request itself does not move it on
        if op.status not in ("CREATED", "RUNNING"):
            return {"bulkOperation": op.gql, "userErrors": [
                {"field": None, "message": f"A bulk operation cannot be canceled when it is {op.status.lower()}"}]}
        op.status = "CANCELING"
        return {"bulkOperation": op.gql, "userErrors": []}

    # -- the result files -------------------------------------------------------------------------
    def download(self, name: str, signature: str | None) -> tuple[int, bytes]:
        """(HTTP status, body) for GET /_bulk/<name>.jsonl?sig=…"""
        number, _, kind = name.removesuffix(".jsonl").partition(".")
        op = self.by_number.get(int(number)) if number.isdigit() else None
        body = None if op is None else (op.partial if kind == "partial" else op.result if kind == "" else None)
        if op is None or body is None or not signature or not secrets.compare_digest(signature, op.signature):
            return 403, b"AccessDenied: the signature is invalid or the object does not exist"
        if kind == "" and (op.status == "EXPIRED" or self.store.now() >= op.completed_at + RESULT_TTL):
            return 400, b"ExpiredToken: the URL has expired"
        return 200, body


def _jsonl(lines: list[dict]) -> bytes:
    return "".join(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n" for line in lines).encode()


def _every_page(next_, root, info, **args):
    """Middleware: a connection field of a bulk query is read to its end, 250 at a time."""
    named = graphql.get_named_type(info.return_type)
    field_def = info.parent_type.fields[info.field_name]
    if not bulk_query.is_connection(named) or "first" not in field_def.args:
        return next_(root, info, **args)
    args = {k: v for k, v in args.items() if k not in ("first", "last", "after", "before")}
    edges, nodes, after = [], [], None
    while True:
        page = next_(root, info, **args, first=PAGE, after=after)
        edges += page["edges"]
        nodes += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            return dict(page, edges=edges, nodes=nodes)
        after = page["pageInfo"]["endCursor"]


def bulk_operations(owner) -> BulkOperations:
    """The registry of a FakeShopify (or of its Store), made on first use; kept on the Store so
    every dev store has its own without the Store having to know about bulk operations."""
    store = getattr(owner, "store", owner)
    registry = store.__dict__.get("_bulk_operations")
    if registry is None:
        registry = store.__dict__["_bulk_operations"] = BulkOperations(store)
    return registry


# -- resolvers ---------------------------------------------------------------------------------------
def _find(ctx: Context, node_id: str) -> Operation | None:
    kind = parse_gid(node_id)
    if kind is None:
        raise GraphQLError(f"Invalid global id '{node_id}'", extensions={"code": "argumentLiteralsIncompatible"})
    obj = ctx.store.node(ctx.shop, node_id)
    return obj["_op"] if obj is not None and obj["__typename"] == "BulkOperation" else None


def m_bulk_operation_run_query(_root, info, query, groupObjects=False):
    ctx: Context = info.context
    registry = bulk_operations(ctx.store)
    _, _, errors = bulk_query.check(info.schema, query)
    if errors:
        return {"bulkOperation": None, "userErrors": errors}
    running = [op for op in registry.of_shop(ctx.shop.domain) if op.type == "QUERY" and op.status in IN_PROGRESS]
    if len(running) >= registry.concurrency:
        if registry.concurrency == 1:
            return {"bulkOperation": None, "userErrors": [{
                "field": None, "code": "OPERATION_IN_PROGRESS",
                "message": f"A bulk query operation for this app and shop is already in progress: {running[0].gql['id']}."}]}
        return {"bulkOperation": None, "userErrors": [{
            "field": None, "code": "LIMIT_REACHED", "message": "Bulk operations limit reached. Please try again later."}]}
    return {"bulkOperation": registry.start(ctx, info.schema, query).gql, "userErrors": []}


def m_bulk_operation_cancel(_root, info, id):
    ctx: Context = info.context
    return bulk_operations(ctx.store).cancel(ctx, _find(ctx, id))


def q_bulk_operation(_root, info, id):
    op = _find(info.context, id)
    return op.gql if op is not None else None


def q_current_bulk_operation(_root, info, type="QUERY"):
    ctx: Context = info.context
    mine = [op for op in bulk_operations(ctx.store).of_shop(ctx.shop.domain) if op.type == type]
    return max(mine, key=lambda op: op.number).gql if mine else None


def _matches(op: Operation, query: str | None) -> bool:
    """bulkOperations(query:): OR of space-separated (AND) terms on status and operation_type."""
    if not query or not query.strip():
        return True
    for group in query.split(" OR "):
        ok = True
        for term in group.split():
            if term.upper() == "AND":
                continue
            name, _, value = term.partition(":")
            value = value.strip("'\"").lower()
            if name == "status":
                ok = ok and op.status.lower() == value
            elif name == "operation_type":
                ok = ok and op.type.lower() == value
            else:
                raise GraphQLError(f"fake Shopify does not implement bulkOperations(query: \"{name}:…\")")
        if ok:
            return True
    return False


def q_bulk_operations(_root, info, first=None, last=None, after=None, before=None, query=None, reverse=False,
                      sortKey="CREATED_AT"):
    ctx: Context = info.context
    found = [op.gql for op in bulk_operations(ctx.store).of_shop(ctx.shop.domain) if _matches(op, query)]
    if sortKey == "COMPLETED_AT":
        def key(gql):
            return gql["_op"].completed_at.isoformat() if gql["_op"].completed_at else ""
    else:
        def key(gql):
            return gql["_op"].created_at.isoformat()
    # Shopify: "Defaults to sorting by created_at, with newest operations first."
    return paginate(found, key, first=first, last=last, after=after, before=before, reverse=not reverse)


QUERY_ROOT = {"bulkOperation": q_bulk_operation, "currentBulkOperation": q_current_bulk_operation,
              "bulkOperations": q_bulk_operations}
MUTATION_ROOT = {"bulkOperationRunQuery": m_bulk_operation_run_query, "bulkOperationCancel": m_bulk_operation_cancel}
