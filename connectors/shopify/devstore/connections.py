"""Relay cursor connections and Shopify's search syntax, as the Admin API applies them.

Cursors are opaque base64 JSON (`{"last_id":…,"last_value":…}`, like Shopify's), positioned by
(sort value, id) so they stay valid when items are added or removed between pages. The search
parser covers what an orders query needs: `field:value`, comparisons (`updated_at:>=2026-01-01`),
quoted values, `-`/`NOT` negation and implicit AND. Unknown fields are ignored with a search
warning in `extensions.search`, as Shopify does.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
import shlex
from datetime import datetime, timezone
from typing import Any, Callable

from graphql import GraphQLError

MAX_PAGE_SIZE = 250


def bad_request(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "BAD_REQUEST"})


def encode_cursor(item: dict, sort_value: Any) -> str:
    payload = {"last_id": int(item["legacyResourceId"]), "last_value": _jsonable(sort_value)}
    return base64.b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _decode_cursor(cursor: str) -> tuple[Any, int]:
    try:
        payload = json.loads(base64.b64decode(cursor, validate=True))
        return payload["last_value"], int(payload["last_id"])
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise GraphQLError(f"Invalid cursor {cursor!r}.", extensions={"code": "BAD_REQUEST"}) from None


def paginate(items: list[dict], sort_value: Callable[[dict], Any], *, first=None, last=None, after=None,
             before=None, reverse=False) -> dict:
    """A connection dict (edges, nodes, pageInfo) over `items`, Shopify's rules for the arguments."""
    if first is None and last is None:
        raise bad_request("you must provide one of first or last")
    if first is not None and last is not None:
        raise bad_request("providing both first and last is not supported")
    size = first if first is not None else last
    if size < 0 or size > MAX_PAGE_SIZE:
        name = "first" if first is not None else "last"
        raise GraphQLError(f"The input value for {name} must be between 0 and {MAX_PAGE_SIZE}.",
                           extensions={"code": "BAD_REQUEST"})

    def key(item: dict):
        value = sort_value(item)
        return (_jsonable(value), int(item["legacyResourceId"]))

    ordered = sorted(items, key=key, reverse=reverse)
    if after:
        mark = _decode_cursor(after)
        ordered = [i for i in ordered if (key(i) < mark if reverse else key(i) > mark)]
    if before:
        mark = _decode_cursor(before)
        ordered = [i for i in ordered if (key(i) > mark if reverse else key(i) < mark)]
    if first is not None:
        page, has_next, has_previous = ordered[:first], len(ordered) > first, bool(after)
    else:
        page = ordered[-last:] if last else []
        has_next, has_previous = bool(before), len(ordered) > last
    edges = [{"cursor": encode_cursor(item, sort_value(item)), "node": item} for item in page]
    return {
        "edges": edges,
        "nodes": page,
        "pageInfo": {"__typename": "PageInfo", "hasNextPage": has_next, "hasPreviousPage": has_previous,
                     "startCursor": edges[0]["cursor"] if edges else None,
                     "endCursor": edges[-1]["cursor"] if edges else None},
    }


# -- search syntax ----------------------------------------------------------------------------
TERM_RE = re.compile(r"^(?P<field>[a-z_]+):(?P<op><=|>=|<|>|=)?(?P<value>.*)$")


def _parse_time(value: str) -> datetime | None:
    text = value.strip().strip("'\"")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _compare(left, op: str, right) -> bool:
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right,
            "=": left == right}[op]


def _order_status(order: dict) -> set[str]:
    statuses = {"any"}
    if order["cancelledAt"]:
        statuses.add("cancelled")
    if order["closed"]:
        statuses.add("closed")
    else:
        statuses.update({"open", "not_closed"})
    return statuses


def order_filter(query: str | None, warnings: list[dict]) -> Callable[[dict], bool]:
    """Predicate for an `orders(query:)` search string; unknown fields become warnings."""
    if not query or not query.strip():
        return lambda order: True
    try:
        tokens = shlex.split(query, posix=True)
    except ValueError:
        tokens = query.split()
    tests: list[Callable[[dict], bool]] = []
    negate_next = False
    for token in tokens:
        if token.upper() == "AND":
            continue
        if token.upper() == "NOT":
            negate_next = True
            continue
        negate = negate_next or token.startswith("-")
        negate_next = False
        token = token.lstrip("-")
        test = _term(token, warnings)
        if test is None:
            continue
        tests.append((lambda t: (lambda o: not t(o)))(test) if negate else test)
    return lambda order: all(test(order) for test in tests)


def _term(token: str, warnings: list[dict]) -> Callable[[dict], bool] | None:
    match = TERM_RE.match(token)
    if not match:
        needle = token.lower()
        return lambda o: needle in (o["name"].lower() + " " + (o["email"] or "").lower() + " "
                                    + " ".join(o["tags"]).lower())
    field, op, value = match["field"], match["op"] or "=", match["value"].strip("'\"")
    if field in ("created_at", "updated_at", "processed_at"):
        moment = _parse_time(value)
        if moment is None:
            warnings.append({"field": field, "message": f"Invalid value {value!r} for a date field."})
            return None
        attr = {"created_at": "_created", "updated_at": "_updated", "processed_at": "_created"}[field]
        return lambda o: _compare(o[attr], op, moment)
    if field == "id":
        try:
            number = int(value.rsplit("/", 1)[-1])
        except ValueError:
            warnings.append({"field": field, "message": f"Invalid value {value!r} for an id."})
            return None
        return lambda o: _compare(int(o["legacyResourceId"]), op, number)
    if field == "name":
        return lambda o: o["name"].lstrip("#").lower() == value.lstrip("#").lower()
    if field == "email":
        return lambda o: (o["email"] or "").lower() == value.lower()
    if field == "tag":
        return lambda o: value.lower() in (t.lower() for t in o["tags"])
    if field == "tag_not":
        return lambda o: value.lower() not in (t.lower() for t in o["tags"])
    if field == "status":
        return lambda o: value.lower() in _order_status(o)
    if field == "financial_status":
        return lambda o: (o["displayFinancialStatus"] or "").lower() == value.lower()
    if field == "fulfillment_status":
        return lambda o: o["displayFulfillmentStatus"].lower() == value.lower()
    if field == "sku":
        return lambda o: any((line["sku"] or "").lower() == value.lower() for line in o["_lines"])
    warnings.append({"field": field, "message": "Invalid search field for this query."})
    return None


ORDER_SORT_KEYS: dict[str, Callable[[dict], Any]] = {
    "ID": lambda o: int(o["legacyResourceId"]),
    "CREATED_AT": lambda o: o["_created"],
    "PROCESSED_AT": lambda o: o["_created"],
    "UPDATED_AT": lambda o: o["_updated"],
    "ORDER_NUMBER": lambda o: o["number"],
    "TOTAL_PRICE": lambda o: str(o["_total"]).zfill(20),
    "CURRENT_TOTAL_PRICE": lambda o: str(o["_total"]).zfill(20),
}
