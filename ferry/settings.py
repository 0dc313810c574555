"""Ferry's configuration: one ``ferry.yaml``, validated at start-up, overridable by environment.

Order of sources, later wins: the embedded defaults (a local Kafka and the sandbox systems), the
YAML file (``--config`` or ``FERRY_CONFIG``), then environment variables named
``FERRY__<SECTION>__<KEY>`` (double underscores between levels, e.g.
``FERRY__KAFKA__BOOTSTRAP_SERVERS=broker:9092``). Secrets are references (``env:NAME`` or
``file:PATH``, see :mod:`ferry.secrets`); an inline secret is refused with the key named.
Every error names the key and the problem and never echoes a value that might be secret.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic
import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from ferry.errors import ConfigError
from ferry.secrets import SecretRef, parse_secret_ref

__all__ = [
    "DlqSettings",
    "FlowSettings",
    "GatewaySettings",
    "KafkaSettings",
    "OdooSystem",
    "RetrySettings",
    "ServiceSettings",
    "Settings",
    "ShopSystem",
    "load_settings",
]

ENV_PREFIX = "FERRY__"


def _secret(value: object) -> SecretRef:
    if isinstance(value, SecretRef):
        return value
    # The key is added by pydantic's error location; the value is never echoed.
    try:
        return parse_secret_ref("", value)
    except ConfigError as exc:
        raise ValueError(exc.problem) from None


Secret = Annotated[SecretRef, BeforeValidator(_secret)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class KafkaSettings(_Model):
    bootstrap_servers: str = "127.0.0.1:9092"
    client_id: str = "ferry"
    partitions: int = Field(default=3, ge=1)
    replication_factor: int = Field(default=1, ge=1)
    request_timeout_ms: int = Field(default=10_000, ge=100)


class OdooSystem(_Model):
    kind: Literal["odoo"] = "odoo"
    url: str = "http://127.0.0.1:8069"
    database: str = "ferry"
    login: str = "admin"
    api_key: Secret = SecretRef("env", "FERRY_ODOO_API_KEY")
    protocol: Literal["auto", "jsonrpc", "json2"] = "auto"
    timeout_s: float = Field(default=10.0, gt=0)


class ShopSystem(_Model):
    kind: Literal["shop"] = "shop"
    webhook_secret: Secret = SecretRef("env", "FERRY_SHOP_WEBHOOK_SECRET")


class ServiceSettings(_Model):
    host: str = "127.0.0.1"
    port: int = Field(ge=0, le=65535)


class GatewaySettings(ServiceSettings):
    port: int = Field(default=8080, ge=0, le=65535)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1)


class RetrySettings(_Model):
    """Bounded exponential backoff with full jitter for transient failures."""

    max_attempts: int = Field(default=8, ge=1)
    base_delay_s: float = Field(default=0.2, gt=0)
    max_delay_s: float = Field(default=30.0, gt=0)


class DlqSettings(_Model):
    """The brake: stop instead of dead-lettering when most recent events fail."""

    window: int = Field(default=100, ge=1)
    min_events: int = Field(default=20, ge=1)
    max_invalid_ratio: float = Field(default=0.8, gt=0, le=1)
    max_consecutive: int = Field(default=50, ge=1)


class FlowSettings(_Model):
    name: str
    source: str
    mapping: str
    target: str


def _default_flows() -> list[FlowSettings]:
    return [
        FlowSettings(
            name="shop-orders-to-odoo",
            source="src.shop.orders",
            mapping="shop_order_to_sale_order",
            target="sink.odoo.sale_orders",
        )
    ]


class Settings(_Model):
    kafka: KafkaSettings = KafkaSettings()
    odoo: OdooSystem = OdooSystem()
    shop: ShopSystem = ShopSystem()
    gateway: GatewaySettings = GatewaySettings()
    streams: ServiceSettings = ServiceSettings(port=6066)
    odoo_sink: ServiceSettings = ServiceSettings(port=9101)
    retry: RetrySettings = RetrySettings()
    dlq: DlqSettings = DlqSettings()
    # entity -> the one system that owns it (source of truth)
    ownership: dict[str, str] = Field(
        default_factory=lambda: {
            "sale_order": "odoo",
            "customer": "odoo",
            "product": "odoo",
            "inventory": "odoo",
        }
    )
    flows: list[FlowSettings] = Field(default_factory=_default_flows)


def _set_path(tree: dict[str, Any], path: list[str], value: str) -> None:
    node = tree
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[path[-1]] = value


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for name, value in environ.items():
        if name.startswith(ENV_PREFIX) and len(name) > len(ENV_PREFIX):
            path = [p.lower() for p in name[len(ENV_PREFIX) :].split("__") if p]
            if path:
                _set_path(tree, path, value)
    return tree


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read configuration: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(str(path), f"not valid YAML{where}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(str(path), "the top level must be a mapping of sections")
    return data


def load_settings(
    path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Build the settings from defaults, ``path`` (or ``FERRY_CONFIG``) and the environment."""
    env = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    chosen = path if path is not None else env.get("FERRY_CONFIG")
    if chosen:
        data = _read_yaml(Path(chosen))
    data = _merge(data, _env_overrides(env))
    try:
        return Settings.model_validate(data)
    except pydantic.ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        key = ".".join(str(p) for p in first["loc"]) or "(top level)"
        problem = first["msg"].removeprefix("Value error, ")
        more = exc.error_count() - 1
        if more:
            problem += f" (and {more} more problem{'s' if more > 1 else ''})"
        raise ConfigError(key, problem) from None
