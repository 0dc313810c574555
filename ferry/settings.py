"""Ferry's configuration: one ``ferry.yaml``, validated at start-up, overridable by environment.

Sources, later wins: the embedded defaults (a local Kafka, the sandbox systems, and the defaults
each registered system, service and flow contributes), the YAML file (``--config`` or
``FERRY_CONFIG``), then environment variables ``FERRY__<SECTION>__<KEY>`` (pydantic-settings;
double underscores between levels, e.g. ``FERRY__SYSTEMS__ODOO__URL``). Secrets are references
(``env:NAME`` or ``file:PATH``, :mod:`ferry.secrets`); an inline secret is refused with its key
named. Every error names the key and the problem and never echoes a value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import pydantic
import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from ferry.errors import ConfigError
from ferry.secrets import SecretRef, parse_secret_ref

__all__ = [
    "DEFAULT_REGISTRY",
    "ENV_PREFIX",
    "AppsSettings",
    "ConsoleSettings",
    "DlqSettings",
    "FlowSettings",
    "KafkaSettings",
    "LoggingSettings",
    "PublishSettings",
    "RetrySettings",
    "Secret",
    "ServiceSettings",
    "Settings",
    "StreamsSettings",
    "SystemModel",
    "config_error",
    "load_settings",
    "read_config_file",
    "setting_key",
]

ENV_PREFIX = "FERRY__"
DEFAULT_REGISTRY = "streams.flows"

M = TypeVar("M", bound=BaseModel)


def _secret(value: object) -> SecretRef:
    if isinstance(value, SecretRef):
        return value
    # The key is added by pydantic's error location; the value is never echoed.
    try:
        return parse_secret_ref("", value)
    except ConfigError as exc:
        raise ValueError(exc.problem) from None


Secret = Annotated[SecretRef, BeforeValidator(_secret)]


class SystemModel(BaseModel):
    """Base of a system's settings section (``systems.<name>``): strict, frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


_Model = SystemModel


class KafkaSettings(_Model):
    """Where Kafka is and how Ferry signs in to it.

    ``security_protocol`` as in Kafka's client settings: ``SASL_SSL`` for a managed Kafka
    (user name and password over TLS), ``SSL`` for TLS alone (with a client certificate when
    the brokers ask for one). ``sasl_password`` is a secret reference (``env:NAME`` or
    ``file:PATH``); ``ssl_cafile`` the CA bundle that signed the brokers' certificates (unset:
    the system's CAs).
    """

    bootstrap_servers: str = "127.0.0.1:9092"
    client_id: str = "ferry"
    partitions: int = Field(default=3, ge=1)
    replication_factor: int = Field(default=1, ge=1)
    request_timeout_ms: int = Field(default=10_000, ge=100)
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    sasl_username: str | None = None
    sasl_password: Secret | None = None
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None  # a client certificate (PEM), with ssl_keyfile
    ssl_keyfile: str | None = None
    ssl_check_hostname: bool = True

    @model_validator(mode="after")
    def _security_is_complete(self) -> KafkaSettings:
        sasl = self.security_protocol.startswith("SASL_")
        tls = self.security_protocol.endswith("SSL")
        if sasl and not (self.sasl_username and self.sasl_password):
            raise ValueError(
                f"sasl_username and sasl_password: required with security_protocol "
                f"{self.security_protocol}"
            )
        if not sasl and (self.sasl_username or self.sasl_password):
            raise ValueError(
                "sasl_username, sasl_password: only used with security_protocol SASL_SSL "
                f"or SASL_PLAINTEXT (it is {self.security_protocol})"
            )
        files = [
            name
            for name in ("ssl_cafile", "ssl_certfile", "ssl_keyfile")
            if getattr(self, name) is not None
        ]
        if files and not tls:
            raise ValueError(
                f"{', '.join(files)}: only used with security_protocol SSL or SASL_SSL "
                f"(it is {self.security_protocol})"
            )
        if (self.ssl_certfile is None) != (self.ssl_keyfile is None):
            raise ValueError(
                "ssl_certfile and ssl_keyfile: set both (a client certificate) or neither"
            )
        return self


