"""The client credentials grant (``POST /admin/oauth/access_token``) and its access tokens.

Tokens look like Shopify's (``shpat_`` and 32 hex digits), live 24 hours unless configured
otherwise, and are kept only as SHA-256 digests, in the store, so they survive a restart.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any

from .store import Store

TOKEN_PREFIX = "shpat_"  # noqa: S105  # the prefix of Shopify's tokens, not a secret
TOKEN_LIFETIME_S = 24 * 3600.0
SCOPES = (
    "read_inventory,write_inventory,read_locations,read_orders,write_orders,"
    "read_products,write_products"
)
INVALID_TOKEN: dict[str, Any] = {
    "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
}
INVALID_CLIENT: dict[str, Any] = {
    "error": "invalid_client",
    "error_description": (
        "Client authentication failed due to unknown client, no client authentication"
        " included, or unsupported authentication method."
    ),
}
UNSUPPORTED_GRANT: dict[str, Any] = {
    "error": "unsupported_grant_type",
    "error_description": (
        "The authorization grant type is not supported by the authorization server."
    ),
}


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Auth:
    def __init__(
        self,
        store: Store,
        client_id: str,
        client_secret: str,
        *,
        lifetime_s: float = TOKEN_LIFETIME_S,
        scope: str = SCOPES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.client_id = client_id
        self._secret = client_secret
        self.lifetime_s = lifetime_s
        self.scope = scope
        self._clock = clock

    @property
    def client_secret(self) -> str:
        return self._secret

    def grant(self, params: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        """The status and JSON body of an access token request."""
        if params.get("grant_type") != "client_credentials":
            return 400, UNSUPPORTED_GRANT
        client_id = params.get("client_id")
        secret = params.get("client_secret")
        if not (
            isinstance(client_id, str)
            and isinstance(secret, str)
            and hmac.compare_digest(client_id.encode(), self.client_id.encode())
            and hmac.compare_digest(secret.encode(), self._secret.encode())
        ):
            return 401, INVALID_CLIENT
        token = TOKEN_PREFIX + secrets.token_hex(16)
        now = self._clock()
        self.store.drop_expired_tokens(now)
        self.store.add_token(digest(token), now + self.lifetime_s)
        # Shopify answers 86399 for its 24 h: the second already begun is not counted.
        expires_in = max(0, int(self.lifetime_s) - 1)
        return 200, {"access_token": token, "scope": self.scope, "expires_in": expires_in}

    def valid(self, token: str | None) -> bool:
        if not token:
            return False
        expires_at = self.store.token_expiry(digest(token))
        return expires_at is not None and self._clock() < expires_at

    def expire_all(self) -> None:
        self.store.expire_tokens(self._clock())
