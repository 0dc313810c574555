"""@idempotent keys: the first result per key, once; other arguments under the key refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sandbox.shop.idempotency import fingerprint, run_once
from sandbox.shop.store import Store

EMPTY = {"inventoryAdjustmentGroup": None}


class Counter:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> dict[str, Any]:
        self.calls += 1
        return {"inventoryAdjustmentGroup": {"id": f"g{self.calls}"}, "userErrors": []}


def test_a_repeat_with_the_same_key_returns_the_first_result_without_running() -> None:
    store, perform = Store(), Counter()
    first = run_once(store, "k", "op", {"input": {"q": 1}}, perform, EMPTY)
    again = run_once(store, "k", "op", {"input": {"q": 1}}, perform, EMPTY)
    assert first == again == {"inventoryAdjustmentGroup": {"id": "g1"}, "userErrors": []}
    assert perform.calls == 1


def test_distinct_keys_run_distinct_operations() -> None:
    store, perform = Store(), Counter()
    run_once(store, "k1", "op", {"q": 1}, perform, EMPTY)
    second = run_once(store, "k2", "op", {"q": 1}, perform, EMPTY)
    assert second["inventoryAdjustmentGroup"] == {"id": "g2"}
    assert perform.calls == 2


def test_the_same_key_with_other_arguments_is_a_mismatch_and_runs_nothing() -> None:
    store, perform = Store(), Counter()
    run_once(store, "k", "op", {"q": 1}, perform, EMPTY)
    other = run_once(store, "k", "op", {"q": 2}, perform, EMPTY)
    assert other == {
        "inventoryAdjustmentGroup": None,
        "userErrors": [
            {
                "field": None,
                "code": "IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
                "message": (
                    "The same idempotency key cannot be used with different operation parameters."
                ),
            }
        ],
    }
    assert perform.calls == 1


def test_a_failing_operation_leaves_its_key_unused() -> None:
    store = Store()

    def boom() -> dict[str, Any]:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        run_once(store, "k", "op", {}, boom, EMPTY)
    assert store.idempotent_result("k") is None


def test_keys_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "shop.sqlite3"
    store, perform = Store(path), Counter()
    run_once(store, "k", "op", {"q": 1}, perform, EMPTY)
    store.close()
    reopened = Store(path)
    assert run_once(reopened, "k", "op", {"q": 1}, perform, EMPTY)["inventoryAdjustmentGroup"] == {
        "id": "g1"
    }
    assert perform.calls == 1


def test_the_fingerprint_ignores_key_order_but_not_values() -> None:
    assert fingerprint("op", {"a": 1, "b": 2}) == fingerprint("op", {"b": 2, "a": 1})
    assert fingerprint("op", {"a": 1}) != fingerprint("op", {"a": 2})
    assert fingerprint("op", {"a": 1}) != fingerprint("other", {"a": 1})
