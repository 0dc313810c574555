"""The flow model: one flow of events, declared once, read by every stage.

A :class:`Flow` names where its events come from (a system, an event type, a topic), the rules
they must meet, how they map, where the result goes and which sink applies it there. A
:class:`System` is a connected system: its settings section, the secrets the embedded defaults
generate for it, the stand-in ``ferry up`` runs for it and the connection its sinks share.
Stages never name a flow or a system: they iterate the registry (:mod:`ferry.registry`).
See ``docs/adding-a-flow.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from pydantic import BaseModel, SecretStr

from ferry.envelope import CloudEvent
from ferry.metrics import ServiceMetrics
from ferry.settings import ServiceSettings
from ferry.sink import Sink, Target
from ferry.stack import ServiceSpec
from ferry.topics import TopicSpec, dlq, system_of_topic
from ferry.versions import VersionStore

if TYPE_CHECKING:
    from ferry.reconcile import Reconcile

__all__ = [
    "Converted",
    "Endpoint",
    "Flow",
    "Mapper",
    "PublishSource",
    "SignatureScheme",
    "SinkContext",
    "System",
    "Validator",
    "WebhookSource",
    "first_header",
]

ConfigT = TypeVar("ConfigT", bound=BaseModel)
ServiceLookup = Callable[[str], ServiceSettings]  # a service's name -> where it listens
# (section, environment, the gateway's producer, enabled flows) -> (routes, topics they write)
GatewayRoutes = Callable[
    [Any, "Mapping[str, str] | None", Any, "Sequence[Flow]"], tuple[list[Any], list[TopicSpec]]
]
Validator = Callable[[Mapping[str, Any]], None]
# A mapping returns the target record, or None when the event says nothing to the target.
Mapper = Callable[[Mapping[str, Any]], dict[str, Any] | None]


@dataclass(frozen=True, slots=True, eq=False)
class System(Generic[ConfigT]):
    """A connected system. Its settings live under ``systems.<name>`` in ``ferry.yaml``.

    - ``settings``: the pydantic model of that section (its defaults are the embedded ones);
    - ``secrets``: fresh values for the git-ignored ``.env`` of the embedded defaults;
    - ``sandbox``: the stand-in ``ferry up`` starts, given the section, a state directory and
      where Ferry's services listen (a sandbox posting webhooks needs the gateway's address);
    - ``connect``: the connection (a :class:`~ferry.sink.Target`) its sinks share, given the
      section and the environment the secrets are resolved from;
    - ``sink_port``: the default ops port of ``ferry sink <name>``;
    - ``services``: Ferry services of its own (a change capture, say), given its section and
      the enabled flows; ``service_ports`` their default ports (``services.<name>`` moves them);
    - ``gateway_routes``: routes it adds to the gateway, given its section, the environment,
      the gateway's producer and the enabled flows; they return the routes and the topics
      they write (Odoo's automation webhook, say);
    - ``cli``: modules that add commands (each defines ``register(cli: click.Group)``);
    - ``reconcile``: compares a flow's source with what this system holds
      (:mod:`ferry.reconcile`: ``ferry reconcile`` and the sinks' scheduled runs);
    - ``try_it``: what ``ferry up`` suggests a new user runs to see this system at work.
    """

    name: str
    settings: type[ConfigT]
    secrets: Callable[[], dict[str, str]] = dict
    sandbox: Callable[[ConfigT, Path, ServiceLookup], ServiceSpec] | None = None
    connect: Callable[[ConfigT, Mapping[str, str] | None], Target] | None = None
    sink_port: int | None = None
    services: Callable[[ConfigT, Sequence[Flow]], Sequence[ServiceSpec]] | None = None
    service_ports: Mapping[str, int] = field(default_factory=dict)
    gateway_routes: GatewayRoutes | None = None
    cli: tuple[str, ...] = ()
    reconcile: Reconcile | None = None
    try_it: str | None = None

    def __hash__(self) -> int:
        return hash(self.name)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, System) and other.name == self.name


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One end of a flow: events of ``event_type`` on ``topic``, stated by ``system``."""

    system: System[Any]
    event_type: str
    topic: str

    def __post_init__(self) -> None:
        if system_of_topic(self.topic) != self.system.name:
            raise ValueError(f"{self.topic}: not a topic of system {self.system.name!r}")


@dataclass(frozen=True, slots=True)
class Converted:
    """What a webhook body became: the record, its entity key and its envelope."""

    record: dict[str, Any]
    key: str
    event: CloudEvent


class SignatureScheme(Protocol):
    """How a system signs its webhooks. ``headers`` may carry the signature (the first found
    is checked); ``rule`` says how it is made."""

    @property
    def headers(self) -> tuple[str, ...]: ...
    @property
    def rule(self) -> str: ...

    def verify(self, secret: SecretStr, body: bytes, signature: str) -> bool: ...


def first_header(headers: Mapping[str, str], names: Sequence[str]) -> tuple[str, str | None]:
    """The first of ``names`` present in ``headers`` and its value (else the first name)."""
    for name in names:
        value = headers.get(name)
        if value is not None:
            return name, value
    return (names[0] if names else ""), None


class WebhookConverter(Protocol):
    def __call__(
        self, payload: Any, *, delivery_id: str | None, traceparent: str | None
    ) -> Converted: ...


@dataclass(frozen=True, slots=True)
class WebhookSource:
    """A gateway route: ``POST path``, signed with ``signature`` by the source system.

    ``secret_field`` names the field of the system's settings that holds the signing secret.
    ``topic_headers``/``webhook_topics``: the header naming the webhook's kind (first found of
    the names), and the kinds this route takes. ``delivery_headers``: the system's delivery id
    (the event's id derives from it). Several names: a system's header and its aliases.
    """

    path: str
    convert: WebhookConverter
    signature: SignatureScheme
    secret_field: str = "webhook_secret"  # noqa: S105 (a field name, not a secret)
    topic_headers: tuple[str, ...] = ()
    webhook_topics: tuple[str, ...] = ()
    delivery_headers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PublishSource:
    """Connected apps may publish the source's event type (``POST /v1/events``): ``data`` is the
    type's record in JSON, and ``key`` gives the entity key (the Kafka key) of a record."""

    key: Callable[[Mapping[str, Any]], str]


@dataclass(frozen=True, slots=True)
class SinkContext:
    """What a sink is built from: its flow, the target system's shared connection, the
    flow's version store (for targets that cannot hold Ferry's version themselves) and the
    service's metrics (``target_calls`` counts the calls a sink makes)."""

    flow: Flow
    target: Any
    versions: VersionStore
    metrics: ServiceMetrics | None = None


SinkFactory = Callable[[SinkContext], Sink]


@dataclass(frozen=True, slots=True)
class Flow:
    """One flow: ``source`` → ``validate`` → ``map`` → ``target`` → ``sink``.

    ``entity`` is what the flow changes and ``owner`` the system that owns it (its source of
    truth); ``version_field`` is the target record's field that ranks versions of an entity
    (left out of the change-only digest). ``sink`` builds the sink that applies the target's
    events from the target system's connection; ``webhook`` makes the gateway take the
    source's events over HTTP, ``publish`` lets connected apps publish them. ``schemas`` is a
    directory of the flow's own contracts (``<event.type>/v<N>.avsc``) when they are not under
    ``schemas/``.
    """

    name: str
    source: Endpoint
    target: Endpoint
    entity: str
    owner: str
    validate: Validator
    map: Mapper
    version_field: str | None = None
    sink: SinkFactory | None = None
    webhook: WebhookSource | None = None
    publish: PublishSource | None = None
    schemas: Path | None = None
    systems: tuple[System[Any], ...] = field(init=False, default=())

    def __post_init__(self) -> None:
        if not self.name or not all(c.isalnum() or c == "-" for c in self.name):
            raise ValueError(f"flow name {self.name!r}: use letters, digits and -")
        if self.owner not in (self.source.system.name, self.target.system.name):
            raise ValueError(
                f"flow {self.name}: {self.entity} is owned by {self.owner}, which is neither "
                f"its source ({self.source.system.name}) nor its target "
                f"({self.target.system.name})"
            )
        object.__setattr__(self, "systems", (self.source.system, self.target.system))

    @property
    def source_dlq(self) -> str:
        return dlq(self.source.topic)

    @property
    def target_dlq(self) -> str:
        return dlq(self.target.topic)
