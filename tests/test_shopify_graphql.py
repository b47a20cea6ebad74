"""The Admin GraphQL client against the dev store: real schema, real costs, real throttle."""
import pytest

from connectors.base import ConnectorError
from connectors.shopify.devstore import FakeShopify, default_data_dir
from connectors.shopify.devstore.data import load_schema, schema_path
from connectors.shopify.graphql import ShopifyAuthError, ShopifyGraphQL, ShopifyGraphQLError
from connectors.shopify.manifest import api_version
from connectors.shopify.operations import ALL_OPERATIONS
from connectors.shopify.throttle import BucketModel

import graphql
import httpx

SHOP = "gql-shop.myshopify.com"


def test_every_operation_is_valid_against_shopifys_real_admin_schema():
    schema = load_schema(str(schema_path(default_data_dir(), api_version())))
    assert schema.query_type.name == "QueryRoot"
    for name, document in ALL_OPERATIONS.items():
        parsed = graphql.parse(document)
        [definition] = parsed.definitions
        assert definition.name.value == name, "the dict key must be the operation's own name"
        assert graphql.validate(schema, parsed) == [], name
    # The check has teeth: a misspelt field is caught.
    broken = ALL_OPERATIONS["ShopInfo"].replace("myshopifyDomain", "myShopifyDomain")
    assert graphql.validate(schema, graphql.parse(broken))


class Clock:
    def __init__(self):
        self.now = 1000.0
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def world():
    clock = Clock()
    fake = FakeShopify("k", "s" * 32, bucket_size=100, restore_rate=10.0, clock=clock)
    fake.create_shop(SHOP)
    product = fake.add_product(SHOP, "Lamp", [{"sku": f"L{i}", "available": i, "policy": "CONTINUE"} for i in range(3)])
    token = {"value": fake.issue_access_token(SHOP)["access_token"], "refreshes": 0}

    def token_source(force: bool) -> str:
        if force:
            token["refreshes"] += 1
            token["value"] = fake.issue_access_token(SHOP)["access_token"]
        return token["value"]

    http = httpx.Client(transport=httpx.WSGITransport(app=fake.wsgi_app))
    client = ShopifyGraphQL(http, SHOP, api_version(), token_source, BucketModel(), sleep=clock.sleep, clock=clock)
    return fake, client, [v["id"] for v in product["variants"]], clock, token


def test_pacing_never_overdraws_the_bucket(world):
    fake, client, variants, clock, _ = world
    for _ in range(12):  # 12 x 40 requested points through a 100-point bucket restoring 10/s
        data = client.execute(ALL_OPERATIONS["VariantInventory"], {"ids": variants})
        assert len(data["nodes"]) == 3
    assert [c for c in fake.calls if c.throttled] == [], ([(c.requested_cost, c.actual_cost, c.throttled) for c in fake.calls], clock.slept)
    assert sum(clock.slept) > 0


def test_throttled_answer_is_waited_out_and_retried(world):
    fake, client, variants, clock, _ = world
    # Another app process drained the bucket behind this client's back.
    assert fake.bucket(SHOP).try_take(95)
    client.bucket.expected_cost.clear()
    client.bucket.expected_cost["VariantInventory"] = 1  # a wrong guess: the server will say THROTTLED
    data = client.execute(ALL_OPERATIONS["VariantInventory"], {"ids": variants})
    assert len(data["nodes"]) == 3
    assert [c.throttled for c in fake.calls][-2:] == [True, False]


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_server_errors_and_429_are_retried_with_backoff(world, status):
    fake, client, variants, clock, _ = world
    fake.fail_next(2, status=status, retry_after="3")
    data = client.execute(ALL_OPERATIONS["ShopInfo"])
    assert data["shop"]["myshopifyDomain"] == SHOP
    waits = [s for s in clock.slept if s > 0]
    assert len(waits) >= 2
    if status == 429:
        assert min(waits) >= 3  # Retry-After is honoured


def test_persistent_failure_gives_up_as_a_retryable_error(world):
    fake, client, _, _, _ = world
    fake.fail_next(50, status=503)
    with pytest.raises(ConnectorError) as info:
        client.execute(ALL_OPERATIONS["ShopInfo"])
    assert info.value.retryable


def test_a_401_refreshes_the_token_once(world):
    fake, client, _, clock, token = world
    clock.now += 4000  # past the access token's lifetime
    assert client.execute(ALL_OPERATIONS["ShopInfo"])["shop"]["myshopifyDomain"] == SHOP
    assert token["refreshes"] == 1


def test_a_token_refused_after_refresh_is_an_auth_error(world):
    fake, client, _, _, token = world
    client._token = lambda force: "shpat_not_a_real_token"
    with pytest.raises(ShopifyAuthError) as info:
        client.execute(ALL_OPERATIONS["ShopInfo"])
    assert not info.value.retryable


def test_graphql_errors_are_not_retried(world):
    fake, client, _, _, _ = world
    calls = len(fake.calls)
    with pytest.raises(ShopifyGraphQLError):
        client.execute("query Broken { shop { noSuchField } }")
    assert len(fake.calls) - calls <= 1


def test_pagination_follows_cursors(world):
    fake, client, variants, _, _ = world
    for i in range(5):
        fake.place_order(SHOP, [(variants[2], 1)])
    nodes = list(client.paginate(ALL_OPERATIONS["RecentOrders"], {"query": None}, ["orders"], page_size=2))
    assert len(nodes) == 5 and len({n["id"] for n in nodes}) == 5
    assert sum(1 for c in fake.calls if c.operation == "RecentOrders") == 3
