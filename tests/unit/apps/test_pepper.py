"""The pepper: resolved from its secret reference, generated into a fresh .env."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from ferry import dotenv
from ferry.apps import resolve_pepper
from ferry.errors import ConfigError
from ferry.settings import AppsSettings


def test_the_pepper_comes_from_its_secret_reference(tmp_path: Path) -> None:
    value = secrets.token_urlsafe(24)
    assert resolve_pepper(AppsSettings(), {"FERRY_APPS_PEPPER": value}).get_secret_value() == value
    path = tmp_path / "pepper"
    path.write_text(value + "\n", encoding="utf-8")
    from_file = resolve_pepper(AppsSettings(pepper=f"file:{path}"), {})
    assert from_file.get_secret_value() == value


@pytest.mark.parametrize(
    ("environ", "problem"),
    [
        ({}, "FERRY_APPS_PEPPER is not set"),
        ({"FERRY_APPS_PEPPER": ""}, "FERRY_APPS_PEPPER is not set"),
        ({"FERRY_APPS_PEPPER": "short"}, "at least 16 characters"),
    ],
)
def test_a_missing_or_short_pepper_is_a_config_error_naming_apps_pepper(
    environ: dict[str, str], problem: str
) -> None:
    with pytest.raises(ConfigError, match=rf"apps\.pepper: .*{problem}") as caught:
        resolve_pepper(AppsSettings(), environ)
    assert caught.value.key == "apps.pepper"
    if environ.get("FERRY_APPS_PEPPER"):
        assert environ["FERRY_APPS_PEPPER"] not in str(caught.value)


def test_a_pepper_that_is_not_a_reference_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"apps\.pepper: inline secrets are refused") as caught:
        resolve_pepper(AppsSettings(pepper="literally-the-pepper-itself"), {})
    assert "literally-the-pepper-itself" not in str(caught.value)


def test_a_fresh_env_file_has_a_pepper_and_an_existing_one_is_kept(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    assert "FERRY_APPS_PEPPER" in dotenv.init(path)
    values = dotenv.load_dotenv(path, {})
    pepper = resolve_pepper(AppsSettings(), values)
    assert len(pepper.get_secret_value()) >= 40
    assert dotenv.init(path) == []
    assert dotenv.load_dotenv(path, {})["FERRY_APPS_PEPPER"] == values["FERRY_APPS_PEPPER"]
    other = tmp_path / "other.env"
    dotenv.init(other)
    assert dotenv.load_dotenv(other, {})["FERRY_APPS_PEPPER"] != values["FERRY_APPS_PEPPER"]


def test_an_older_env_file_gets_a_pepper_added(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("OTHER=1\n", encoding="utf-8")
    assert "FERRY_APPS_PEPPER" in dotenv.init(path)
    values = dotenv.load_dotenv(path, {})
    assert values["OTHER"] == "1"
    assert resolve_pepper(AppsSettings(), values)
