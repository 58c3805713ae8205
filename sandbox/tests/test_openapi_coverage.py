"""Every KuCoin endpoint of the core is matched to its OpenAPI operation, so that its requests are
validated and its answers checked (a typo in a path would silently skip both)."""
from sandbox.routes import all_routes

CORE = {"sandbox.market", "sandbox.ndbroker", "sandbox.funding", "sandbox.kyc", "sandbox.spot_account"}


def test_core_routes_have_their_openapi_operation(sandbox):
    routes = [r for r in all_routes() if r.handler.__module__ in CORE and not r.template.startswith("/_")]
    assert len(routes) >= 20
    missing = [f"{r.family} {r.method} {r.template}" for r in routes if r.spec is None or r.response_schema is None]
    assert missing == []


def test_nd_weights_and_pools_come_from_the_spec(sandbox):
    by_key = {(r.family, r.method, r.template): r for r in all_routes()}
    assert by_key[("broker", "GET", "/api/v1/asset/ndbroker/deposit/list")].weight == 10
    assert by_key[("broker", "POST", "/api/v1/broker/nd/transfer")].weight == 1
    assert by_key[("broker", "POST", "/api/v1/broker/nd/account")].weight == 3
    assert by_key[("spot", "GET", "/api/v1/timestamp")].weight == 3
    assert by_key[("futures", "GET", "/api/v1/timestamp")].weight == 2
    assert {r.pool for r in all_routes() if r.template.startswith("/api/v1/broker/nd/")} == {"broker"}