class ServiceSettings(_Model):
    """Where a service listens (its API, or only ``/metrics``, ``/healthz``, ``/readyz``)."""

    host: str = "127.0.0.1"
    port: int = Field(ge=0, le=65535)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1)  # HTTP ingress: largest body
    # HTTP ingress (the gateway's server; the other services' ops pages ignore these):
    max_header_bytes: int = Field(default=16 * 1024, ge=1024)  # request line + headers; else 431
    keep_alive_timeout_s: int = Field(default=5, ge=1)  # an idle keep-alive connection: closed
    max_concurrency: int | None = Field(default=1000, ge=1)  # connections or requests; else 503
    body_timeout_s: float = Field(default=30.0, gt=0)  # the whole body within this; else 408


class RetrySettings(_Model):
    """Transient failures: bounded exponential backoff with full jitter, in place for
    ``max_attempts`` tries; then (``park``) the record moves to ``retry.<topic>`` so its
    partition goes on, is retried there up to ``lane_max_delay_s`` apart, and is dead-lettered
    (rule ``retries_exhausted``) once it has failed for ``give_up_after_s``. A target that
    fails for most records trips its circuit breaker instead: nothing is parked then."""

    max_attempts: int = Field(default=8, ge=1)
    base_delay_s: float = Field(default=0.2, gt=0)
    max_delay_s: float = Field(default=30.0, gt=0)
    park: bool = True
    lane_max_delay_s: float = Field(default=300.0, gt=0)
    give_up_after_s: float = Field(default=86_400.0, gt=0)


class DlqSettings(_Model):
    """The brake: stop instead of dead-lettering when most recent events fail."""

    window: int = Field(default=100, ge=1)
    min_events: int = Field(default=20, ge=1)
    max_invalid_ratio: float = Field(default=0.8, gt=0, le=1)
    max_consecutive: int = Field(default=50, ge=1)


class AppsSettings(_Model):
    """Connected apps and their keys (``ferry apps``)."""

    topic: str = "ferry.apps"  # compacted: the latest state of each app, read by every gateway
    pepper: str = "env:FERRY_APPS_PEPPER"  # secret reference (env:/file:) mixed into key hashes
    rotation_grace_s: float = Field(default=86_400.0, ge=0)  # an old key stays valid this long
    default_rate_per_s: float = Field(default=100.0, gt=0)  # an app's events/s without --rate


class ConsoleSettings(_Model):
    """The operator console (``ferry console``): who may sign in, and where it reads metrics."""

    token: str = "env:FERRY_CONSOLE_TOKEN"  # noqa: S105 (a secret reference: env:/file:)
    session_max_age_s: int = Field(default=8 * 3600, ge=60)  # then sign in again
    secure_cookie: bool = False  # True when the console is served over HTTPS only
    # Where the console finds the other services' /metrics: a host, or "{service}" for the
    # service's name (compose: each service is reachable by its name).
    scrape_host: str = "127.0.0.1"
    scrape_timeout_s: float = Field(default=2.0, gt=0)


class PublishSettings(_Model):
    """The publish API of the gateway (``POST /v1/events``)."""

    max_batch: int = Field(default=500, ge=1)  # events in one batch request
    idempotency_topic: str = "ferry.idempotency"  # compacted, shared by every gateway
    idempotency_window_s: float = Field(default=86_400.0, gt=0)


class LoggingSettings(_Model):
    """How every service logs (:mod:`ferry.logs`): ``FERRY__LOGGING__FORMAT=json`` and so on."""

    format: Literal["kv", "json"] = "kv"  # kv: key=value pairs (logfmt); json: an object a line
    level: Literal["debug", "info", "warning", "error"] = "info"  # Ferry's own loggers


