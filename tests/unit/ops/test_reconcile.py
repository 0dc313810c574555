"""Reconciliation's judgement: missing, different (state or lines), unexpected."""

from __future__ import annotations

from typing import Any

from consumers.odoo.reconcile import Expected, Found, judge


def want(external_id: str, state: str = "sale", *lines: tuple[str, float, float]) -> Expected:
    record: Any = object()
    return Expected(external_id, state, tuple(sorted(lines)), record)


def test_each_kind_of_mismatch_is_named() -> None:
    line = ("SKU-001", 2.0, 149.0)
    expected = {
        "ferry.a": want("ferry.a", "sale", line),
        "ferry.b": want("ferry.b", "sale", line),
        "ferry.c": want("ferry.c", "cancel", line),
        "ferry.d": want("ferry.d", "sale", line),
    }
    found = {
        "ferry.a": Found("ferry.a", "sale", (line,)),  # in step
        "ferry.c": Found("ferry.c", "sale", (line,)),  # not cancelled
        "ferry.d": Found("ferry.d", "sale", (("SKU-001", 3.0, 149.0),)),  # another quantity
        "ferry.x": Found("ferry.x", "sale", (line,)),  # no source explains it
    }
    report = judge("f", expected, found, 1, all_of_target=True)
    kinds = [(m.kind, m.external_id) for m in report.mismatches]
    assert kinds == [
        ("missing", "ferry.b"),
        ("different", "ferry.c"),
        ("different", "ferry.d"),
        ("unexpected", "ferry.x"),
    ]
    assert "state sale, expected cancel" in report.mismatches[1].detail
    assert (report.checked, report.invalid) == (4, 1)
    scoped = judge("f", expected, found, 0, all_of_target=False)
    assert "unexpected" not in [m.kind for m in scoped.mismatches]
