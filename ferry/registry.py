"""The registry: the flows this installation runs, their systems, services and topics.

The flows come from the module named by ``registry`` in the settings (default
``streams.flows``, whose ``FLOWS`` lists one flow per line) plus any ``flows.<name>.use``
import path in ``ferry.yaml``. Systems are those the flows name. :func:`load` reads the
settings with what each system, service and flow contributes as defaults, and validates every
system's section, so a bad key fails at start-up with its name.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr

from ferry.errors import ConfigError
from ferry.flow import Flow, System
from ferry.schemas import SchemaRegistry
from ferry.secrets import SecretRef
from ferry.serde import SingleObjectSerde
from ferry.settings import DlqSettings, ServiceSettings, Settings, load_settings, setting_key
from ferry.stack import ServiceSpec
from ferry.topics import TopicSpec, internal, retry

__all__ = [
    "CONSOLE",
    "GATEWAY",
    "STREAMS",
    "Registry",
    "changelog_topic",
    "import_object",
    "load",
    "sink_service",
]

GATEWAY = "gateway"
STREAMS = "streams"
CONSOLE = "console"
_SERVICE_PORTS = {GATEWAY: 8080, STREAMS: 6066, CONSOLE: 8090}


def sink_service(system: str) -> str:
    """The service that runs the sinks of ``system``: ``<system>-sink``."""
    return f"{system}-sink"


def changelog_topic(flow: Flow) -> str:
    """The change-only table of ``flow``: ``ferry.streams.<flow>.last-sent`` (compacted)."""
    return internal(f"{STREAMS}.{flow.name}.last-sent")


def import_object(path: str, key: str) -> Any:
    """``package.module:NAME`` imported; :class:`ConfigError` on ``key`` when it fails."""
    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(key, f"cannot import {module_name}: {exc}") from None
    if not attr:
        return module
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ConfigError(key, f"{module_name} has no {attr}") from None


def _registered(settings: Settings) -> list[Flow]:
    module = import_object(settings.registry, "registry")
    flows = getattr(module, "FLOWS", None)
    if not isinstance(flows, Sequence) or not all(isinstance(f, Flow) for f in flows):
        raise ConfigError("registry", f"{settings.registry}.FLOWS must be a sequence of Flow")
    found = list(flows)
    for name, tuning in settings.flows.items():
        if tuning.use is None:
            continue
        flow = import_object(tuning.use, f"flows.{name}.use")
        if callable(flow) and not isinstance(flow, Flow):
            flow = flow(name)  # a factory: the flow of that name
        if not isinstance(flow, Flow):
            raise ConfigError(f"flows.{name}.use", f"{tuning.use} is not a Flow (or a factory)")
        if flow.name != name:
            raise ConfigError(f"flows.{name}.use", f"{tuning.use} declares flow {flow.name!r}")
        found.append(flow)
    names = [f.name for f in found]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"flows.{twice[0]}", "declared twice")
    return found


@dataclass(frozen=True)
class Registry:
    """Settings plus the flows and systems they run."""

    settings: Settings
    flows: tuple[Flow, ...]
    sections: Mapping[str, BaseModel] = field(default_factory=dict, repr=False)

    # -- flows -------------------------------------------------------------------------------

    @cached_property
    def enabled(self) -> tuple[Flow, ...]:
        return tuple(f for f in self.flows if self.settings.flow(f.name).enabled)

    def flow(self, name: str) -> Flow:
        for flow in self.flows:
            if flow.name == name:
                return flow
        raise KeyError(name)

    def webhook_flows(self) -> list[Flow]:
        return [f for f in self.enabled if f.webhook is not None]

    def publish_flows(self) -> list[Flow]:
        """Enabled flows whose source event type connected apps may publish."""
        return [f for f in self.enabled if f.publish is not None]

    def sink_flows(self, system: str | None = None) -> list[Flow]:
        """Enabled flows with a sink (into ``system``, when given)."""
        return [
            f
            for f in self.enabled
            if f.sink is not None and (system is None or f.target.system.name == system)
        ]

    def partitions(self, flow: Flow) -> int:
        return self.settings.flow(flow.name).partitions or self.settings.kafka.partitions

    def brake(self, flow: Flow) -> DlqSettings:
        return self.settings.flow(flow.name).dlq or self.settings.dlq

    # -- systems -----------------------------------------------------------------------------

    @cached_property
    def systems(self) -> dict[str, System[Any]]:
        """The systems every registered flow names, by name, in the order they are named."""
        return _systems_of(self.flows)

    @cached_property
    def active_systems(self) -> dict[str, System[Any]]:
        """The systems of the enabled flows."""
        return _systems_of(self.enabled)

    def system_settings(self, system: System[Any] | str) -> Any:
        """The validated ``systems.<name>`` section."""
        name = system if isinstance(system, str) else system.name
        return self.sections[name]

    def secret(self, system: System[Any] | str, field_name: str, environ: Any = None) -> SecretStr:
        """Resolve the secret reference ``systems.<name>.<field>``."""
        name = system if isinstance(system, str) else system.name
        ref = getattr(self.system_settings(name), field_name)
        if not isinstance(ref, SecretRef):
            raise ConfigError(f"systems.{name}.{field_name}", "not a secret reference")
        return ref.resolve(f"systems.{name}.{field_name}", environ)

    def resolve_secrets(self, environ: Any = None) -> None:
        """Resolve every secret of the active systems (fail fast, naming the key)."""
        for name in self.active_systems:
            section = self.system_settings(name)
            for field_name in type(section).model_fields:
                if isinstance(getattr(section, field_name), SecretRef):
                    self.secret(name, field_name, environ)

    @cached_property
    def ownership(self) -> dict[str, str]:
        """entity → owning system: the flows' declarations, overridden by ``ownership``."""
        owners = {f.entity: f.owner for f in self.flows}
        owners.update(self.settings.ownership)
        return owners

    @cached_property
    def schemas(self) -> SchemaRegistry:
        """The contracts under ``schemas/`` and those the flows bring."""
        return SchemaRegistry.load(extra=[f.schemas for f in self.flows if f.schemas is not None])

    def serde(self) -> SingleObjectSerde:
        return SingleObjectSerde(self.schemas)

    # -- services and topics -----------------------------------------------------------------

    def service(self, name: str) -> ServiceSettings:
        return self.settings.service(name)

    def services(self, state_dir: Path) -> list[ServiceSpec]:
        """Ferry's services in start order: the sandboxes, gateway, streams, the sinks, the
        operator console (which reads ``state_dir``'s ``status.json``)."""
        specs: list[ServiceSpec] = []
        for system in self.active_systems.values():
            if system.sandbox is not None:
                section = self.system_settings(system)
                specs.append(system.sandbox(section, state_dir / system.name, self.service))
        if self.webhook_flows():
            specs.append(ServiceSpec(GATEWAY, (GATEWAY,), self.service(GATEWAY).port))
        for system in self.active_systems.values():
            if system.services is not None:
                own = system.services(self.system_settings(system), self.enabled)
                specs += [replace(spec, port=self.service(spec.name).port) for spec in own]
        if self.enabled:
            specs.append(ServiceSpec(STREAMS, (STREAMS,), self.service(STREAMS).port))
        for system_name in self.sink_systems():
            name = sink_service(system_name)
            specs.append(ServiceSpec(name, ("sink", system_name), self.service(name).port))
        if self.enabled:
            console_args = (CONSOLE, "--state-dir", str(state_dir))
            specs.append(ServiceSpec(CONSOLE, console_args, self.service(CONSOLE).port))
        return specs

    def sink_systems(self) -> list[str]:
        return list(dict.fromkeys(f.target.system.name for f in self.sink_flows()))

    def topics(self) -> list[TopicSpec]:
        """Every topic of the enabled flows, with each flow's partitions and retention."""
        kafka = self.settings.kafka
        specs: dict[str, TopicSpec] = {}
        for flow in self.enabled:
            tuning = self.settings.flow(flow.name)
            partitions = self.partitions(flow)
            names = [flow.source.topic, flow.target.topic, flow.source_dlq]
            if flow.sink is not None:
                names += [flow.target_dlq, retry(flow.target.topic)]
            names.append(changelog_topic(flow))
            for name in names:
                spec = TopicSpec.for_name(name, partitions, kafka.replication_factor)
                if not name.startswith(("dlq.", "ferry.")):
                    spec.config["retention.ms"] = str(tuning.retention_ms)
                specs.setdefault(name, spec)
        return list(specs.values())


