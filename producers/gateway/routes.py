"""The gateway's route table: one webhook route per enabled flow with a webhook source."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import SecretStr

from ferry.errors import ConfigError
from ferry.flow import WebhookSource
from ferry.registry import Registry

__all__ = ["WebhookRoute", "webhook_routes"]


@dataclass(frozen=True, slots=True)
class WebhookRoute:
    """``POST source.path``: from ``system``, signed with ``secret`` by the source's scheme,
    converted into ``event_type`` and produced to ``topic``. A record whose timestamps lie
    more than ``max_future_s`` ahead of now is refused (the flow's ``max_future_s``)."""

    source: WebhookSource
    system: str
    event_type: str
    topic: str
    secret: SecretStr
    max_future_s: float = 86_400.0

    @property
    def path(self) -> str:
        return self.source.path


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
        routes[source.path] = WebhookRoute(
            source=source,
            system=system.name,
            event_type=flow.source.event_type,
            topic=flow.source.topic,
            secret=registry.secret(system, source.secret_field, environ),
            max_future_s=registry.settings.flow(flow.name).max_future_s,
        )
    return list(routes.values())
