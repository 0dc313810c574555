"""The gateway's route table: one webhook route per enabled flow with a webhook source."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import SecretStr

from ferry.errors import ConfigError
from ferry.flow import WebhookSource
from ferry.registry import Registry
from ferry.secrets import parse_secret_ref
from producers.gateway.schemes import ShopifyScheme, WebhookScheme, scheme_for

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
    scheme: WebhookScheme | None = None  # None: the source's own (Shopify-style)
    previous_secrets: tuple[SecretStr, ...] = ()  # still accepted while being rotated out
    dedupe_s: float = 86_400.0  # a delivery id seen this recently is a replay

    @property
    def secrets(self) -> tuple[SecretStr, ...]:
        return (self.secret, *self.previous_secrets)

    @property
    def checker(self) -> WebhookScheme:
        if self.scheme is not None:
            return self.scheme
        source = self.source
        return ShopifyScheme(tuple(source.signature.headers), tuple(source.delivery_headers))

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
        tuning = registry.settings.flow(flow.name)
        key = f"flows.{flow.name}"
        previous = tuple(
            parse_secret_ref(f"{key}.webhook_previous_secrets", ref).resolve(
                f"{key}.webhook_previous_secrets", environ
            )
            for ref in tuning.webhook_previous_secrets
        )
        routes[source.path] = WebhookRoute(
            source=source,
            system=system.name,
            event_type=flow.source.event_type,
            topic=flow.source.topic,
            secret=registry.secret(system, source.secret_field, environ),
            max_future_s=tuning.max_future_s,
            scheme=scheme_for(
                tuning.webhook_scheme, source, tuning.webhook_tolerance_s, f"{key}.webhook_scheme"
            ),
            previous_secrets=previous,
            dedupe_s=tuning.webhook_dedupe_s,
        )
    return list(routes.values())
