from __future__ import annotations

from pathlib import Path

import pytest

from ferry.errors import ConfigError
from ferry.registry import load
from ferry.secrets import SecretRef, parse_secret_ref
from ferry.settings import load_settings


def test_defaults_point_at_local_kafka_and_sandbox() -> None:
    registry = load(environ={})
    assert registry.settings.kafka.bootstrap_servers == "127.0.0.1:9092"
    odoo = registry.system_settings("odoo")
    assert odoo.url == "http://127.0.0.1:8069"
    assert str(odoo.api_key) == "env:FERRY_ODOO_API_KEY"
    assert registry.service("gateway").port == 8080
    assert registry.service("streams").port == 6066
    assert registry.service("odoo-sink").port == 9101
    assert registry.ownership["sale_order"] == "odoo"


def test_yaml_then_environment_override(tmp_path: Path) -> None:
    config = tmp_path / "ferry.yaml"
    config.write_text(
        "kafka:\n  bootstrap_servers: broker:9092\n  partitions: 6\n"
        "systems:\n  odoo:\n    api_key: file:/run/secrets/odoo\n"
        "services:\n  odoo-sink:\n    port: 9999\n",
        encoding="utf-8",
    )
    env = {
        "FERRY__KAFKA__PARTITIONS": "12",
        "FERRY__SERVICES__GATEWAY__PORT": "18080",
        "FERRY__SERVICES__ODOO_SINK__HOST": "0.0.0.0",
    }
    registry = load(config, environ=env)
    assert registry.settings.kafka.bootstrap_servers == "broker:9092"
    assert registry.settings.kafka.partitions == 12
    assert registry.service("gateway").port == 18080
    assert (registry.service("odoo-sink").host, registry.service("odoo-sink").port) == (
        "0.0.0.0",
        9999,
    )
    assert registry.system_settings("odoo").api_key == SecretRef("file", "/run/secrets/odoo")


def test_flows_are_tuned_and_disabled_by_name(tmp_path: Path) -> None:
    config = tmp_path / "ferry.yaml"
    config.write_text(
        "flows:\n  shop-orders-to-odoo:\n    partitions: 6\n    retention_ms: 86400000\n",
        encoding="utf-8",
    )
    registry = load(config, environ={})
    flow = registry.flow("shop-orders-to-odoo")
    assert registry.partitions(flow) == 6
    assert registry.partitions(registry.flow("odoo-stock-to-shop")) == 3
    topics = {t.name: t for t in registry.topics()}
    assert topics["src.shop.orders"].partitions == 6
    assert topics["src.shop.orders"].config["retention.ms"] == "86400000"
    assert "retention.ms" not in topics["ferry.streams.shop-orders-to-odoo.last-sent"].config
    week = str(7 * 24 * 3600 * 1000)  # the default of every other flow's src/sink topics
    assert topics["src.odoo.stock"].config["retention.ms"] == week
    assert topics["sink.shop.inventory"].config["retention.ms"] == week
    assert topics["dlq.src.odoo.stock"].config["retention.ms"] == str(28 * 24 * 3600 * 1000)
    off = load(config, environ={"FERRY__FLOWS__SHOP_ORDERS_TO_ODOO__ENABLED": "false"})
    assert "shop-orders-to-odoo" not in [f.name for f in off.enabled]
    assert "src.shop.orders" not in [t.name for t in off.topics()]
    names = [f.name for f in off.flows]
    all_off = load(
        config,
        environ={f"FERRY__FLOWS__{n.upper().replace('-', '_')}__ENABLED": "false" for n in names},
    )
    assert all_off.enabled == ()
    assert all_off.services(tmp_path) == []


def test_inline_secret_is_refused_naming_the_key_without_echoing_it(tmp_path: Path) -> None:
    config = tmp_path / "ferry.yaml"
    config.write_text("systems:\n  shop:\n    webhook_secret: s3cr3t-value-inline\n")
    with pytest.raises(ConfigError) as caught:
        load(config, environ={})
    assert caught.value.key == "systems.shop.webhook_secret"
    assert "inline secrets are refused" in str(caught.value)
    assert "s3cr3t-value-inline" not in str(caught.value)


def test_inline_secret_from_environment_is_refused_too() -> None:
    with pytest.raises(ConfigError) as caught:
        load(environ={"FERRY__SYSTEMS__ODOO__API_KEY": "0123456789abcdef"})
    assert caught.value.key == "systems.odoo.api_key"
    assert "0123456789abcdef" not in str(caught.value)


