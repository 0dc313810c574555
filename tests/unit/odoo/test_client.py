"""OdooClient over a scripted Odoo: protocol choice, wire shapes, conveniences, secrets."""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from ferry.errors import ConfigError, FerryError, Rejected
from ferry.odoo import ExternalId, OdooClient, OdooProtocolDeprecationWarning
from ferry.odoo import client as client_module
from ferry.odoo.client import ExternalIdWinner, ProtocolChoice
from ferry.odoo.protocols import json2_params
from ferry.odoo.settings import OdooSystem
from ferry.secrets import SecretRef
from tests.unit.consumers.odoo.mini_odoo import MiniOdoo

from .fake import KEY, UID, URL, FakeOdoo


@pytest.fixture(autouse=True)
def _forget_warnings() -> None:
    client_module._warned.clear()


def make(fake: FakeOdoo, protocol: ProtocolChoice = "auto", url: str = URL) -> OdooClient:
    return OdooClient(url, "ferry", "admin", KEY, protocol=protocol, http=fake.client())


# -- protocol selection ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("server", "protocol"),
    [
        ("17.0", "jsonrpc"),
        ("18.0-20250702", "jsonrpc"),
        ("saas~18.4+e", "jsonrpc"),
        ("19.0", "json2"),
    ],
)
async def test_auto_picks_the_protocol_from_common_version(server: str, protocol: str) -> None:
    fake = FakeOdoo(server_version=server)
    odoo = make(fake)
    assert await odoo.protocol_in_use() == protocol
    assert (await odoo.version()).raw == server
    assert [json.loads(r.content)["params"]["method"] for r in fake.requests] == ["version"]


async def test_forced_json2_never_asks_the_version() -> None:
    fake = FakeOdoo(server_version="19.0", replies={("res.partner", "search"): [1]})
    odoo = make(fake, "json2")
    assert await odoo.search("res.partner") == [1]
    assert [r.url.path for r in fake.requests] == ["/json/2/res.partner/search"]


