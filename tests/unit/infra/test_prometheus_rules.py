"""promtool validates the shipped Prometheus config and alert rules, and runs their unit tests."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

PROMETHEUS_DIR = Path(__file__).resolve().parents[3] / "infra" / "prometheus"


@pytest.fixture(scope="module")
def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail(
            "promtool is not installed: run `make prometheus` "
            "(apt-get install -y --no-install-recommends prometheus)",
            pytrace=False,
        )
    return found


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_config_is_valid(promtool: str) -> None:
    result = _run(promtool, "check", "config", str(PROMETHEUS_DIR / "prometheus.yml"))

    assert "SUCCESS" in result.stdout + result.stderr


def test_rules_are_valid(promtool: str) -> None:
    rule_files = sorted((PROMETHEUS_DIR / "rules").glob("*.rules.yml"))
    assert rule_files

    _run(promtool, "check", "rules", *map(str, rule_files))


def test_rules_behave_as_their_tests_say(promtool: str) -> None:
    test_files = sorted((PROMETHEUS_DIR / "tests").glob("*.test.yml"))
    assert test_files

    _run(promtool, "test", "rules", *map(str, test_files))


def test_every_alert_has_a_test(promtool: str) -> None:
    import yaml

    rules = yaml.safe_load((PROMETHEUS_DIR / "rules" / "ferry.rules.yml").read_text())
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    tested = {
        case["alertname"]
        for path in (PROMETHEUS_DIR / "tests").glob("*.test.yml")
        for test in yaml.safe_load(path.read_text())["tests"]
        for case in test.get("alert_rule_test", [])
    }

    assert alerts - tested == set()
