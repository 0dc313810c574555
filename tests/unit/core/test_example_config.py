from __future__ import annotations

from pathlib import Path

from ferry.registry import load

EXAMPLE = Path(__file__).resolve().parents[3] / "ferry.example.yaml"


def test_example_config_is_valid_and_equals_the_embedded_defaults() -> None:
    example, defaults = load(EXAMPLE, environ={}), load(environ={})
    assert example.enabled == defaults.enabled
    assert example.settings.kafka == defaults.settings.kafka
    assert example.settings.services == defaults.settings.services
    assert example.settings.retry == defaults.settings.retry
    assert example.settings.dlq == defaults.settings.dlq
    assert example.settings.console == defaults.settings.console
    assert example.ownership == defaults.ownership
    for flow in defaults.flows:
        assert example.partitions(flow) == defaults.partitions(flow)
        assert example.settings.flow(flow.name) == defaults.settings.flow(flow.name).model_copy(
            update={"partitions": defaults.partitions(flow)}
        )
    for name in defaults.systems:
        assert example.system_settings(name) == defaults.system_settings(name)
    assert sorted(example.settings.systems) == sorted(defaults.systems)
