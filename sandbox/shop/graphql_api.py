"""The Admin API's HTTP side: ``POST /admin/oauth/access_token`` and
``POST /admin/api/2026-10/graphql.json`` (access token, parse, validate, cost and bucket,
execute, refund, ``extensions.cost``)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from graphql import GraphQLError, execute_sync, parse, validate
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .auth import INVALID_TOKEN
from .cost import MAX_QUERY_COST, actual_cost, requested_cost
from .schema import API_VERSION

if TYPE_CHECKING:
    from .emulator import ShopEmulator

AUTH_HEADER = "X-Shopify-Access-Token"
RATE_LIMITS_DOC = "https://shopify.dev/api/usage/rate-limits"
BAD_PARAMETER: dict[str, Any] = {"errors": {"query": "Required parameter missing or invalid"}}


def _json(body: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={"X-Shopify-API-Version": API_VERSION})


async def _params(request: Request) -> dict[str, Any]:
    """Form or JSON body of the token request; the query string fills in what it lacks."""
    raw = await request.body()
    params: dict[str, Any] = dict(request.query_params)
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        if isinstance(body, dict):
            params.update(body)
    else:
        params.update(parse_qsl(raw.decode("utf-8", "replace")))
    return params


class AdminApi:
    def __init__(self, shop: ShopEmulator) -> None:
        self.shop = shop

    async def access_token(self, request: Request) -> Response:
        status, body = self.shop.auth.grant(await _params(request))
        return JSONResponse(body, status_code=status)

    async def graphql(self, request: Request) -> Response:
        if request.path_params.get("version") != API_VERSION:
            return JSONResponse({"errors": "Not Found"}, status_code=404)
        if not self.shop.auth.valid(request.headers.get(AUTH_HEADER)):
            return _json(INVALID_TOKEN, 401)
        parsed = await _graphql_request(request)
        if parsed is None:
            return _json(BAD_PARAMETER, 400)
        query, variables, operation = parsed
        return _json(await run_in_threadpool(self.run, query, variables, operation))

    def _cost(self, requested: int, actual: int | None) -> dict[str, Any]:
        return {
            "cost": {
                "requestedQueryCost": requested,
                "actualQueryCost": actual,
                "throttleStatus": self.shop.bucket.status(),
            }
        }

    def run(
        self, query: str, variables: dict[str, Any] | None, operation: str | None
    ) -> dict[str, Any]:
        """The JSON answer to one GraphQL request (HTTP 200 whatever it says)."""
        schema = self.shop.schema
        try:
            document = parse(query)
        except GraphQLError as syntax:
            return {"errors": [syntax.formatted], "extensions": self._cost(0, 0)}
        invalid = validate(schema, document)
        if invalid:
            return {"errors": [e.formatted for e in invalid], "extensions": self._cost(0, 0)}
        requested = requested_cost(schema, document, operation, variables)
        if requested > MAX_QUERY_COST:
            error = {
                "message": f"Query cost is {requested}, which exceeds the single query max cost"
                f" limit ({MAX_QUERY_COST}).",
                "extensions": {
                    "code": "MAX_COST_EXCEEDED",
                    "cost": requested,
                    "maxCost": MAX_QUERY_COST,
                },
            }
            return {"errors": [error], "extensions": self._cost(requested, None)}
        if not self.shop.bucket.try_take(requested):
            error = {
                "message": "Throttled",
                "extensions": {"code": "THROTTLED", "documentation": RATE_LIMITS_DOC},
            }
            return {"errors": [error], "extensions": self._cost(requested, None)}
        result = execute_sync(
            schema,
            document,
            context_value=self.shop,
            variable_values=variables,
            operation_name=operation,
        )
        actual = min(requested, actual_cost(schema, document, operation, variables, result.data))
        self.shop.bucket.refund(requested - actual)
        answer: dict[str, Any] = {}
        if result.errors:
            answer["errors"] = [e.formatted for e in result.errors]
        answer["data"] = result.data
        answer["extensions"] = self._cost(requested, actual)
        return answer


async def _graphql_request(
    request: Request,
) -> tuple[str, dict[str, Any] | None, str | None] | None:
    raw = await request.body()
    if request.headers.get("content-type", "").startswith("application/graphql"):
        return raw.decode("utf-8", "replace"), None, None
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return None
    variables = body.get("variables")
    operation = body.get("operationName")
    if variables is not None and not isinstance(variables, dict):
        return None
    return body["query"], variables, operation if isinstance(operation, str) else None
