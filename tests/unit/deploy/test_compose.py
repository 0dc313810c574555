"""docker-compose.yml cannot run here; this keeps it equal to what `make up` starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ferry.registry import Registry, load

ROOT = Path(__file__).resolve().parents[3]
# Options that differ by nature between a host and containers: where to listen, where data lives.
_PLACEMENT_OPTIONS = {"--host", "--data-dir", "--webhook-url"}


def _compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _without_placement(args: list[str]) -> list[str]:
    out: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg in _PLACEMENT_OPTIONS:
            skip = True
            continue
        out.append(arg)
    return out


def _registry() -> Registry:
    return load(environ={})


def test_every_service_of_make_up_runs_the_same_command_in_compose() -> None:
    services = _compose()["services"]
    specs = _registry().services(Path("var"))
    assert [s.name for s in specs] == [
        "shop-sandbox",
        "odoo-sandbox",
        "gateway",
        "odoo-capture",
        "streams",
        "odoo-sink",
        "shop-sink",
        "console",
    ]
    for spec in specs:
        assert spec.name in services, f"docker-compose.yml lacks service {spec.name}"
        command = services[spec.name]["command"]
        assert command[0] == "ferry"
        assert _without_placement(command[1:]) == _without_placement(list(spec.args)), spec.name
        published = {int(p.split(":")[1]) for p in services[spec.name]["ports"]}
        assert spec.port in published, f"{spec.name} does not publish port {spec.port}"


def test_compose_environment_matches_the_settings_make_up_uses() -> None:
    services = _compose()["services"]
    registry = _registry()
    for name in ("gateway", "streams", "odoo-sink", "odoo-capture", "shop-sink", "console"):
        env = services[name]["environment"]
        assert env["FERRY__KAFKA__BOOTSTRAP_SERVERS"] == "kafka:9092", name
        # Everything else is the embedded default, as with `make up`.
        allowed = {
            "FERRY__KAFKA__BOOTSTRAP_SERVERS",
            "FERRY__SERVICES__GATEWAY__HOST",
            "FERRY__SERVICES__STREAMS__HOST",
            "FERRY__SERVICES__ODOO_SINK__HOST",
            "FERRY__SERVICES__ODOO_CAPTURE__HOST",
            "FERRY__SERVICES__SHOP_SINK__HOST",
            "FERRY__SERVICES__CONSOLE__HOST",
            "FERRY__CONSOLE__SCRAPE_HOST",
            "FERRY__SYSTEMS__ODOO__URL",
            "FERRY__SYSTEMS__SHOP__URL",
            "FERRY_SHOP_CLIENT_SECRET",
            "FERRY_ODOO_WEBHOOK_TOKEN",
            "FERRY_SHOP_WEBHOOK_SECRET",
            "FERRY_ODOO_API_KEY",
            "FERRY_CONSOLE_TOKEN",
        }
        assert set(env) <= allowed, f"{name} sets {set(env) - allowed}"
    # Secrets travel by the same variables the default secret references name.
    assert str(registry.system_settings("shop").webhook_secret) == "env:FERRY_SHOP_WEBHOOK_SECRET"
    assert "FERRY_SHOP_WEBHOOK_SECRET" in services["gateway"]["environment"]
    assert str(registry.system_settings("odoo").api_key) == "env:FERRY_ODOO_API_KEY"
    assert "FERRY_ODOO_API_KEY" in services["odoo-sink"]["environment"]
    # The sandbox Odoo registers the same key the sink presents.
    sandbox_env = services["odoo-sandbox"]["environment"]
    assert sandbox_env["SANDBOX_ODOO_API_KEY"].startswith("${FERRY_ODOO_API_KEY")
    sink_env = services["odoo-sink"]["environment"]
    assert sink_env["FERRY__SYSTEMS__ODOO__URL"] == "http://odoo-sandbox:8069"


def test_compose_kafka_is_kraft_single_node_with_rf1_internal_topics() -> None:
    kafka = _compose()["services"]["kafka"]
    assert kafka["image"].startswith("apache/kafka:4.")
    env = kafka["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    for key in (
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR",
    ):
        assert env[key] == "1"


def test_no_inline_secret_in_compose() -> None:
    for name, service in _compose()["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if any(w in key for w in ("SECRET", "KEY", "PASSWORD")) and not key.endswith("_FILE"):
                assert str(value).startswith("${"), f"{name}.{key} is inline"
