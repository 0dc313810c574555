"""The gateway's route table: one webhook route per enabled flow with a webhook source."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import SecretStr

from ferry.errors import ConfigError
from ferry.flow import SignatureScheme, WebhookConverter, WebhookSource
from ferry.registry import Registry

__all__ = ["WebhookRoute", "webhook_routes"]


@dataclass(frozen=True, slots=True)
class WebhookRoute:
    """``POST path``: from ``system``, signed by ``signature`` with ``secret``, converted into
    ``event_type`` and produced to ``topic``."""

    path: str
    system: str
    event_type: str
    topic: str
    convert: WebhookConverter
    signature: SignatureScheme
    secret: SecretStr
    topic_header: str | None = None
    webhook_topic: str | None = None
    delivery_header: str | None = None

    @classmethod
    def of(
        cls, source: WebhookSource, *, system: str, event_type: str, topic: str, secret: SecretStr
    ) -> WebhookRoute:
        return cls(
            path=source.path,
            system=system,
            event_type=event_type,
            topic=topic,
            convert=source.convert,
            signature=source.signature,
            secret=secret,
            topic_header=source.topic_header,
            webhook_topic=source.webhook_topic,
            delivery_header=source.delivery_header,
        )


def webhook_routes(
    registry: Registry, environ: Mapping[str, str] | None = None
) -> list[WebhookRoute]:
    """The routes of the enabled flows; secrets resolved now (:class:`ConfigError` naming
    the key when one cannot be read; two flows on one path are refused)."""
    routes: dict[str, WebhookRoute] = {}
    for flow in registry.webhook_flows():
        source = flow.webhook
        assert source is not None
        if source.path in routes:
            raise ConfigError(
                f"flows.{flow.name}", f"webhook path {source.path} is taken by another flow"
            )
        system = flow.source.system
        secret = registry.secret(system, source.secret_field, environ)
        routes[source.path] = WebhookRoute.of(
            source,
            system=system.name,
            event_type=flow.source.event_type,
            topic=flow.source.topic,
            secret=secret,
        )
    return list(routes.values())