def test_unknown_key_and_bad_type_name_the_key(tmp_path: Path) -> None:
    config = tmp_path / "ferry.yaml"
    config.write_text("kafka:\n  bootstrap: x\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"^kafka\.bootstrap: "):
        load(config, environ={})
    with pytest.raises(ConfigError, match=r"^services\.gateway\.port: "):
        load(environ={"FERRY__SERVICES__GATEWAY__PORT": "eighty"})
    with pytest.raises(ConfigError, match=r"^systems\.odoo\.nope: "):
        load(environ={"FERRY__SYSTEMS__ODOO__NOPE": "1"})


def test_unknown_flows_services_and_systems_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^flows\.nope: no such flow \(known: .*shop-orders"):
        load(environ={"FERRY__FLOWS__NOPE__ENABLED": "false"})
    with pytest.raises(ConfigError, match=r"^services\.odoo-snk: no such service"):
        load(environ={"FERRY__SERVICES__ODOO_SNK__PORT": "1"})
    config = tmp_path / "ferry.yaml"
    config.write_text("systems:\n  erp:\n    url: x\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"^systems\.erp: no flow uses this system"):
        load(config, environ={})


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    config = tmp_path / "ferry.yaml"
    config.write_text("kafka:\n  bootstrap_servers: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        load_settings(config, environ={})


def test_secret_resolution_from_env_and_file(tmp_path: Path) -> None:
    secret_file = tmp_path / "key"
    secret_file.write_text("from-file\n", encoding="utf-8")
    assert parse_secret_ref("k", f"file:{secret_file}").resolve("k").get_secret_value() == (
        "from-file"
    )
    ref = parse_secret_ref("k", "env:MY_KEY")
    assert ref.resolve("k", {"MY_KEY": "v"}).get_secret_value() == "v"
    with pytest.raises(ConfigError, match="MY_KEY is not set"):
        ref.resolve("odoo.api_key", {})
    with pytest.raises(ConfigError, match="cannot read secret file"):
        parse_secret_ref("k", f"file:{secret_file.parent / 'missing'}").resolve("k")


def test_registry_resolves_secrets_naming_the_key() -> None:
    registry = load(environ={})
    with pytest.raises(ConfigError, match=r"^systems\.\w+\.\w+: environment variable FERRY_"):
        registry.resolve_secrets({})
    secret = registry.secret("shop", "webhook_secret", {"FERRY_SHOP_WEBHOOK_SECRET": "v"})
    assert secret.get_secret_value() == "v"


def test_an_override_of_an_unknown_section_is_named_not_ignored() -> None:
    with pytest.raises(ConfigError, match=r"^FERRY__GATEWAY__PORT: no section 'gateway'"):
        load(environ={"FERRY__GATEWAY__PORT": "8081"})
    with pytest.raises(ConfigError, match=r"^kafka\.bootstrap: "):
        load(environ={"FERRY__KAFKA__BOOTSTRAP": "x"})


def test_a_system_adds_its_own_services_with_default_ports(tmp_path: Path) -> None:
    config = tmp_path / "ferry.yaml"
    config.write_text(
        "registry: tests.flows\n"
        "flows:\n  parcels-to-ledger: {enabled: false}\n"
        "  depot-scans: {use: tests.support.flows:depot_scans}\n",
        encoding="utf-8",
    )
    registry = load(config, environ={})
    assert registry.service("depot-capture").port == 9200
    specs = {s.name: s for s in registry.services(tmp_path)}
    assert specs["depot-capture"].args == ("capture", "depot")
    moved = load(config, environ={"FERRY__SERVICES__DEPOT_CAPTURE__PORT": "9300"})
    assert {s.name: s.port for s in moved.services(tmp_path)}["depot-capture"] == 9300


def test_a_flow_whose_systems_and_services_have_underscores_loads(tmp_path: Path) -> None:
    """A flow named ``depot-2`` of its own (its source system is ``depot_2``, whose sink
    service would be ``depot_2-sink``): keys are normalised, and so are the names checked."""
    config = tmp_path / "ferry.yaml"
    off = "".join(f"  {f.name}:\n    enabled: false\n" for f in load(environ={}).flows)
    config.write_text(
        "flows:\n" + off + "  depot-2:\n    use: tests.support.flows:shop_orders_on\n"
        "services:\n  streams:\n    port: 7000\n",
        encoding="utf-8",
    )
    registry = load(config, environ={"FERRY__FLOWS__DEPOT_2__PARTITIONS": "6"})
    assert [f.name for f in registry.enabled] == ["depot-2"]
    assert registry.partitions(registry.enabled[0]) == 6
    assert registry.service("streams").port == 7000