class StreamsSettings(_Model):
    """The streams worker: ``app_id`` is its consumer group (workers with the same one share
    the flows' partitions) and the prefix of faust's internal topics."""

    app_id: str = Field(default="ferry-streams", pattern=r"^[A-Za-z0-9._-]{1,200}$")
    # How long the group waits for a silent worker (killed, frozen) before its partitions
    # move to the others; the broker bounds it (group.min/max.session.timeout.ms).
    session_timeout_s: float = Field(default=10.0, ge=1.0, le=300.0)
    heartbeat_interval_s: float = Field(default=3.0, gt=0.0)
    # How long the worker's producer gathers records before it sends a request: a longer wait
    # sends fewer, fuller requests (less CPU per event under load) and adds up to that much to
    # each output's latency. Kafka Streams waits 100 ms by default.
    producer_linger_ms: float = Field(default=20.0, ge=0.0, le=1000.0)
    # How often each flow's stage looks for source offsets faust passed without giving them
    # (their partition's commit waits at them); one found twice in a row is read from Kafka.
    idle_check_s: float = Field(default=5.0, gt=0.0, le=300.0)

    @model_validator(mode="after")
    def _heartbeat_within_session(self) -> StreamsSettings:
        if self.heartbeat_interval_s * 3 > self.session_timeout_s:
            raise ValueError(
                "heartbeat_interval_s: must be at most a third of session_timeout_s "
                f"({self.heartbeat_interval_s} > {self.session_timeout_s} / 3)"
            )
        return self


class FlowSettings(_Model):
    """How one flow runs here; what it is comes from its declaration (``ferry.flow.Flow``).

    ``use`` adds a flow that is not in the registry, by import path (``package.module:NAME``)
    of a ``Flow``, or of a factory that takes the flow's name and returns it.
    Unset tunables follow ``kafka`` and ``dlq``.
    """

    enabled: bool = True
    use: str | None = None
    partitions: int | None = Field(default=None, ge=1)
    # The webhook route: its signature scheme (None: the source's own; shopify, standard,
    # stripe), the signed-time tolerance, more secret references accepted (rotation) and the
    # window in which a delivery id seen before is answered 200 and produces nothing.
    webhook_scheme: str | None = None
    webhook_tolerance_s: float = Field(default=300.0, gt=0)
    webhook_previous_secrets: list[str] = Field(default_factory=list)
    webhook_dedupe_s: float = Field(default=86_400.0, ge=0)
    # src/sink topics keep a week by default: a stalled consumer has that long before Kafka
    # deletes what it has not read (the broker's own default may be shorter); -1: for ever
    retention_ms: int = Field(default=7 * 24 * 3600 * 1000, ge=-1)
    dlq: DlqSettings | None = None
    batch_size: int = Field(default=500, ge=1)
    max_future_s: float = Field(default=86_400.0, gt=0)  # versions further ahead: refused
    # The sink service compares the source's latest state with the target this often (when
    # the target's system can be reconciled) and keeps ferry_reconcile_mismatches current;
    # 0: never (``ferry reconcile`` still runs on demand).
    reconcile_every_s: float = Field(default=900.0, ge=0)


def setting_key(name: str) -> str:
    """Keyed maps take ``-`` or ``_`` alike (environment variables cannot spell ``-``)."""
    return name.replace("_", "-")


_key = setting_key


def _normalised(section: Any) -> Any:
    if not isinstance(section, Mapping):
        return section
    out: dict[str, Any] = {}
    # Hyphenated keys (YAML) first, then underscored ones (the environment's), which win.
    for name in sorted(section, key=lambda n: "_" in str(n)):
        key = _key(str(name))
        value = section[name]
        if isinstance(out.get(key), Mapping) and isinstance(value, Mapping):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


