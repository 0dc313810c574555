from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from pydantic import SecretStr

from producers.gateway.signature import sign, verify

SECRET = secrets.token_urlsafe(24)  # generated per run: no secret lives in code
BODY = b'{"id": 1001, "name": "#1001"}'


def test_sign_is_base64_hmac_sha256_of_the_raw_body() -> None:
    expected = base64.b64encode(hmac.new(SECRET.encode(), BODY, hashlib.sha256).digest()).decode()
    assert sign(SECRET, BODY) == expected
    assert sign(SecretStr(SECRET), BODY) == expected
    assert sign(SECRET.encode(), BODY) == expected


def test_valid_signature_verifies() -> None:
    assert verify(SecretStr(SECRET), BODY, sign(SECRET, BODY))


def test_missing_signature_fails() -> None:
    assert not verify(SECRET, BODY, None)
    assert not verify(SECRET, BODY, "")


def test_wrong_secret_fails() -> None:
    assert not verify(SECRET, BODY, sign("another-secret", BODY))


def test_tampered_body_fails() -> None:
    signature = sign(SECRET, BODY)
    assert not verify(SECRET, BODY.replace(b"1001", b"1002"), signature)
    assert not verify(SECRET, BODY + b" ", signature)


def test_garbage_signature_fails_without_raising() -> None:
    assert not verify(SECRET, BODY, "not base64 at all ✓")
    assert not verify(SECRET, BODY, sign(SECRET, BODY)[:-2])