async def test_forced_jsonrpc_on_19_warns_once_per_server(caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeOdoo(server_version="19.0", replies={("res.partner", "search"): [1]})
    caplog.set_level(logging.WARNING, logger="ferry.odoo")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            odoo = make(fake, "jsonrpc")
            await odoo.search("res.partner")
            await odoo.search("res.partner")
    deprecations = [w for w in caught if issubclass(w.category, OdooProtocolDeprecationWarning)]
    assert len(deprecations) == 1
    assert "JSON-RPC" in str(deprecations[0].message)
    assert len([r for r in caplog.records if "deprecates JSON-RPC" in r.message]) == 1
    assert all(r.url.path == "/jsonrpc" for r in fake.requests)


async def test_no_warning_on_17_or_with_json2() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", OdooProtocolDeprecationWarning)
        await make(FakeOdoo("17.0"), "jsonrpc").execute_kw("res.partner", "search", [[]])
        await make(FakeOdoo("19.0"), "auto").execute_kw("res.partner", "search", [[]])


def test_unknown_protocol_is_refused() -> None:
    with pytest.raises(ValueError, match="protocol"):
        OdooClient(URL, "ferry", "admin", KEY, protocol="xmlrpc")  # type: ignore[arg-type]


# -- JSON-RPC wire shape --------------------------------------------------------------------


async def test_jsonrpc_shapes_and_single_authentication() -> None:
    fake = FakeOdoo("17.0", replies={("res.partner", "search"): [3, 4]})
    odoo = make(fake)
    assert await odoo.authenticate() == UID
    assert await odoo.search("res.partner", [("is_company", "=", True)], limit=5) == [3, 4]
    assert await odoo.search("res.partner", []) == [3, 4]
    bodies = [json.loads(r.content) for r in fake.requests]
    assert [b["params"]["method"] for b in bodies] == [
        "version",
        "authenticate",
        "execute_kw",
        "execute_kw",
    ]
    for request, body in zip(fake.requests, bodies, strict=True):
        assert request.method == "POST"
        assert request.url.path == "/jsonrpc"
        assert request.headers["content-type"] == "application/json"
        assert body["jsonrpc"] == "2.0"
        assert body["method"] == "call"
        assert isinstance(body["id"], int)
    assert bodies[1]["params"] == {
        "service": "common",
        "method": "authenticate",
        "args": ["ferry", "admin", KEY, {}],
    }
    assert bodies[2]["params"]["service"] == "object"
    assert bodies[2]["params"]["args"] == [
        "ferry",
        UID,
        KEY,
        "res.partner",
        "search",
        [[["is_company", "=", True]]],
        {"limit": 5},
    ]


async def test_jsonrpc_conveniences() -> None:
    created: list[Any] = []

    def create(params: dict[str, Any]) -> Any:
        vals = params["args"][0]
        created.append(vals)
        return list(range(10, 10 + len(vals))) if isinstance(vals, list) else 9

    fake = FakeOdoo(
        "18.0",
        replies={
            ("res.partner", "create"): create,
            ("res.partner", "search_read"): [{"id": 1, "name": "A"}],
            ("res.partner", "read"): [{"id": 1, "name": "A"}],
        },
    )
    odoo = make(fake)
    ctx = {"tracking_disable": True}
    assert await odoo.create("res.partner", {"name": "A"}, context=ctx) == 9
    assert await odoo.create("res.partner", [{"name": "B"}, {"name": "C"}]) == [10, 11]
    assert await odoo.create("res.partner", []) == []
    rows = await odoo.search_read("res.partner", [("id", "=", 1)], ["name"], limit=1, order="id")
    assert rows == [{"id": 1, "name": "A"}]
    assert await odoo.read("res.partner", [1], ["name"]) == [{"id": 1, "name": "A"}]
    assert await odoo.write("res.partner", [1], {"name": "Z"}) is True
    assert await odoo.unlink("res.partner", [1]) is True
    calls = [c[3:] for c in fake.execute_kw_calls()]
    assert calls == [
        ["res.partner", "create", [{"name": "A"}], {"context": ctx}],
        ["res.partner", "create", [[{"name": "B"}, {"name": "C"}]], {}],
        [
            "res.partner",
            "search_read",
            [],
            {"domain": [["id", "=", 1]], "fields": ["name"], "limit": 1, "order": "id"},
        ],
        ["res.partner", "read", [[1]], {"fields": ["name"]}],
        ["res.partner", "write", [[1], {"name": "Z"}], {}],
        ["res.partner", "unlink", [[1]], {}],
    ]


async def test_method_returning_none_omits_result() -> None:
    fake = FakeOdoo("17.0", replies={("sale.order", "action_noop"): None})
    assert await make(fake).execute_kw("sale.order", "action_noop", [[1]]) is None


# -- JSON-2 wire shape ----------------------------------------------------------------------


async def test_json2_shapes() -> None:
    fake = FakeOdoo(
        "19.0",
        replies={
            ("res.partner", "create"): lambda p: (
                list(range(20, 20 + len(p["vals_list"])))
                if isinstance(p["vals_list"], list)
                else [7]
            ),
            ("res.partner", "search_read"): [{"id": 7, "name": "A"}],
            ("res.partner", "read"): [{"id": 7, "name": "A"}],
            ("res.partner", "search"): [7],
            ("sale.order", "action_confirm"): True,
        },
    )
    odoo = make(fake, "json2")
    ctx = {"lang": "en_US"}
    assert await odoo.create("res.partner", {"name": "A"}, context=ctx) == 7
    assert await odoo.create("res.partner", [{"name": "B"}, {"name": "C"}]) == [20, 21]
    assert await odoo.search("res.partner", [("name", "=", "A")], offset=2, limit=1) == [7]
    assert await odoo.search_read("res.partner", [], ["name"]) == [{"id": 7, "name": "A"}]
    assert await odoo.read("res.partner", [7], ["name"]) == [{"id": 7, "name": "A"}]
    assert await odoo.write("res.partner", [7], {"name": "Z"}) is True
    assert await odoo.unlink("res.partner", [7]) is True
    assert await odoo.execute_kw("sale.order", "action_confirm", [[5]], {"context": ctx}) is True

    for request in fake.requests:
        assert request.method == "POST"
        assert request.headers["authorization"] == f"bearer {KEY}"
        assert request.headers["x-odoo-database"] == "ferry"
        assert request.headers["content-type"] == "application/json"
    assert [(r.url.path, b) for r, b in zip(fake.requests, fake.bodies, strict=True)] == [
        ("/json/2/res.partner/create", {"vals_list": {"name": "A"}, "context": ctx}),
        ("/json/2/res.partner/create", {"vals_list": [{"name": "B"}, {"name": "C"}]}),
        (
            "/json/2/res.partner/search",
            {"domain": [["name", "=", "A"]], "offset": 2, "limit": 1},
        ),
        ("/json/2/res.partner/search_read", {"domain": [], "fields": ["name"]}),
        ("/json/2/res.partner/read", {"ids": [7], "fields": ["name"]}),
        ("/json/2/res.partner/write", {"ids": [7], "vals": {"name": "Z"}}),
        ("/json/2/res.partner/unlink", {"ids": [7]}),
        ("/json/2/sale.order/action_confirm", {"ids": [5], "context": ctx}),
    ]


async def test_json2_authenticate_uses_context_get() -> None:
    fake = FakeOdoo("19.0", replies={("res.users", "context_get"): {"uid": 6, "lang": "en_US"}})
    odoo = make(fake, "json2")
    assert await odoo.authenticate() == 6
    assert await odoo.authenticate() == 6
    assert len(fake.requests) == 1


async def test_json2_authenticate_falls_back_to_the_login() -> None:
    fake = FakeOdoo("19.0", replies={("res.users", "search"): [4]})
    inner = fake.handle

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/context_get"):
            body = {"name": "werkzeug.exceptions.NotFound", "message": "no such method"}
            return httpx.Response(404, json=body)
        return inner(request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handle))
    odoo = OdooClient(URL, "ferry", "admin", KEY, protocol="json2", http=http)
    assert await odoo.authenticate() == 4
    assert fake.bodies[-1] == {"domain": [["login", "=", "admin"]]}


