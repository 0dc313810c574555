"""The bench flow: the shop-orders flow on topics of its own, and its :class:`FlowProcessor`.

A run declares it in a ``ferry.yaml`` of its own (:func:`config_text`), which the faust worker
runs and the other legs build their processor from, as the streams worker builds it.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from ferry.flow import Endpoint, Flow, System
from ferry.ownership import OwnershipGuard
from ferry.registry import Registry, load
from ferry.serde import SingleObjectSerde
from ferry.topics import sink, src
from streams.flows.shop_orders import FLOW as SHOP_ORDERS
from streams.processor import FlowProcessor


def topics_of(name: str) -> tuple[str, str]:
    """The bench flow ``name``'s source and target: ``src.<name>.orders``, ``sink.odoo.<name>``
    (``-`` spelled ``_``)."""
    part = name.replace("-", "_")
    return src(part, "orders"), sink("odoo", part)


def bench_flow(name: str) -> Flow:
    """The shop-orders flow named ``name`` on the topics of :func:`topics_of`; its source
    system is a copy of the shop named after the flow (a topic names its system)."""
    source, target = topics_of(name)
    shop: System[Any] = replace(SHOP_ORDERS.source.system, name=source.split(".")[1], cli=())
    return replace(
        SHOP_ORDERS,
        name=name,
        source=Endpoint(shop, SHOP_ORDERS.source.event_type, source),
        target=Endpoint(SHOP_ORDERS.target.system, SHOP_ORDERS.target.event_type, target),
        webhook=None,
    )


def config_text(name: str) -> str:
    """A ``ferry.yaml`` that runs only the bench flow ``name`` (the registered ones off)."""
    registered = [f.name for f in load(environ={}).flows]
    off = "".join(f"  {n}:\n    enabled: false\n" for n in registered)
    return f"flows:\n{off}  {name}:\n    use: bench.stream_legs.flow:bench_flow\n"


def build_processor(registry: Registry, flow: Flow, serde: SingleObjectSerde) -> FlowProcessor:
    """As :class:`streams.app.StreamsApp` builds the processor of ``flow``."""
    guard = OwnershipGuard.of_flows(registry.ownership, registry.enabled)
    max_future = timedelta(seconds=registry.settings.flow(flow.name).max_future_s)
    return FlowProcessor(flow, guard, serde, max_future=max_future)


def processor_of(config: Path, flow_name: str) -> FlowProcessor:
    """The processor of the flow ``flow_name`` declared in the ``ferry.yaml`` at ``config``."""
    registry = load(config)
    flow = next(f for f in registry.enabled if f.name == flow_name)
    return build_processor(registry, flow, registry.serde())


def leg_arguments(description: str) -> argparse.ArgumentParser:
    """The command line every leg takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--source", required=True, help="the input topic")
    parser.add_argument("--target", required=True, help="the output topic")
    parser.add_argument("--group", required=True, help="the consumer group")
    parser.add_argument("--config", type=Path, help="the ferry.yaml that declares --flow")
    parser.add_argument("--flow", help="the flow whose FlowProcessor.process each event takes")
    return parser
