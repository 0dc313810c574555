"""OdooClient against the Odoo emulator (``python -m sandbox.odoo``) in a subprocess:
JSON-RPC for 17.0 / 18.0, JSON-2 for 19.0."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import AsyncIterator, Iterator

import pytest

from ferry.errors import AuthenticationError, Rejected, Unavailable
from ferry.odoo import OdooClient, OdooProtocolDeprecationWarning
from ferry.odoo import client as client_module
from tests.support.platform import free_port

from .emulator import DATABASE, LOGIN, Emulator, available, running

VERSIONS = ["17.0", "18.0", "19.0"]


@pytest.fixture(scope="module", params=VERSIONS)
def emulator(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    if not available():
        pytest.skip("the Odoo emulator (python -m sandbox.odoo) is not there yet")
    with running(request.param) as emu:
        yield emu


@pytest.fixture
async def odoo(emulator: Emulator) -> AsyncIterator[OdooClient]:
    async with OdooClient(emulator.url, DATABASE, LOGIN, emulator.api_key, timeout=10) as client:
        yield client


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


async def test_version_and_protocol(odoo: OdooClient, emulator: Emulator) -> None:
    version = await odoo.version()
    assert version.major == int(emulator.odoo_version.split(".")[0])
    expected = "json2" if version.major >= 19 else "jsonrpc"
    assert await odoo.protocol_in_use() == expected


async def test_authenticate(odoo: OdooClient) -> None:
    uid = await odoo.authenticate()
    assert isinstance(uid, int)
    assert uid > 0
    assert await odoo.authenticate() == uid


async def test_crud_round_trip(odoo: OdooClient) -> None:
    name = unique("Ada")
    pid = await odoo.create("res.partner", {"name": name, "email": "ada@example.com"})
    assert isinstance(pid, int)
    assert await odoo.search("res.partner", [("name", "=", name)]) == [pid]
    (row,) = await odoo.read("res.partner", [pid], ["name", "email"])
    assert (row["id"], row["name"], row["email"]) == (pid, name, "ada@example.com")
    assert await odoo.write("res.partner", [pid], {"email": "ada@shop.example"})
    rows = await odoo.search_read("res.partner", [("id", "=", pid)], ["email"])
    assert rows == [{"id": pid, "email": "ada@shop.example"}]
    assert await odoo.unlink("res.partner", [pid])
    assert await odoo.read("res.partner", [pid], ["name"]) == []


async def test_batched_create_returns_ids_in_order(odoo: OdooClient) -> None:
    names = [unique("batch") for _ in range(5)]
    ids = await odoo.create("res.partner", [{"name": n} for n in names])
    assert len(ids) == 5
    rows = await odoo.read("res.partner", ids, ["name"])
    assert [r["name"] for r in sorted(rows, key=lambda r: ids.index(r["id"]))] == names


async def test_search_with_limit_offset_order(odoo: OdooClient) -> None:
    tag = unique("ordered")
    ids = await odoo.create("res.partner", [{"name": f"{tag}_{i}"} for i in range(4)])
    found = await odoo.search(
        "res.partner", [("name", "like", tag)], offset=1, limit=2, order="id desc"
    )
    assert found == sorted(ids, reverse=True)[1:3]


async def test_business_errors_are_rejected(odoo: OdooClient) -> None:
    with pytest.raises(Rejected):
        await odoo.execute_kw("no.such.model", "search", [[]])
    with pytest.raises(Rejected):
        await odoo.execute_kw("res.partner", "no_such_method", [[1]])
    with pytest.raises(Rejected):
        await odoo.execute_kw("res.partner", "_private", [[1]])
    with pytest.raises(Rejected):
        await odoo.write("res.partner", [999_999_999], {"name": "ghost"})


async def test_wrong_key_is_an_authentication_error(emulator: Emulator) -> None:
    wrong = "f" * 40
    async with OdooClient(emulator.url, DATABASE, LOGIN, wrong) as odoo:
        with pytest.raises(AuthenticationError) as info:
            await odoo.search("res.partner", [])
    assert wrong not in str(info.value)


async def test_upsert_by_xmlid_creates_then_updates(odoo: OdooClient) -> None:
    xml = unique("shop_customer")
    pid = await odoo.upsert_by_xmlid("res.partner", "ferry", xml, {"name": "First"})
    found = await odoo.xmlid_lookup("ferry", xml)
    assert found is not None
    assert (found.model, found.res_id) == ("res.partner", pid)
    again = await odoo.upsert_by_xmlid("res.partner", "ferry", xml, {"name": "Second"})
    assert again == pid
    (row,) = await odoo.read("res.partner", [pid], ["name"])
    assert row["name"] == "Second"
    assert await odoo.xmlid_lookup("ferry", unique("absent")) is None


async def test_load_creates_then_updates_by_xmlid(odoo: OdooClient) -> None:
    xmls = [f"ferry.{unique('load')}" for _ in range(3)]
    ids = await odoo.load("res.partner", ["id", "name"], [[x, f"v1 {x}"] for x in xmls])
    assert len(ids) == 3
    again = await odoo.load("res.partner", ["id", "name"], [[x, f"v2 {x}"] for x in xmls])
    assert again == ids
    rows = await odoo.read("res.partner", ids, ["name"])
    assert sorted(r["name"] for r in rows) == sorted(f"v2 {x}" for x in xmls)
    module, _, name = xmls[0].partition(".")
    found = await odoo.xmlid_lookup(module, name)
    assert found is not None
    assert found.res_id == ids[0]


async def test_load_error_rolls_back_the_batch(odoo: OdooClient) -> None:
    xmls = [f"ferry.{unique('bad')}" for _ in range(2)]
    with pytest.raises(Rejected, match="row"):
        await odoo.load(
            "res.partner", ["id", "name", "no_such_field"], [[x, "n", "v"] for x in xmls]
        )
    module, _, name = xmls[0].partition(".")
    assert await odoo.xmlid_lookup(module, name) is None


async def test_forced_jsonrpc_on_19_warns_once(emulator: Emulator) -> None:
    if emulator.odoo_version != "19.0":
        pytest.skip("JSON-RPC is deprecated from 19.0")
    client_module._warned.discard(emulator.url)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):
            async with OdooClient(
                emulator.url, DATABASE, LOGIN, emulator.api_key, protocol="jsonrpc"
            ) as odoo:
                assert await odoo.protocol_in_use() == "jsonrpc"
                await odoo.search("res.partner", [], limit=1)
    assert [w.category for w in caught].count(OdooProtocolDeprecationWarning) == 1


async def test_nothing_listening_is_unavailable() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    async with OdooClient(url, DATABASE, LOGIN, "k" * 40, timeout=2) as odoo:
        with pytest.raises(Unavailable):
            await odoo.version()