def test_json2_params_names_positional_arguments() -> None:
    assert json2_params("search", [[("a", "=", 1)], 0, 10, "id"], {}) == {
        "domain": [("a", "=", 1)],
        "offset": 0,
        "limit": 10,
        "order": "id",
    }
    assert json2_params("load", [["id", "name"], [["x.y", "N"]]], {}) == {
        "fields": ["id", "name"],
        "data": [["x.y", "N"]],
    }
    assert json2_params("read", [[1, 2]], {"fields": ["name"]}) == {
        "ids": [1, 2],
        "fields": ["name"],
    }
    assert json2_params("action_confirm", [7], {}) == {"ids": [7]}
    assert json2_params("fields_get", [], {"attributes": ["type"]}) == {"attributes": ["type"]}
    with pytest.raises(TypeError, match="by keyword"):
        json2_params("action_cancel", [[1], "extra"], {})
    with pytest.raises(TypeError, match="record ids"):
        json2_params("action_cancel", [{"not": "ids"}], {})
    with pytest.raises(TypeError, match="twice"):
        json2_params("search", [[]], {"domain": []})


# -- load and external ids ------------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["jsonrpc", "json2"])
async def test_load_returns_ids(protocol: ProtocolChoice) -> None:
    reply = {"ids": [4, 5], "messages": [{"type": "warning", "message": "meh"}], "nextrow": 0}
    fake = FakeOdoo(
        "19.0" if protocol == "json2" else "17.0", replies={("res.partner", "load"): reply}
    )
    odoo = make(fake, protocol)
    assert await odoo.load("res.partner", ["id", "name"], [["ferry.a", "A"], ["ferry.b", "B"]]) == [
        4,
        5,
    ]


