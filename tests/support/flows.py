"""Test-only flows: the shop-orders flow's rules on topics of a test's own."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from ferry.flow import Endpoint, Flow, System
from ferry.registry import Registry, load
from ferry.stack import ServiceSpec
from ferry.topics import sink, src
from streams.flows.shop_orders import FLOW as SHOP_ORDERS

__all__ = ["depot_scans", "shop_orders_alone", "shop_orders_on", "topics_of"]


def shop_orders_alone(folder: Path, settings: str = "") -> Registry:
    """The registry of the shop-orders flow alone (the test registry's others left out), from
    a ``ferry.yaml`` written in ``folder``; ``settings`` is YAML put before its flows."""
    config = folder / "ferry.yaml"
    config.write_text(
        f"registry: tests.flows\n{settings}"
        "flows:\n  shop-orders-to-odoo:\n    use: streams.flows.shop_orders:FLOW\n",
        encoding="utf-8",
    )
    return load(config, environ={})


def topics_of(name: str) -> tuple[str, str]:
    """``src.<name>.orders`` and ``sink.odoo.<name>`` (``-`` spelled ``_``)."""
    part = name.replace("-", "_")
    return src(part, "orders"), sink("odoo", part)


def shop_orders_on(name: str) -> Flow:
    """The shop-orders flow named ``name`` on the topics of :func:`topics_of`.

    Its source system is a copy of the shop named after the flow (a topic names its system).
    """
    source, target = topics_of(name)
    shop = SHOP_ORDERS.source.system
    system: System[Any] = replace(shop, name=source.split(".")[1], cli=())
    return replace(
        SHOP_ORDERS,
        name=name,
        source=Endpoint(system, SHOP_ORDERS.source.event_type, source),
        target=Endpoint(SHOP_ORDERS.target.system, SHOP_ORDERS.target.event_type, target),
        webhook=None,
    )


def depot_scans(name: str) -> Flow:
    """The parcels flow from a system ``depot`` that runs a service of its own."""
    from tests.flows import parcels

    capture = ServiceSpec("depot-capture", ("capture", "depot"), 9200)
    depot: System[Any] = replace(
        parcels.CARRIER,
        name="depot",
        services=lambda settings, flows: [capture],
        service_ports={"depot-capture": 9200},
    )
    flow = parcels.FLOW
    return replace(
        flow,
        name=name,
        source=Endpoint(depot, flow.source.event_type, src("depot", "parcels")),
        target=Endpoint(flow.target.system, flow.target.event_type, sink("ledger", "depot")),
    )
