"""The whole platform (sandbox Odoo, gateway, streams, Odoo sink) against the test broker."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from consumers.runner import group_id
from ferry import dotenv
from ferry.registry import Registry, load
from ferry.stack import Stack
from ferry.topics import retry
from infra.kafka.ports import free_ports
from streams.app import APP_ID
from tests.support.kafka_read import skip_to_the_end

ROOT = Path(__file__).resolve().parents[2]
# What marks a line that went wrong: Ferry's formats (ferry.logs: "level=error" as key=value,
# '"level": "error"' as JSON, critical alike), a line of any other format that escaped them
# (" ERROR ", faust's own "[ERROR]"), and a traceback in any.
ERROR_MARKS = (
    "level=error",
    "level=critical",
    '"level": "error"',
    '"level": "critical"',
    " ERROR ",
    "[ERROR]",
    " CRITICAL ",
    "[CRITICAL]",
    "Traceback",
)


def free_port() -> int:
    """A free port no outgoing connection can take before a service binds it."""
    return free_ports(1)[0]


@dataclass
class Platform:
    stack: Stack
    bootstrap: str
    gateway_url: str
    shop_url: str
    odoo_url: str
    webhook_secret: str
    odoo_api_key: str
    env: dict[str, str]
    log_dir: Path
    ports: dict[str, int]
    console_url: str = ""
    console_token: str = ""


def logged_errors(log_dir: Path) -> list[str]:
    """Every line of every service's log under ``log_dir`` that holds an ERROR or a
    Traceback, as ``"<service>: <line>"``, in the order of the services' names."""
    return [
        f"{path.stem}: {line.strip()}"
        for path in sorted(log_dir.glob("*.log"))
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
        if any(mark in line for mark in ERROR_MARKS)
    ]


async def _start_at_the_end(bootstrap: str, registry: Registry) -> None:
    """The platform's consumer groups skip what the session's topics already hold: records
    earlier tests left unapplied, or parked for later, on the shared topics are not this
    platform's input (they would change the counts its tests take)."""
    await skip_to_the_end(bootstrap, APP_ID, sorted({f.source.topic for f in registry.enabled}))
    for flow in registry.sink_flows():
        topic = flow.target.topic
        await skip_to_the_end(bootstrap, group_id(flow.name), [topic, retry(topic)])


@contextmanager
def running_platform(
    bootstrap: str,
    state_dir: Path,
    *,
    config: Path | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[Platform]:
    """The platform on free ports; ``config`` is a ``ferry.yaml``, ``extra_env`` wins last."""
    secrets = dotenv.generate()
    names = ("odoo", "shop", "gateway", "streams", "sink", "capture", "shop_sink", "console")
    ports = {name: free_port() for name in names}
    env = {
        **os.environ,
        **secrets,
        "FERRY__KAFKA__BOOTSTRAP_SERVERS": bootstrap,
        "FERRY__SYSTEMS__ODOO__URL": f"http://127.0.0.1:{ports['odoo']}",
        "FERRY__SERVICES__GATEWAY__PORT": str(ports["gateway"]),
        "FERRY__SERVICES__STREAMS__PORT": str(ports["streams"]),
        "FERRY__SERVICES__ODOO_SINK__PORT": str(ports["sink"]),
        "FERRY__SYSTEMS__SHOP__URL": f"http://127.0.0.1:{ports['shop']}",
        "FERRY__SERVICES__ODOO_CAPTURE__PORT": str(ports["capture"]),
        "FERRY__SERVICES__SHOP_SINK__PORT": str(ports["shop_sink"]),
        "FERRY__SERVICES__CONSOLE__PORT": str(ports["console"]),
        "FERRY__SYSTEMS__ODOO__CAPTURE__INTERVAL_S": "1",
        "FERRY__SYSTEMS__ODOO__CAPTURE__MODELS": '["res.partner"]',
        "FERRY_SCHEMAS_DIR": str(ROOT / "schemas"),
    }
    env.pop("FERRY_CONFIG", None)
    if config is not None:
        env["FERRY_CONFIG"] = str(config)
    env.update(extra_env or {})
    registry = load(environ=env)
    asyncio.run(_start_at_the_end(bootstrap, registry))
    log_dir = state_dir / "log"
    stack = Stack(env=env, log_dir=log_dir, cwd=ROOT)
    try:
        stack.start_all(registry.services(state_dir))
        yield Platform(
            stack=stack,
            bootstrap=bootstrap,
            gateway_url=f"http://127.0.0.1:{ports['gateway']}/webhooks/shop",
            shop_url=f"http://127.0.0.1:{ports['shop']}",
            odoo_url=registry.system_settings("odoo").url,
            webhook_secret=secrets["FERRY_SHOP_WEBHOOK_SECRET"],
            odoo_api_key=secrets["FERRY_ODOO_API_KEY"],
            env=env,
            log_dir=log_dir,
            ports=ports,
            console_url=f"http://127.0.0.1:{ports['console']}",
            console_token=env["FERRY_CONSOLE_TOKEN"],
        )
    finally:
        stack.stop()
