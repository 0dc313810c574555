from __future__ import annotations

from pathlib import Path

import pytest

from ferry.errors import ConfigError
from ferry.secrets import SecretRef, parse_secret_ref
from ferry.settings import load_settings


def test_defaults_point_at_local_kafka_and_sandbox() -> None:
    settings = load_settings(environ={})
    assert settings.kafka.bootstrap_servers == "127.0.0.1:9092"
    assert settings.odoo.url == "http://127.0.0.1:8069"
    assert settings.gateway.port == 8080
    assert settings.streams.port == 6066
    assert settings.odoo_sink.port == 9101
    assert str(settings.odoo.api_key) == "env:FERRY_ODOO_API_KEY"
    assert settings.ownership["sale_order"] == "odoo"


def test_yaml_then_environment_override(tmp_path: Path) -> None:
    config = tmp_path / "ferry.yaml"
    config.write_text(
        "kafka:\n  bootstrap_servers: broker:9092\n  partitions: 6\n"
        "odoo:\n  api_key: file:/run/secrets/odoo\n",
        encoding="utf-8",
    )
    env = {"FERRY__KAFKA__PARTITIONS": "12", "FERRY__GATEWAY__PORT": "18080"}
    settings = load_settings(config, environ=env)
    assert settings.kafka.bootstrap_servers == "broker:9092"
    assert settings.kafka.partitions == 12
    assert settings.gateway.port == 18080
    assert settings.odoo.api_key == SecretRef("file", "/run/secrets/odoo")


def test_inline_secret_is_refused_naming_the_key_without_echoing_it(tmp_path: Path) -> None:
    config = tmp_path / "ferry.yaml"
    config.write_text("shop:\n  webhook_secret: s3cr3t-value-inline\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(config, environ={})
    assert caught.value.key == "shop.webhook_secret"
    assert "inline secrets are refused" in str(caught.value)
    assert "s3cr3t-value-inline" not in str(caught.value)


def test_inline_secret_from_environment_is_refused_too() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"FERRY__ODOO__API_KEY": "0123456789abcdef"})
    assert caught.value.key == "odoo.api_key"
    assert "0123456789abcdef" not in str(caught.value)


def test_unknown_key_and_bad_type_name_the_key(tmp_path: Path) -> None:
    config = tmp_path / "ferry.yaml"
    config.write_text("kafka:\n  bootstrap: x\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"^kafka\.bootstrap: "):
        load_settings(config, environ={})
    with pytest.raises(ConfigError, match=r"^gateway\.port: "):
        load_settings(environ={"FERRY__GATEWAY__PORT": "eighty"})


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
        parse_secret_ref("k", f"file:{tmp_path / 'missing'}").resolve("k")
