"""The client credentials grant, the access token header, and token expiry."""

from __future__ import annotations

import httpx

from sandbox.shop import RunningShop

from .conftest import CLIENT_ID, SECRET, Api, get_token, wait_for

INVALID = {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
QUERY = {"query": "{ locations(first: 1) { nodes { name } } }"}


def test_a_form_grant_gives_a_token_that_opens_the_api(shop: RunningShop) -> None:
    response = httpx.post(
        f"{shop.url}/admin/oauth/access_token",
        data={"client_id": CLIENT_ID, "client_secret": SECRET, "grant_type": "client_credentials"},
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "scope", "expires_in"}
    assert body["expires_in"] == 86399
    assert body["access_token"].startswith("shpat_")
    answer = Api(shop, body["access_token"]).data(QUERY["query"])
    assert answer == {"locations": {"nodes": [{"name": "Shop location"}]}}


def test_a_json_grant_works_too(shop: RunningShop) -> None:
    response = httpx.post(
        f"{shop.url}/admin/oauth/access_token",
        json={"client_id": CLIENT_ID, "client_secret": SECRET, "grant_type": "client_credentials"},
    )
    assert response.status_code == 200
    assert response.json()["access_token"].startswith("shpat_")


def test_wrong_client_credentials_get_no_token(shop: RunningShop) -> None:
    url = f"{shop.url}/admin/oauth/access_token"
    wrong = httpx.post(
        url, data={"client_id": CLIENT_ID, "client_secret": "x", "grant_type": "client_credentials"}
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    grant = httpx.post(
        url, data={"client_id": CLIENT_ID, "client_secret": SECRET, "grant_type": "password"}
    )
    assert grant.status_code == 400
    assert grant.json()["error"] == "unsupported_grant_type"


def test_graphql_without_or_with_a_wrong_token_is_401(shop: RunningShop) -> None:
    missing = httpx.post(shop.graphql_url, json=QUERY)
    assert missing.status_code == 401
    assert missing.json() == INVALID
    wrong = httpx.post(
        shop.graphql_url, json=QUERY, headers={"X-Shopify-Access-Token": "shpat_nope"}
    )
    assert wrong.status_code == 401
    assert wrong.json() == INVALID


def test_a_token_expires_after_the_configured_lifetime(api: Api, shop: RunningShop) -> None:
    api.control("POST", "settings", {"token_lifetime_s": 1.5})
    short = Api(shop, get_token(shop))
    assert short.post(QUERY["query"]).status_code == 200
    wait_for(lambda: short.post(QUERY["query"]).status_code == 401, what="the token to expire")
    assert short.post(QUERY["query"]).json() == INVALID
    assert api.post(QUERY["query"]).status_code == 200  # a 24 h token is still good


def test_expiring_all_tokens_forces_a_new_grant(api: Api, shop: RunningShop) -> None:
    api.control("POST", "tokens/expire")
    assert api.post(QUERY["query"]).status_code == 401
    assert Api(shop, get_token(shop)).post(QUERY["query"]).status_code == 200
