"""The Kafka security settings and the client options they turn into (no broker)."""

from __future__ import annotations

import ssl
from typing import Any

import pytest
from pydantic import ValidationError

from ferry.errors import ConfigError
from ferry.kafka import connection
from ferry.settings import KafkaSettings


def kafka(**fields: Any) -> KafkaSettings:
    return KafkaSettings.model_validate({"bootstrap_servers": "broker:9093", **fields})


def test_plaintext_by_default_and_a_bare_string_is_plaintext() -> None:
    assert connection("a:1,b:2") == {
        "bootstrap_servers": "a:1,b:2",
        "security_protocol": "PLAINTEXT",
    }
    assert connection(kafka()) == {
        "bootstrap_servers": "broker:9093",
        "security_protocol": "PLAINTEXT",
    }


def test_sasl_ssl_signs_in_with_the_password_read_from_its_reference() -> None:
    settings = kafka(
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="ferry",
        sasl_password="env:KAFKA_PASSWORD",
        ssl_check_hostname=False,
    )
    options = connection(settings, environ={"KAFKA_PASSWORD": "s3cret"})
    assert {k: v for k, v in options.items() if k != "ssl_context"} == {
        "bootstrap_servers": "broker:9093",
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "ferry",
        "sasl_plain_password": "s3cret",
    }
    context = options["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert not context.check_hostname
    assert "s3cret" not in repr(settings)


def test_an_unset_password_variable_names_the_key_not_a_value() -> None:
    settings = kafka(
        security_protocol="SASL_PLAINTEXT", sasl_username="ferry", sasl_password="env:NOPE"
    )
    with pytest.raises(ConfigError, match=r"kafka\.sasl_password.*NOPE is not set"):
        connection(settings, environ={})


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"security_protocol": "SASL_SSL"}, "sasl_username and sasl_password: required"),
        (
            {"sasl_username": "ferry", "sasl_password": "env:P"},
            "only used with security_protocol SASL_SSL or SASL_PLAINTEXT",
        ),
        ({"ssl_cafile": "/ca.pem"}, "ssl_cafile: only used with security_protocol SSL"),
        (
            {"security_protocol": "SSL", "ssl_certfile": "/c.pem"},
            "ssl_certfile and ssl_keyfile: set both",
        ),
        (
            {"security_protocol": "SASL_SSL", "sasl_username": "u", "sasl_password": "inline"},
            "inline secrets are refused",
        ),
        ({"security_protocol": "TLS"}, "security_protocol"),
    ],
)
def test_incomplete_or_contradictory_security_is_refused(
    fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        kafka(**fields)
