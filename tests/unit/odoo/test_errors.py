"""Error translation: each Odoo exception name and each transport failure."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from ferry.errors import (
    AuthenticationError,
    ConfigError,
    FerryError,
    Rejected,
    Throttled,
    Unavailable,
)
from ferry.odoo import OdooClient, OdooFault
from ferry.odoo.client import ProtocolChoice
from ferry.odoo.errors import MalformedResponse, parse_retry_after, translate

from .fake import KEY, UID, URL, jsonrpc_error

Handler = Callable[[httpx.Request], httpx.Response]

BUSINESS = [
    ("odoo.exceptions.ValidationError", "The operation cannot be completed: name is required"),
    ("odoo.exceptions.UserError", "Object res.partnr doesn't exist"),
    (
        "odoo.exceptions.AccessError",
        "Private methods (such as '_foo') cannot be called remotely.",
    ),
    (
        "odoo.exceptions.MissingError",
        "Record does not exist or has been deleted.\n(Record: res.partner(99,), User: 2)",
    ),
    ("odoo.exceptions.RedirectWarning", "Configure a journal first"),
    ("builtins.AttributeError", "The method 'res.partner.foo' does not exist"),
    ("builtins.ValueError", "Invalid field 'nme' on model 'res.partner'"),
    ("builtins.KeyError", "'nme'"),
    ("builtins.TypeError", "create() takes 2 positional arguments but 3 were given"),
]
TRANSIENT = [
    ("psycopg2.errors.SerializationFailure", "could not serialize access"),
    ("psycopg2.extensions.TransactionRollbackError", "deadlock"),
    ("psycopg2.errors.LockNotAvailable", "could not obtain lock on row"),
    ("psycopg2.errors.DeadlockDetected", "deadlock detected"),
    ("odoo.exceptions.UserError", "could not serialize access due to concurrent update"),
    ("psycopg2.OperationalError", "could not serialize access due to concurrent update"),
    ("psycopg2.OperationalError", "server closed the connection unexpectedly"),
    ("odoo.sql_db.PoolError", "The Connection Pool Is Full"),
]


def jsonrpc_failing(payload: dict[str, Any]) -> Handler:
    """/jsonrpc: version 17.0 and authenticate succeed, execute_kw answers ``payload``."""

    def handle(request: httpx.Request) -> httpx.Response:
        body = httpx.Response(200, content=request.content).json()
        method = body["params"]["method"]
        if method == "version":
            return httpx.Response(200, json={"id": 1, "result": {"server_version": "17.0"}})
        if method == "authenticate":
            return httpx.Response(200, json={"id": 1, "result": UID})
        return httpx.Response(200, json=payload)

    return handle


def client_for(handler: Handler, protocol: ProtocolChoice = "jsonrpc") -> OdooClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return OdooClient(URL, "ferry", "admin", KEY, protocol=protocol, http=http)


async def fail(handler: Handler, protocol: ProtocolChoice = "jsonrpc") -> FerryError:
    client = client_for(handler, protocol)
    with pytest.raises(FerryError) as info:
        await client.execute_kw("res.partner", "create", [{"name": "x"}])
    error = info.value
    assert error.__cause__ is not None, "always raise ... from exc"
    assert KEY not in str(error)
    return error


@pytest.mark.parametrize(("name", "message"), BUSINESS)
async def test_jsonrpc_business_errors_are_rejected(name: str, message: str) -> None:
    error = await fail(jsonrpc_failing(jsonrpc_error(name, message)))
    assert type(error) is Rejected
    assert name in str(error)
    assert message in str(error)
    assert "res.partner.create" in str(error)
    assert "Traceback" not in str(error)
    assert isinstance(error.__cause__, OdooFault)
    assert error.__cause__.debug is not None  # kept on the cause for whoever logs it


@pytest.mark.parametrize(("name", "message"), BUSINESS)
async def test_json2_business_errors_are_rejected_with_status(name: str, message: str) -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        body = {"name": name, "message": message, "arguments": [message], "debug": "Traceback"}
        return httpx.Response(422, json=body)

    error = await fail(handle, "json2")
    assert type(error) is Rejected
    assert error.status == 422
    assert name in str(error)
    assert message in str(error)
    assert "Traceback" not in str(error)


@pytest.mark.parametrize(("name", "message"), TRANSIENT)
async def test_concurrency_failures_are_unavailable(name: str, message: str) -> None:
    error = await fail(jsonrpc_failing(jsonrpc_error(name, message)))
    assert type(error) is Unavailable


async def test_json2_serialization_failure_is_unavailable_with_retry_after() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        body = {"name": "psycopg2.errors.SerializationFailure", "message": "could not serialize"}
        return httpx.Response(500, json=body, headers={"Retry-After": "3"})

    error = await fail(handle, "json2")
    assert type(error) is Unavailable
    assert error.retry_after == 3.0


async def test_access_denied_is_authentication_error() -> None:
    error = await fail(
        jsonrpc_failing(jsonrpc_error("odoo.exceptions.AccessDenied", "Access Denied"))
    )
    assert type(error) is AuthenticationError
    assert "Access Denied" in str(error)


async def test_too_many_login_failures_is_throttled_for_the_cooldown() -> None:
    message = "Too many login failures, please wait a bit before trying again."
    error = await fail(jsonrpc_failing(jsonrpc_error("odoo.exceptions.AccessDenied", message)))
    assert type(error) is Throttled
    assert error.retry_after == 60.0


async def test_authenticate_false_is_authentication_error() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        method = httpx.Response(200, content=request.content).json()["params"]["method"]
        result: Any = {"server_version": "18.0"} if method == "version" else False
        return httpx.Response(200, json={"id": 1, "result": result})

    with pytest.raises(AuthenticationError, match="admin"):
        await client_for(handle).authenticate()


@pytest.mark.parametrize("status", [401, 403])
async def test_json2_401_403_is_authentication_error(status: int) -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"name": "werkzeug.exceptions.Unauthorized"})

    assert type(await fail(handle, "json2")) is AuthenticationError


async def test_json2_404_unknown_model_is_rejected() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        body = {"name": "werkzeug.exceptions.NotFound", "message": "the model does not exist"}
        return httpx.Response(404, json=body)

    error = await fail(handle, "json2")
    assert type(error) is Rejected
    assert error.status == 404


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ConnectError("connection refused"),
        httpx.ConnectTimeout("connect timed out"),
        httpx.ReadTimeout("read timed out"),
        httpx.PoolTimeout("pool exhausted"),
        httpx.RemoteProtocolError("server disconnected without sending a response"),
        httpx.ReadError("connection reset by peer"),
        httpx.WriteError("broken pipe"),
    ],
    ids=lambda e: type(e).__name__,
)
@pytest.mark.parametrize("protocol", ["jsonrpc", "json2"])
async def test_transport_failures_are_unavailable(
    exc: httpx.HTTPError, protocol: ProtocolChoice
) -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        raise exc

    error = await fail(handle, protocol)
    assert type(error) is Unavailable
    assert error.__cause__ is exc
    assert type(exc).__name__ in str(error)


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408])
@pytest.mark.parametrize("protocol", ["jsonrpc", "json2"])
async def test_5xx_is_unavailable_with_retry_after(status: int, protocol: ProtocolChoice) -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, text="<html>Bad Gateway</html>", headers={"Retry-After": "7"})

    error = await fail(handle, protocol)
    assert type(error) is Unavailable
    assert error.retry_after == 7.0


@pytest.mark.parametrize("protocol", ["jsonrpc", "json2"])
async def test_429_is_throttled_honouring_retry_after(protocol: ProtocolChoice) -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, text="slow down", headers={"Retry-After": "12"})

    error = await fail(handle, protocol)
    assert type(error) is Throttled
    assert error.retry_after == 12.0


@pytest.mark.parametrize("status", [400, 404, 405, 413])
async def test_other_4xx_is_rejected_with_status(status: int) -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, text="Invalid JSON data")

    error = await fail(handle)
    assert type(error) is Rejected
    assert error.status == status


@pytest.mark.parametrize(
    ("status", "kind", "cause"),
    [
        (200, Rejected, MalformedResponse),
        (502, Unavailable, httpx.HTTPStatusError),
        (503, Unavailable, MalformedResponse),
    ],
)
@pytest.mark.parametrize("protocol", ["jsonrpc", "json2"])
async def test_body_not_json(
    status: int, kind: type[FerryError], cause: type[Exception], protocol: ProtocolChoice
) -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        # 503 claims JSON but is not: a proxy's maintenance page with the wrong content type.
        headers = {"Content-Type": "application/json"} if status == 503 else {}
        return httpx.Response(status, text="<html>maintenance</html>", headers=headers)

    error = await fail(handle, protocol)
    assert type(error) is kind
    assert isinstance(error.__cause__, cause)


async def test_jsonrpc_answer_that_is_not_an_object_is_rejected() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=[1, 2])

    assert type(await fail(handle)) is Rejected


async def test_invalid_url_is_a_config_error() -> None:
    http = httpx.AsyncClient()
    client = OdooClient("ftp://odoo.test", "ferry", "admin", KEY, protocol="json2", http=http)
    with pytest.raises(ConfigError) as info:
        await client.execute_kw("res.partner", "search", [[]])
    assert info.value.key == "odoo.url"
    await http.aclose()


def test_fault_text_hides_the_traceback() -> None:
    fault = OdooFault("odoo.exceptions.UserError", "Nope", debug="Traceback …")
    assert str(fault) == "odoo.exceptions.UserError: Nope"
    assert "Traceback" not in str(translate(fault, "x.y"))


def test_translate_redacts_secrets() -> None:
    fault = OdooFault("odoo.exceptions.UserError", f"bad key {KEY}")
    assert KEY not in str(translate(fault, "x.y", redact=[KEY]))


def test_unknown_fault_name_without_status_is_rejected() -> None:
    assert type(translate(OdooFault("odoo.addons.foo.Boom", "?"), "x")) is Rejected
    assert type(translate(OdooFault("x.Y", "?", status=503), "x")) is Unavailable
    assert type(translate(OdooFault("x.Y", "?", code=404), "x")) is Rejected
    assert type(translate(OdooFault("odoo.http.SessionExpiredException", "?"), "x")) is (
        AuthenticationError
    )


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("5", 5.0),
        ("0", 0.0),
        ("-3", 0.0),
        ("1.5", 1.5),
        ("", None),
        (None, None),
        ("soon", None),
        ("Wed, 21 Oct 2015 07:28:10 GMT", 10.0),
    ],
)
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    now = 1445412480.0  # 2015-10-21 07:28:00 UTC
    assert parse_retry_after(header, now=now) == seconds
