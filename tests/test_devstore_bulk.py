"""The dev store's bulk query operations, held to what Shopify documents for 2026-10: the inner
query's checks, the status progression, the JSONL result and its URL, the cost, the limits."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import graphql
import httpx
import pytest

from connectors.shopify import operations as ops
from connectors.shopify.devstore import FakeShopify, default_data_dir
from connectors.shopify.devstore.bulk import bulk_operations
from connectors.shopify.devstore.bulk_query import check
from connectors.shopify.devstore.data import load_schema, schema_path

KEY = "bulk-test-key"
SECRET = "bulk-test-secret-0123456789abcdef0123"
SHOP = "bulk-shop.myshopify.com"

RUN = """
mutation Run($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status type createdAt completedAt objectCount rootObjectCount fileSize url partialDataUrl }
    userErrors { field message code }
  }
}
"""
POLL = """
query Poll($id: ID!) {
  bulkOperation(id: $id) {
    id status errorCode createdAt completedAt objectCount rootObjectCount fileSize url partialDataUrl query
  }
}
"""
# The guide's example ("The JSONL data format"): products and their variants.
DOCS_QUERY = """
{
  products {
    edges {
      node {
        id
        variants {
          edges {
            node {
              id
              title
            }
          }
        }
      }
    }
  }
}
"""


class Clock:
    def __init__(self):
        self.moment = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)

    def __call__(self):
        return self.moment


@pytest.fixture
def world():
    clock = Clock()
    fake = FakeShopify(KEY, SECRET, now=clock)
    fake.create_shop(SHOP, locations=("Main warehouse", "Overflow"))
    made = [fake.add_product(SHOP, title, [{"sku": f"{title[:3].upper()}-{size}", "title": size, "available": 2}
                                           for size in sizes])
            for title, sizes in (("Oak desk", ("52", "70")), ("Linen lamp", ("34",)), ("Wool rug", ("Default Title",)))]
    token = fake.issue_access_token(SHOP)["access_token"]
    http = httpx.Client(transport=httpx.WSGITransport(app=fake.wsgi_app))

    def gql(query, variables=None, access_token=token):
        response = http.post(f"https://{SHOP}/admin/api/2026-10/graphql.json", json={"query": query,
                             "variables": variables or {}}, headers={"X-Shopify-Access-Token": access_token})
        assert response.status_code == 200
        return response.json()

    def run(query, access_token=token):
        return gql(RUN, {"query": query}, access_token)["data"]["bulkOperationRunQuery"]

    def poll(operation_id):
        return gql(POLL, {"id": operation_id})["data"]["bulkOperation"]

    return {"fake": fake, "clock": clock, "gql": gql, "run": run, "poll": poll, "http": http, "products": made,
            "token": token}


def _finished(world, query):
    started = world["run"](query)
    assert started["userErrors"] == []
    operation_id = started["bulkOperation"]["id"]
    world["poll"](operation_id)
    return world["poll"](operation_id)


# -- lifecycle --------------------------------------------------------------------------------------

def test_an_operation_is_created_then_runs_then_completes_on_later_polls(world):
    started = world["run"](DOCS_QUERY)
    assert started["userErrors"] == []
    operation = started["bulkOperation"]
    assert operation["id"].startswith("gid://shopify/BulkOperation/")
    assert (operation["status"], operation["type"], operation["url"], operation["completedAt"]) == \
           ("CREATED", "QUERY", None, None)
    assert (operation["objectCount"], operation["rootObjectCount"]) == ("0", "0")  # UnsignedInt64: strings
    assert operation["createdAt"] == "2026-11-02T09:00:00Z"

    running = world["poll"](operation["id"])
    assert (running["status"], running["url"]) == ("RUNNING", None)
    done = world["poll"](operation["id"])
    assert done["status"] == "COMPLETED" and done["errorCode"] is None
    assert (done["objectCount"], done["rootObjectCount"]) == ("7", "3")  # 3 products + 4 variants
    assert done["url"].startswith("https://storage.devstore.invalid/_bulk/")
    assert done["query"] == DOCS_QUERY
    again = world["poll"](operation["id"])
    assert again == done

    # The deprecated currentBulkOperation and node(id:) (what the guide's webhook path uses) agree.
    body = world["gql"]("""query { currentBulkOperation(type: QUERY) { id status }
        node(id: "%s") { ... on BulkOperation { id url } } }""" % operation["id"])["data"]
    assert body["currentBulkOperation"] == {"id": operation["id"], "status": "COMPLETED"}
    assert body["node"] == {"id": operation["id"], "url": done["url"]}


def test_running_can_last_several_polls(world):
    bulk_operations(world["fake"]).running_polls = 3
    operation_id = world["run"](DOCS_QUERY)["bulkOperation"]["id"]
    assert [world["poll"](operation_id)["status"] for _ in range(5)] == \
           ["RUNNING", "RUNNING", "RUNNING", "COMPLETED", "COMPLETED"]


def test_the_result_is_jsonl_shaped_like_the_guides_example(world):
    done = _finished(world, DOCS_QUERY)
    response = world["http"].get(done["url"])  # a signed URL: no access token
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/jsonl")
    assert int(done["fileSize"]) == len(response.content)
    lines = [json.loads(line) for line in response.text.splitlines()]
    desk, lamp, rug = world["products"]
    expected = []
    for product in (desk, lamp, rug):
        expected.append({"id": product["id"]})
        expected += [{"id": v["id"], "title": v["title"], "__parentId": product["id"]} for v in product["variants"]]
    assert lines == expected
    # Byte for byte the guide's format: compact JSON, one object per line.
    assert response.text.splitlines()[1] == json.dumps(expected[1], separators=(",", ":"))
    assert response.text.endswith("\n")


def test_first_and_page_info_are_ignored_and_every_item_is_read(world):
    fake = world["fake"]
    fake.add_product(SHOP, "Many sizes", [{"sku": f"M-{i}", "title": f"S{i}"} for i in range(260)])
    done = _finished(world, "{ products(first: 1) { pageInfo { hasNextPage } edges { cursor node { id "
                            "variants(first: 2) { edges { node { id } } } } } } }")
    lines = [json.loads(line) for line in world["http"].get(done["url"]).text.splitlines()]
    assert sum("__parentId" not in line for line in lines) == 4
    assert sum("__parentId" in line for line in lines) == 4 + 260
    assert all(set(line) <= {"id", "__parentId"} for line in lines)  # no cursor, no pageInfo


def test_nested_connections_inside_objects_name_the_enclosing_node(world):
    done = _finished(world, ops.CATALOG_BULK_QUERY)
    lines = [json.loads(line) for line in world["http"].get(done["url"]).text.splitlines()]
    variants = [line for line in lines if "__parentId" not in line]
    levels = [line for line in lines if "__parentId" in line]
    assert len(variants) == 4 and len(levels) == 8  # two locations each
    assert {level["__parentId"] for level in levels} == {variant["id"] for variant in variants}
    assert variants[0]["inventoryItem"] == {"tracked": True}
    assert levels[0]["quantities"] == [{"name": "available", "quantity": 2}]


def test_the_result_url_is_signed_and_expires_after_seven_days(world):
    done = _finished(world, DOCS_QUERY)
    http, url = world["http"], done["url"]
    assert http.get(url.split("?")[0]).status_code == 403
    assert http.get(url.replace("sig=", "sig=x")).status_code == 403
    world["clock"].moment += timedelta(days=7)
    expired = world["poll"](done["id"])
    assert (expired["status"], expired["url"]) == ("EXPIRED", None)
    assert http.get(url).status_code == 400


def test_an_empty_result_has_no_file(world):
    done = _finished(world, "{ orders { edges { node { id } } } }")
    assert (done["status"], done["objectCount"], done["url"], done["fileSize"]) == ("COMPLETED", "0", None, None)


# -- failures -----------------------------------------------------------------------------------------

def test_missing_scopes_fail_the_operation_with_access_denied(world):
    token = world["fake"].issue_access_token(SHOP, scopes=["read_products"])["access_token"]
    started = world["run"](ops.CATALOG_BULK_QUERY, access_token=token)
    assert started["userErrors"] == []  # Shopify checks access when it runs the query
    world["poll"](started["bulkOperation"]["id"])
    failed = world["poll"](started["bulkOperation"]["id"])
    assert (failed["status"], failed["errorCode"], failed["url"], failed["completedAt"]) == \
           ("FAILED", "ACCESS_DENIED", None, None)


def test_a_scripted_failure_can_leave_partial_data(world):
    bulk_operations(world["fake"]).fail_next("TIMEOUT", partial_lines=2)
    failed = _finished(world, DOCS_QUERY)
    assert (failed["status"], failed["errorCode"], failed["url"]) == ("FAILED", "TIMEOUT", None)
    partial = world["http"].get(failed["partialDataUrl"])
    assert partial.status_code == 200 and len(partial.text.splitlines()) == 2


def test_a_canceled_operation(world):
    operation_id = world["run"](DOCS_QUERY)["bulkOperation"]["id"]
    canceled = world["gql"]("""mutation C($id: ID!) { bulkOperationCancel(id: $id) {
        bulkOperation { id status } userErrors { field message } } }""", {"id": operation_id})
    assert canceled["data"]["bulkOperationCancel"] == {"bulkOperation": {"id": operation_id, "status": "CANCELING"},
                                                      "userErrors": []}
    assert world["poll"](operation_id)["status"] == "CANCELED"
    bulk_operations(world["fake"]).fail_next(status="CANCELED")  # Shopify cancels stalled operations too
    assert _finished(world, DOCS_QUERY)["status"] == "CANCELED"


# -- the inner query's checks --------------------------------------------------------------------------

REJECTED = {
    "nodes instead of edges": ("{ products { nodes { id title } } }", [
        "All connection fields in a bulk query must select their contents using 'edges' > 'node', e.g: "
        "'products { edges { node {'. Selecting via 'nodes' is not supported. Invalid connection fields: 'products'."]),
    "top-level node": ('{ node(id: "gid://shopify/Product/1") { id } }', [
        "Bulk queries cannot contain a top level `node` field.", "Bulk queries must contain at least one connection."]),
    "three levels of nesting": (
        "{ collections { edges { node { id products { edges { node { id variants { edges { node { id "
        "metafields { edges { node { id } } } } } } } } } } } } }",
        ["Bulk queries cannot contain connections with a nesting depth greater than 2."]),
    "six connections": (
        "{ products { edges { node { id variants { edges { node { id } } } metafields { edges { node { id } } } "
        "collections { edges { node { id } } } media { edges { node { id } } } "
        "sellingPlanGroups { edges { node { id } } } } } } }",
        ["Bulk queries cannot contain more than 5 connections."]),
    "nested connection without the parent's id": (
        "{ products { edges { node { title variants { edges { node { id } } } } } } }",
        ["The parent 'node' field for a nested connection must select the 'id' field without an alias and must be "
         "of 'ID' return type. Connection fields without 'id': products."]),
    "aliased parent id": (
        "{ products { edges { node { key: id variants { edges { node { id } } } } } } }",
        ["The parent 'node' field for a nested connection must select the 'id' field without an alias and must be "
         "of 'ID' return type. Connection fields without 'id': products."]),
    "a mutation": ('mutation { tagsAdd(id: "gid://shopify/Order/1", tags: ["x"]) { node { id } } }',
                   ["Invalid operation type. Only `query` operations are supported."]),
    "connection within a list": (
        "{ orders { edges { node { id fulfillments { events { edges { node { id } } } } } } } }",
        ["Queries that contain a connection field within a list field are not currently supported."]),
    "empty": ("", ["Invalid bulk query: syntax error, unexpected end of file"]),
    "no connection": ("{ shop { id name } }", ["Bulk queries must contain at least one connection."]),
    "unknown field": ("{ products { edges { node { id titel } } } }",
                      ["Invalid bulk query: Field 'titel' doesn't exist on type 'Product'"]),
}


@pytest.mark.parametrize("case", sorted(REJECTED))
def test_an_invalid_inner_query_is_refused_like_shopify(world, case):
    query, messages = REJECTED[case]
    answer = world["gql"](RUN, {"query": query})
    payload = answer["data"]["bulkOperationRunQuery"]
    assert payload["bulkOperation"] is None
    assert payload["userErrors"] == [{"field": ["query"], "message": m, "code": "INVALID"} for m in messages]
    assert answer["extensions"]["cost"]["actualQueryCost"] == 10  # a refused mutation still costs
    assert bulk_operations(world["fake"]).of_shop(SHOP) == []


def test_connections_whose_nodes_are_not_nodes_are_refused():
    schema = load_schema(str(schema_path(default_data_dir(), "2026-10")))
    _, _, errors = check(schema, "{ shop { productTags(first: 5) { edges { node } } } }")
    assert [e["message"] for e in errors] == [
        "Bulk queries can only contain connections whose nodes implement the Node interface. "
        "Invalid connection fields: 'productTags'."]
    # An interface all of whose types are nodes is fine (Product.media).
    assert check(schema, "{ products { edges { node { id media { edges { node { id } } } } } } }")[2] == []


def test_the_apps_bulk_queries_are_valid_and_accepted():
    schema = load_schema(str(schema_path(default_data_dir(), "2026-10")))
    for name, query in ops.BULK_QUERIES.items():
        parsed = graphql.parse(query)
        assert parsed.definitions[0].name.value == name
        assert graphql.validate(schema, parsed) == [], name
        assert check(schema, query)[2] == [], name


# -- cost and limits ----------------------------------------------------------------------------------

def test_the_mutation_costs_ten_and_the_inner_query_is_not_cost_limited(world):
    # As a normal query this would cost far beyond 1,000 points; in bulk only the mutation is charged.
    heavy = ("{ products { edges { node { id variants(first: 250) { edges { node { id inventoryItem { "
             "inventoryLevels(first: 250) { edges { node { location { id } } } } } } } } } } } }")
    answer = world["gql"](RUN, {"query": heavy})
    assert answer["data"]["bulkOperationRunQuery"]["userErrors"] == []
    cost = answer["extensions"]["cost"]
    assert (cost["requestedQueryCost"], cost["actualQueryCost"]) == (10, 10)
    poll = world["gql"](POLL, {"id": answer["data"]["bulkOperationRunQuery"]["bulkOperation"]["id"]})
    assert poll["extensions"]["cost"]["requestedQueryCost"] == 1


def test_five_bulk_queries_may_run_at_once(world):
    for _ in range(5):
        assert world["run"](DOCS_QUERY)["userErrors"] == []
    assert world["run"](DOCS_QUERY) == {"bulkOperation": None, "userErrors": [
        {"field": None, "message": "Bulk operations limit reached. Please try again later.", "code": "LIMIT_REACHED"}]}


def test_before_2026_01_one_bulk_query_at_a_time(world):
    bulk_operations(world["fake"]).concurrency = 1
    first = world["run"](DOCS_QUERY)["bulkOperation"]["id"]
    assert world["run"](DOCS_QUERY)["userErrors"] == [{
        "field": None, "code": "OPERATION_IN_PROGRESS",
        "message": f"A bulk query operation for this app and shop is already in progress: {first}."}]
    world["poll"](first)
    world["poll"](first)
    assert world["run"](DOCS_QUERY)["userErrors"] == []  # the first one finished


def test_bulk_operations_lists_newest_first_and_filters(world):
    first = world["run"](DOCS_QUERY)["bulkOperation"]["id"]
    world["clock"].moment += timedelta(seconds=5)
    second = world["run"](DOCS_QUERY)["bulkOperation"]["id"]
    world["poll"](first)
    world["poll"](first)  # completed
    listed = world["gql"]("""{ all: bulkOperations(first: 5) { edges { node { id } } }
        oldest: bulkOperations(first: 5, reverse: true) { edges { node { id } } }
        done: bulkOperations(first: 5, query: "status:completed operation_type:query") { edges { node { id } } } }""")
    data = listed["data"]
    assert [e["node"]["id"] for e in data["all"]["edges"]] == [second, first]
    assert [e["node"]["id"] for e in data["oldest"]["edges"]] == [first, second]
    assert [e["node"]["id"] for e in data["done"]["edges"]] == [first]


def test_catalogue_counts_and_variants(world):
    body = world["gql"]("""{ small: productVariantsCount(limit: 3) { count precision }
        all: productVariantsCount { count precision }
        productVariants(first: 2) { edges { node { sku product { title handle } } } pageInfo { hasNextPage } } }""")
    data = body["data"]
    assert data["small"] == {"count": 3, "precision": "AT_LEAST"}
    assert data["all"] == {"count": 4, "precision": "EXACT"}
    assert [e["node"]["sku"] for e in data["productVariants"]["edges"]] == ["OAK-52", "OAK-70"]
    assert data["productVariants"]["edges"][0]["node"]["product"] == {"title": "Oak desk", "handle": "oak-desk"}
    assert data["productVariants"]["pageInfo"]["hasNextPage"] is True
