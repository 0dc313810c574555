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


def test_every_alert_says_what_and_how_bad() -> None:
    import yaml

    rules = yaml.safe_load((PROMETHEUS_DIR / "rules" / "ferry.rules.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
            assert rule["annotations"]["summary"], rule["alert"]
            assert rule["annotations"]["description"], rule["alert"]


def test_shrunk_rules_change_only_durations(promtool: str, tmp_path: Path) -> None:
    import yaml

    from tests.support.rules import RULES, shrink_rules, without_durations

    shipped = yaml.safe_load(RULES.read_text())["groups"][0]["rules"]
    shrunk_file = shrink_rules(tmp_path / "ferry.rules.yml", factor=20, minimum=5)
    shrunk = yaml.safe_load(shrunk_file.read_text())["groups"][0]["rules"]

    _run(promtool, "check", "rules", str(shrunk_file))
    assert [r["alert"] for r in shrunk] == [r["alert"] for r in shipped]
    by_name = {r["alert"]: r for r in shrunk}
    for rule in shipped:
        mine = by_name[rule["alert"]]
        assert without_durations(mine["expr"]) == without_durations(rule["expr"])
        assert {k: v for k, v in mine.items() if k not in ("expr", "for")} == {
            k: v for k, v in rule.items() if k not in ("expr", "for")
        }
    lag = by_name["FerryConsumerLagGrowing"]
    assert lag["for"] == "30s"
    assert "deriv(ferry_consumer_lag[30s])" in lag["expr"]
    assert "ferry_dlq_total offset 15s" in by_name["FerryDeadLetters"]["expr"]
    assert "[180s]" in by_name["FerrySourceSilent"]["expr"]  # 1h
    assert "[4320s]" in by_name["FerrySourceSilent"]["expr"]  # 1d