async def test_load_errors_name_row_and_field() -> None:
    reply = {
        "ids": False,
        "messages": [
            {
                "type": "error",
                "message": "Missing required value for the field 'Name'",
                "field": "name",
                "rows": {"from": 1, "to": 1},
                "record": 1,
            }
        ],
    }
    odoo = make(FakeOdoo("17.0", replies={("res.partner", "load"): reply}))
    with pytest.raises(Rejected) as info:
        await odoo.load("res.partner", ["id", "name"], [["ferry.a", "A"], ["ferry.b", ""]])
    assert "row 1" in str(info.value)
    assert "field name" in str(info.value)
    assert "rolled back" in str(info.value)
    assert info.value.field == "name"


async def test_xmlid_lookup() -> None:
    row = {"id": 31, "module": "ferry", "name": "shop_1", "model": "res.partner", "res_id": 8}
    fake = FakeOdoo("17.0", replies={("ir.model.data", "search_read"): [row]})
    found = await make(fake).xmlid_lookup("ferry", "shop_1")
    assert found == ExternalId("ferry", "shop_1", "res.partner", 8, 31)
    assert found.xmlid == "ferry.shop_1"
    (call,) = fake.execute_kw_calls()
    assert call[3:5] == ["ir.model.data", "search_read"]
    assert call[6]["domain"] == [["module", "=", "ferry"], ["name", "=", "shop_1"]]
    assert call[6]["limit"] == 1


async def test_upsert_writes_when_the_xmlid_exists() -> None:
    row = {"id": 31, "module": "ferry", "name": "shop_1", "model": "res.partner", "res_id": 8}
    fake = FakeOdoo("17.0", replies={("ir.model.data", "search_read"): [row]})
    assert await make(fake).upsert_by_xmlid("res.partner", "ferry", "shop_1", {"name": "A"}) == 8
    assert [c[3:6] for c in fake.execute_kw_calls()][1] == [
        "res.partner",
        "write",
        [[8], {"name": "A"}],
    ]


async def test_upsert_creates_record_and_xmlid() -> None:
    fake = FakeOdoo(
        "17.0",
        replies={
            ("ir.model.data", "search_read"): [],
            ("res.partner", "create"): 12,
            ("ir.model.data", "create"): 40,
        },
    )
    assert await make(fake).upsert_by_xmlid("res.partner", "ferry", "shop_2", {"name": "B"}) == 12
    calls = [c[3:6] for c in fake.execute_kw_calls()]
    assert calls[1:] == [
        ["res.partner", "create", [{"name": "B"}]],
        [
            "ir.model.data",
            "create",
            [{"module": "ferry", "name": "shop_2", "model": "res.partner", "res_id": 12}],
        ],
    ]


async def test_upsert_refuses_an_xmlid_of_another_model() -> None:
    row = {"id": 31, "module": "ferry", "name": "x", "model": "product.product", "res_id": 8}
    fake = FakeOdoo("17.0", replies={("ir.model.data", "search_read"): [row]})
    with pytest.raises(Rejected, match=r"product\.product"):
        await make(fake).upsert_by_xmlid("res.partner", "ferry", "x", {"name": "A"})


async def test_upsert_race_loser_removes_its_orphan_and_writes_to_the_winner() -> None:
    lookups = iter([[], [{"id": 1, "model": "res.partner", "res_id": 5}]])

    fake = FakeOdoo(
        "17.0",
        replies={
            ("ir.model.data", "search_read"): lambda p: next(lookups),
            ("res.partner", "create"): 12,
        },
    )
    transport_handle = fake.handle

    def handle(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        args = body["params"]["args"]
        if body["params"]["method"] == "execute_kw" and args[3:5] == ["ir.model.data", "create"]:
            error = {
                "code": 200,
                "message": "Odoo Server Error",
                "data": {
                    "name": "odoo.exceptions.ValidationError",
                    "message": "The operation cannot be completed: duplicate key",
                },
            }
            return httpx.Response(200, json={"jsonrpc": "2.0", "id": 1, "error": error})
        return transport_handle(request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handle))
    odoo = OdooClient(URL, "ferry", "admin", KEY, http=http)
    assert await odoo.upsert_by_xmlid("res.partner", "ferry", "s", {"name": "A"}) == 5
    calls = [c[3:6] for c in fake.execute_kw_calls()]
    assert ["res.partner", "unlink", [[12]]] in calls
    assert ["res.partner", "write", [[5], {"name": "A"}]] in calls


