"""Odoo as a sink target: one authenticated client shared by every Odoo sink of a service."""

from __future__ import annotations

from collections.abc import Mapping

from ferry.errors import AuthenticationError
from ferry.metrics import ServiceMetrics
from ferry.odoo import OdooClient
from ferry.odoo.settings import OdooSystem
from ferry.sink import CachedProbe

__all__ = ["OdooTarget", "key_hint"]


def key_hint(settings: OdooSystem) -> str:
    """Where the operator fixes the Odoo API key: the env variable or the secret file."""
    ref = settings.api_key
    return ref.target if ref.kind == "env" else f"the secret file {ref.target} (odoo api_key)"


class OdooTarget:
    """The client, plus the one line an operator sees when Odoo refuses the key."""

    def __init__(
        self,
        odoo: OdooClient,
        *,
        key_hint: str = "FERRY_ODOO_API_KEY",
        probe_every_s: float = 5.0,
        request_limit_s: float = 120.0,
        version_field: str = "x_ferry_version",
    ) -> None:
        self.odoo = odoo
        self.key_hint = key_hint
        self.request_limit_s = request_limit_s
        self.version_field = version_field
        self._probe = CachedProbe(
            lambda: odoo.search("res.currency", [], limit=1), every_s=probe_every_s
        )

    @classmethod
    def connect(
        cls,
        settings: OdooSystem,
        environ: Mapping[str, str] | None,
        *,
        version_field: str = "x_ferry_version",
    ) -> OdooTarget:
        """From ``systems.odoo``; ``ConfigError`` when the key cannot be resolved."""
        return cls(
            OdooClient.from_settings(settings, environ=environ),
            key_hint=key_hint(settings),
            request_limit_s=settings.request_limit_s,
            version_field=version_field,
        )

    def count_calls(self, metrics: ServiceMetrics) -> None:
        """Count every call of the client in ``ferry_target_calls_total`` (system ``odoo``)."""
        calls = metrics.target_calls

        def count(model: str, method: str) -> None:
            calls.labels(metrics.service, "odoo", model, method).inc()

        self.odoo.on_call = count

    def refused(self, exc: AuthenticationError) -> AuthenticationError:
        """``exc`` as the operator's one line."""
        return AuthenticationError(
            f"Odoo refused the API key for login {self.odoo.login} on database "
            f"{self.odoo.database}: check {self.key_hint}"
        )

    async def check_credentials(self) -> None:
        try:
            await self.odoo.authenticate()
        except AuthenticationError as exc:
            raise self.refused(exc) from exc

    async def ready(self) -> bool:
        """Odoo answered a cheap authenticated read within the last ``probe_every_s``."""
        return await self._probe()

    async def aclose(self) -> None:
        await self.odoo.aclose()
