"""Ferry's alert rules with their time scale shrunk, for tests that fire alerts for real.

Only durations change: every ``for:``, every range ``[...]`` and every ``offset`` of an
expression is divided by ``factor`` (at least ``minimum`` seconds); the expressions are
otherwise the shipped ones, character for character (:func:`without_durations` proves it).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

__all__ = ["RULES", "scaled", "shrink_rules", "without_durations"]

RULES = Path(__file__).resolve().parents[2] / "infra" / "prometheus" / "rules" / "ferry.rules.yml"
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(?P<n>\d+)(?P<unit>ms|s|m|h|d|w)\b")
_IN_EXPR = re.compile(r"(\[\s*|offset\s+)(\d+(?:ms|s|m|h|d|w))(?=\s*[\]\s)])")


def scaled(duration: str, factor: float, minimum: int) -> str:
    """``duration`` ("10m") divided by ``factor``, in whole seconds ("30s")."""
    match = _DURATION.fullmatch(duration.strip())
    if match is None:
        raise ValueError(f"not a Prometheus duration: {duration!r}")
    seconds = int(match["n"]) * _UNITS[match["unit"]]
    return f"{max(round(seconds / factor), minimum)}s"


def _scale_expr(expr: str, factor: float, minimum: int) -> str:
    return _IN_EXPR.sub(lambda m: m[1] + scaled(m[2], factor, minimum), expr)


def without_durations(expr: str) -> str:
    """``expr`` with each range and offset duration replaced by ``D`` (for comparisons)."""
    return _IN_EXPR.sub(lambda m: m[1] + "D", expr)


def shrink_rules(target: Path, *, factor: float = 20.0, minimum: int = 5) -> Path:
    """Write the shipped rules to ``target`` with their durations divided by ``factor``."""
    rules: dict[str, Any] = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule["expr"] = _scale_expr(str(rule["expr"]), factor, minimum)
            if "for" in rule:
                rule["for"] = scaled(str(rule["for"]), factor, minimum)
    target.write_text(yaml.safe_dump(rules, sort_keys=False), encoding="utf-8")
    return target