class Settings(BaseSettings):
    """The whole configuration. ``systems``, ``services`` and ``flows`` are keyed by name."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        arbitrary_types_allowed=True,
    )

    registry: str = DEFAULT_REGISTRY  # the module whose FLOWS lists the flows
    kafka: KafkaSettings = KafkaSettings()
    retry: RetrySettings = RetrySettings()
    dlq: DlqSettings = DlqSettings()
    apps: AppsSettings = AppsSettings()
    publish: PublishSettings = PublishSettings()
    logging: LoggingSettings = LoggingSettings()
    console: ConsoleSettings = ConsoleSettings()
    streams: StreamsSettings = StreamsSettings()
    # entity -> the one system that owns it (source of truth); flows declare the defaults
    ownership: dict[str, str] = Field(default_factory=dict)
    systems: dict[str, dict[str, Any]] = Field(default_factory=dict)
    services: dict[str, ServiceSettings] = Field(default_factory=dict)
    flows: dict[str, FlowSettings] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _keys(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            data = dict(data)
            for section in ("systems", "services", "flows"):
                if section in data:
                    data[section] = _normalised(data[section])
        return data

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment wins over what the loader passes (defaults merged with the YAML).
        environ = _ENVIRON.get()
        env = _MappingEnvSource(settings_cls, environ) if environ is not None else env_settings
        return (env, init_settings)

    def service(self, name: str) -> ServiceSettings:
        """``services.<name>``; :class:`ConfigError` naming the key when it is not configured."""
        found = self.services.get(_key(name))
        if found is None:
            raise ConfigError(f"services.{name}", "not configured (no host and port)")
        return found

    def flow(self, name: str) -> FlowSettings:
        return self.flows.get(_key(name)) or FlowSettings()

    def system(self, name: str, model: type[M]) -> M:
        """``systems.<name>`` validated by ``model``; errors name the key."""
        raw = self.systems.get(_key(name), {})
        try:
            return model.model_validate(raw)
        except pydantic.ValidationError as exc:
            raise config_error(exc, prefix=f"systems.{name}") from None


# The environment a load reads (tests pass their own); set only while a load runs.
_ENVIRON: ContextVar[Mapping[str, str] | None] = ContextVar("ferry_settings_environ", default=None)


class _MappingEnvSource(EnvSettingsSource):
    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._given = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {k.lower(): v for k, v in self._given.items()}


def config_error(exc: pydantic.ValidationError, *, prefix: str = "") -> ConfigError:
    """The first problem of ``exc`` as a :class:`ConfigError` naming its key."""
    first = exc.errors(include_url=False, include_input=False)[0]
    key = ".".join(str(p) for p in (prefix, *first["loc"]) if p != "") or "(top level)"
    problem = first["msg"].removeprefix("Value error, ")
    more = exc.error_count() - 1
    if more:
        problem += f" (and {more} more problem{'s' if more > 1 else ''})"
    return ConfigError(key, problem)


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The YAML file as a mapping of sections; :class:`ConfigError` naming the file."""
    path = Path(path)
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


def _check_env_sections(environ: Mapping[str, str]) -> None:
    """An override of a section that does not exist is an error, not silently ignored."""
    sections = set(Settings.model_fields)
    for name in environ:
        if not name.startswith(ENV_PREFIX):
            continue
        section = name[len(ENV_PREFIX) :].split("__", 1)[0].lower()
        if section not in sections:
            raise ConfigError(
                name,
                f"no section {section!r} (sections: {', '.join(sorted(sections))}; a system, "
                "service or flow is FERRY__SYSTEMS__<NAME>__..., FERRY__SERVICES__<NAME>__..., "
                "FERRY__FLOWS__<NAME>__...)",
            )


def load_settings(
    path: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    defaults: Mapping[str, Any] | None = None,
) -> Settings:
    """Build the settings from ``defaults``, ``path`` (or ``FERRY_CONFIG``) and the environment.

    This is the raw load; :func:`ferry.registry.load` adds what the registered systems,
    services and flows contribute and validates their sections.
    """
    env = os.environ if environ is None else environ
    _check_env_sections(env)
    chosen = path if path is not None else env.get("FERRY_CONFIG")
    data = read_config_file(chosen) if chosen else {}
    data = _merge(dict(defaults or {}), data)
    token = _ENVIRON.set(env)
    try:
        return Settings(**data)
    except pydantic.ValidationError as exc:
        raise config_error(exc) from None
    finally:
        _ENVIRON.reset(token)
