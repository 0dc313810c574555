from __future__ import annotations

from pathlib import Path

from ferry.settings import Settings, load_settings

EXAMPLE = Path(__file__).resolve().parents[3] / "ferry.example.yaml"


def test_example_config_is_valid_and_equals_the_embedded_defaults() -> None:
    assert load_settings(EXAMPLE, environ={}) == Settings()
