"""The client credentials grant and token lifetimes, on a fake clock."""

from __future__ import annotations

import secrets

from sandbox.shop.auth import Auth, digest
from sandbox.shop.store import Store

SECRET = secrets.token_hex(16)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def grant(auth: Auth, **params: str) -> tuple[int, dict[str, object]]:
    base = {"client_id": "app", "client_secret": SECRET, "grant_type": "client_credentials"}
    return auth.grant({**base, **params})


def test_a_grant_answers_a_token_its_scope_and_86399_seconds() -> None:
    store = Store()
    auth = Auth(store, "app", SECRET, clock=Clock())
    status, body = grant(auth)
    assert status == 200
    token = body["access_token"]
    assert isinstance(token, str)
    assert token.startswith("shpat_")
    assert len(token) == 38
    assert body["expires_in"] == 86399
    assert "write_inventory" in str(body["scope"])
    assert auth.valid(token)
    assert store.token_expiry(digest(token)) is not None
    assert store.token_expiry(token) is None  # only the digest is kept


def test_tokens_expire_after_their_lifetime() -> None:
    clock = Clock()
    auth = Auth(Store(), "app", SECRET, clock=clock)
    token = str(grant(auth)[1]["access_token"])
    clock.now += 24 * 3600 - 1
    assert auth.valid(token)
    clock.now += 1
    assert not auth.valid(token)


def test_a_configured_lifetime_and_expire_all() -> None:
    clock = Clock()
    auth = Auth(Store(), "app", SECRET, lifetime_s=5, clock=clock)
    status, body = grant(auth)
    assert status == 200
    assert body["expires_in"] == 4
    token = str(body["access_token"])
    auth.expire_all()
    assert not auth.valid(token)


def test_wrong_credentials_and_grant_types_are_refused() -> None:
    auth = Auth(Store(), "app", SECRET, clock=Clock())
    assert grant(auth, client_secret="wrong")[0] == 401
    assert grant(auth, client_id="other")[1]["error"] == "invalid_client"
    status, body = grant(auth, grant_type="authorization_code")
    assert (status, body["error"]) == (400, "unsupported_grant_type")
    assert not auth.valid(None)
    assert not auth.valid("shpat_" + "0" * 32)