def _systems_of(flows: Iterable[Flow]) -> dict[str, System[Any]]:
    found: dict[str, System[Any]] = {}
    for flow in flows:
        for system in flow.systems:
            found.setdefault(system.name, system)
    return found


def _defaults(flows: Iterable[Flow]) -> dict[str, Any]:
    services: dict[str, Any] = {name: {"port": port} for name, port in _SERVICE_PORTS.items()}
    for flow in flows:
        for system in flow.systems:
            if system.sink_port is not None:
                services.setdefault(sink_service(system.name), {"port": system.sink_port})
            for name, port in system.service_ports.items():
                services.setdefault(name, {"port": port})
    return {"services": services}


def _check_names(settings: Settings, flows: Sequence[Flow], systems: Mapping[str, Any]) -> None:
    # Settings keys are normalised (``-`` and ``_`` alike): the names are compared the same way.
    known_flows = {setting_key(f.name): f.name for f in flows}
    for name in settings.flows:
        if setting_key(name) not in known_flows:
            raise ConfigError(
                f"flows.{name}", f"no such flow (known: {', '.join(sorted(known_flows.values()))})"
            )
    known_systems = {setting_key(name) for name in systems}
    for name in settings.systems:
        if setting_key(name) not in known_systems:
            raise ConfigError(
                f"systems.{name}", f"no flow uses this system (known: {', '.join(systems)})"
            )
    known_services = set(_defaults(flows)["services"])
    for name in settings.services:
        if setting_key(name) not in {setting_key(known) for known in known_services}:
            raise ConfigError(
                f"services.{name}",
                f"no such service (known: {', '.join(sorted(known_services))})",
            )


def load(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Registry:
    """Load the settings and the registry they name; validate every system's section."""
    first = load_settings(path, environ)
    flows = _registered(first)
    settings = load_settings(path, environ, defaults=_defaults(flows))
    systems = _systems_of(flows)
    _check_names(settings, flows, systems)
    sections = {name: settings.system(name, system.settings) for name, system in systems.items()}
    return Registry(settings, tuple(flows), sections)