def xmlid_rows(odoo: MiniOdoo) -> list[tuple[str, str, str, int]]:
    return [(r["module"], r["name"], r["model"], r["res_id"]) for r in odoo.rows("ir.model.data")]


async def test_create_with_xmlid_won_creates_the_record_and_its_xmlid() -> None:
    odoo = MiniOdoo()
    winner = await odoo.client().create_with_xmlid("res.partner", "ferry", "p1", {"name": "A"})
    [partner] = odoo.rows("res.partner")
    assert winner == ExternalIdWinner(res_id=partner["id"], orphan=None)
    assert winner.ours
    assert partner["name"] == "A"
    assert xmlid_rows(odoo) == [("ferry", "p1", "res.partner", partner["id"])]
    assert odoo.calls == [("res.partner", "create"), ("ir.model.data", "create")]


async def test_create_with_xmlid_lost_removes_its_orphan_and_names_the_winner() -> None:
    odoo = MiniOdoo()
    # Another writer created the record and registered the external id first.
    first = odoo.insert("res.partner", {"name": "First"})
    odoo.insert(
        "ir.model.data", {"module": "ferry", "name": "p1", "model": "res.partner", "res_id": first}
    )
    winner = await odoo.client().create_with_xmlid("res.partner", "ferry", "p1", {"name": "B"})
    assert not winner.ours
    assert winner.res_id == first
    assert winner.orphan is not None
    assert winner.orphan != first
    assert [(r["id"], r["name"]) for r in odoo.rows("res.partner")] == [(first, "First")]
    assert xmlid_rows(odoo) == [("ferry", "p1", "res.partner", first)]
    assert odoo.calls == [
        ("res.partner", "create"),
        ("ir.model.data", "create"),
        ("ir.model.data", "search_read"),
        ("res.partner", "unlink"),
    ]


async def test_create_with_xmlid_raises_when_the_xmlid_names_another_model() -> None:
    odoo = MiniOdoo()
    odoo.insert(
        "ir.model.data", {"module": "ferry", "name": "p1", "model": "product.product", "res_id": 1}
    )
    with pytest.raises(Rejected, match="duplicate key"):
        await odoo.client().create_with_xmlid("res.partner", "ferry", "p1", {"name": "B"})
    assert [r["name"] for r in odoo.rows("res.partner")] == ["B"]  # not the race: left as is
    assert ("res.partner", "unlink") not in odoo.calls


async def test_register_xmlid_returns_the_row_id() -> None:
    odoo = MiniOdoo()
    client = odoo.client()
    row_id = await client.register_xmlid("res.partner", "ferry", "p9", 7)
    assert [r["id"] for r in odoo.rows("ir.model.data")] == [row_id]
    assert await client.xmlid_lookup("ferry", "p9") == ExternalId(
        "ferry", "p9", "res.partner", 7, row_id
    )
    with pytest.raises(Rejected):
        await client.register_xmlid("res.partner", "ferry", "p9", 8)


# -- secrets and lifecycle ------------------------------------------------------------------


@pytest.mark.parametrize("key", [KEY, SecretStr(KEY)], ids=["str", "SecretStr"])
async def test_api_key_never_shown(key: str | SecretStr, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "id": 1,
                "error": {
                    "data": {"message": "Access Denied", "name": "odoo.exceptions.AccessDenied"}
                },
            },
        )

    http = httpx.AsyncClient(transport=httpx.MockTransport(handle))
    odoo = OdooClient(URL, "ferry", "admin", key, http=http, protocol="jsonrpc")
    assert KEY not in repr(odoo)
    assert KEY not in str(odoo)
    assert KEY not in repr(vars(odoo))
    with pytest.raises(FerryError) as info:
        await odoo.authenticate()
    assert KEY not in str(info.value)
    assert KEY not in repr(info.value)
    assert KEY not in caplog.text


