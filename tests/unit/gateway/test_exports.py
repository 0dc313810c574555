from __future__ import annotations

import importlib

import pytest

MODULES = [
    "producers.gateway.app",
    "producers.gateway.checks",
    "producers.gateway.limits",
    "producers.gateway.producer",
    "producers.gateway.rejections",
    "producers.gateway.runner",
    "producers.shop.webhook",
    "producers.gateway.signature",
    "producers.shop.sample",
]


@pytest.mark.parametrize("name", MODULES)
def test_all_names_exist(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert len(set(exported)) == len(exported)
    for attr in exported:
        assert hasattr(module, attr), f"{name}.__all__ lists missing {attr}"
