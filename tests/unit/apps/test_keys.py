"""App keys: their shape, the app they name, their peppered hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets

import pytest
from pydantic import SecretStr

from ferry.apps import app_of, check_name, key_hash, new_key
from ferry.errors import ConfigError
from tests.unit.apps.helpers import PEPPER


@pytest.mark.parametrize("name", ["pos", "pos-1", "7eleven", "a", "a" * 40, "a-"])
def test_a_key_names_its_app(name: str) -> None:
    key = new_key(name)
    prefix, random = key[: len(name) + 4], key[len(name) + 4 :]
    assert prefix == f"fy_{name}_"
    assert len(random) == 43  # secrets.token_urlsafe(32)
    assert app_of(key) == name


def test_keys_are_random() -> None:
    keys = {new_key("pos") for _ in range(100)}
    assert len(keys) == 100


@pytest.mark.parametrize("name", ["", "POS", "pos_1", "-pos", "a" * 41, "pós", "po s", "pos\n"])
def test_app_names_follow_the_rule(name: str) -> None:
    with pytest.raises(ValueError, match=r"\[a-z0-9\]\[a-z0-9-\]\{0,39\}") as caught:
        check_name(name)
    assert "lowercase letters, digits and -" in str(caught.value)
    with pytest.raises(ValueError, match="lowercase letters"):
        new_key(name)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "fy_pos",
        "fy_pos_",
        "fy_pos_short",
        "Bearer fy_pos_" + "x" * 43,
        "fy_POS_" + "x" * 43,
        "fy__" + "x" * 43,
        "fy_pos_" + "x" * 129,
        "fy_pos_" + "x" * 42 + "=",
        "xx_pos_" + "x" * 43,
    ],
)
def test_what_is_not_shaped_like_a_key_names_no_app(text: str) -> None:
    assert app_of(text) is None


def test_the_random_part_may_hold_underscores_the_name_may_not() -> None:
    assert app_of("fy_pos_" + "_" * 43) == "pos"
    assert app_of("fy_pos-a_b_" + "y" * 43) == "pos-a"


def test_the_hash_is_the_hex_hmac_sha256_of_the_key_with_the_pepper() -> None:
    key = new_key("pos")
    stored = key_hash(key, PEPPER)
    expected = hmac.new(PEPPER.get_secret_value().encode(), key.encode(), hashlib.sha256)
    assert stored == expected.hexdigest()
    assert len(stored) == 64
    assert key not in stored
    assert key_hash(key, PEPPER) == stored  # stable
    assert stored != key_hash(key, SecretStr(secrets.token_urlsafe(24)))  # another pepper
    assert stored != key_hash(new_key("pos"), PEPPER)


def test_an_empty_pepper_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"apps\.pepper"):
        key_hash(new_key("pos"), SecretStr(""))