async def test_owned_client_is_closed_and_injected_one_is_not() -> None:
    async with OdooClient(URL, "ferry", "admin", KEY, timeout=5) as owned:
        http = owned._http
    assert http.is_closed
    injected = httpx.AsyncClient(transport=FakeOdoo().transport())
    async with OdooClient(URL, "ferry", "admin", KEY, http=injected):
        pass
    assert not injected.is_closed
    await injected.aclose()


@pytest.fixture
async def odoo17() -> AsyncIterator[OdooClient]:
    async with make(FakeOdoo("17.0")) as client:
        yield client


async def test_concurrent_first_calls_authenticate_once(odoo17: OdooClient) -> None:
    import asyncio

    fake = FakeOdoo("17.0", replies={("res.partner", "search"): []})
    odoo = make(fake)
    await asyncio.gather(*(odoo.search("res.partner") for _ in range(5)))
    methods = [json.loads(r.content)["params"]["method"] for r in fake.requests]
    assert methods.count("version") == 1
    assert methods.count("authenticate") == 1


def test_from_settings_resolves_the_key_reference() -> None:
    settings = OdooSystem(
        url="http://odoo.test/", api_key=SecretRef("env", "TEST_ODOO_KEY"), protocol="json2"
    )
    odoo = OdooClient.from_settings(settings, environ={"TEST_ODOO_KEY": KEY})
    assert (odoo.url, odoo.database, odoo.login, odoo.protocol) == (
        URL,
        "ferry",
        "admin",
        "json2",
    )
    assert odoo._key.get_secret_value() == KEY
    with pytest.raises(ConfigError) as info:
        OdooClient.from_settings(settings, environ={})
    assert info.value.key == "odoo.api_key"


@pytest.mark.parametrize("protocol", ["json2", "jsonrpc"])
async def test_an_answer_that_echoes_the_request_never_shows_the_key(
    protocol: ProtocolChoice, caplog: pytest.LogCaptureFixture
) -> None:
    """A proxy (or server) that answers 200 with the request it got, key and all."""
    caplog.set_level(logging.DEBUG)
    version = "19.0" if protocol == "json2" else "17.0"
    fake = FakeOdoo(version)

    def handle(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content or b"{}")
        params = body.get("params", {}) if isinstance(body, dict) else {}
        if params.get("service") == "common" or request.url.path.endswith("context_get"):
            return fake.handle(request)
        echo = {"authorization": request.headers.get("authorization"), "body": body}
        return httpx.Response(200, json=echo if protocol == "json2" else {"result": echo})

    http = httpx.AsyncClient(transport=httpx.MockTransport(handle))
    odoo = OdooClient(URL, "ferry", "admin", KEY, protocol=protocol, http=http)
    with pytest.raises(FerryError) as caught:
        await odoo.search_read("res.partner", [], ["name"])
    assert "unexpected answer" in str(caught.value)
    assert KEY not in str(caught.value)
    assert KEY not in caplog.text


async def test_create_with_xmlid_keeps_its_record_when_another_writer_adopted_it() -> None:
    """A second sink instance found our fresh record by its stamp and registered the external
    id for it before we could: the winner is our own record, which must stay."""
    odoo = MiniOdoo()

    def adopted(new_id: Any) -> None:
        odoo.insert(
            "ir.model.data",
            {"module": "ferry", "name": "p1", "model": "res.partner", "res_id": new_id},
        )

    odoo.after[("res.partner", "create")] = adopted
    winner = await odoo.client().create_with_xmlid("res.partner", "ferry", "p1", {"name": "A"})
    [partner] = odoo.rows("res.partner")
    assert winner == ExternalIdWinner(res_id=partner["id"], orphan=None)
    assert xmlid_rows(odoo) == [("ferry", "p1", "res.partner", partner["id"])]
    assert ("res.partner", "unlink") not in odoo.calls
