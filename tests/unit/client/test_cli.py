"""``ferry publish`` through click's runner; the client's transport is the contract's fake
gateway (the command's ``client_factory`` seam)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import ferry.cli.publish
from ferry.cli import cli
from ferry.client import FerryClient
from tests.unit.client.fakegateway import KEY, QUICK, FakeGateway, refusal

URL = "http://gateway.test:8080"


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeGateway:
    fake = FakeGateway()

    def factory(url: str, key: str) -> FerryClient:
        fake.urls.append(url)
        return FerryClient(url, key, transport=fake.transport(), backoff=QUICK)

    monkeypatch.setattr(ferry.cli.publish, "client_factory", factory)
    monkeypatch.setenv("FERRY_APP_KEY", KEY)
    monkeypatch.delenv("FERRY_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)  # no .env here
    return fake


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["publish", *args], input=input)


def jsonl(path: Path, *lines: object) -> Path:
    path.write_text(
        "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n"
    )
    return path


# -- one event -------------------------------------------------------------------------------


def test_one_event_from_inline_json_prints_its_id(gateway: FakeGateway) -> None:
    result = run("shop.order.created", "--data", '{"total": 19.990}', "--id", "o-1", "--url", URL)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "accepted o-1"
    assert gateway.calls == 1
    assert gateway.requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert b'"data":{"total":19.990}' in gateway.requests[0].content  # the digits as typed
    assert gateway.json()["type"] == "shop.order.created"


def test_data_from_a_file_and_from_stdin(gateway: FakeGateway, tmp_path: Path) -> None:
    (tmp_path / "order.json").write_text('{"n": 1}')
    assert run("t", "--data", "@order.json", "--url", URL).exit_code == 0
    assert run("t", "--data", "-", "--url", URL, input='{"n": 2}').exit_code == 0
    assert [gateway.json(i)["data"] for i in range(2)] == [{"n": 1}, {"n": 2}]


def test_a_refused_event_is_exit_1_with_the_field_and_rule(gateway: FakeGateway) -> None:
    gateway.refuse["o-1"] = (422, "total has 5 places", "data.total", "decimal(18,4)")
    result = run("t", "--data", "{}", "--id", "o-1", "--url", URL)
    assert result.exit_code == 1
    assert "422: total has 5 places (data.total: decimal(18,4))" in result.stderr
    assert KEY not in result.output


def test_the_gateway_unreachable_is_exit_1(gateway: FakeGateway) -> None:
    gateway.script = [refusal(503, "kafka away")] * 6
    result = run("t", "--data", "{}", "--url", URL)
    assert result.exit_code == 1
    assert "503: kafka away" in result.stderr
    assert gateway.calls == 6


# -- usage ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ([], "give TYPE with --data, or --file"),
        (["t"], "TYPE needs --data"),
        (["t", "--data", "{", "--url", URL], "--data: not JSON"),
        (["t", "--data", "NaN", "--url", URL], "--data: not JSON"),
        (["t", "--data", "@missing.json", "--url", URL], "cannot read it"),
        (["t", "--data", "{}", "--file", "x.jsonl"], "not both"),
        (["--file", "missing.jsonl", "--url", URL], "no such file"),
        (["t", "--data", "{}", "--id", "", "--url", URL], "id must be a non-empty string"),
        (["t", "--data", "{}", "--key", KEY], "No such option: --key"),
    ],
)
def test_usage_errors_are_exit_2(gateway: FakeGateway, args: list[str], says: str) -> None:
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert says in result.output
    assert gateway.calls == 0


def test_the_key_comes_from_the_environment_or_a_key_file(
    gateway: FakeGateway, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("FERRY_APP_KEY")
    missing = run("t", "--data", "{}", "--url", URL)
    assert missing.exit_code == 2
    assert "FERRY_APP_KEY" in missing.output
    (tmp_path / "key").write_text(KEY + "\n")
    assert run("t", "--data", "{}", "--url", URL, "--key-file", "key").exit_code == 0
    assert gateway.requests[0].headers["authorization"] == f"Bearer {KEY}"
    monkeypatch.setenv("FERRY_APP_KEY", "fy_pos_with space")
    bad = run("t", "--data", "{}", "--url", URL)
    assert bad.exit_code == 2
    assert "with space" not in bad.output


def test_the_url_comes_from_the_configuration(
    gateway: FakeGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FERRY__SERVICES__GATEWAY__HOST", "0.0.0.0")
    monkeypatch.setenv("FERRY__SERVICES__GATEWAY__PORT", "18181")
    result = run("t", "--data", "{}")
    assert result.exit_code == 0, result.output
    assert gateway.urls == ["http://127.0.0.1:18181"]


# -- a file of events ------------------------------------------------------------------------


def test_a_file_is_sent_in_batches_and_every_problem_is_named_by_its_line(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    gateway.refuse["e4"] = (422, "qty is not an int", "[0].data.qty", "int32")
    events = jsonl(
        tmp_path / "events.jsonl",
        {"type": "t", "data": {"n": 1}, "id": "e1"},
        {"type": "t", "data": {"n": 2}, "id": "e2", "subject": "s"},
        '{"type": "t", "data": ',  # line 3: cut short
        {"type": "t", "data": {"qty": "x"}, "id": "e4"},
        "",  # a blank line is skipped
        {"type": "t", "id": "e6"},  # line 6: no data
        {"type": "t", "data": {}, "id": "e7", "colour": "red"},  # line 7: unknown key
        {"type": "t", "data": {"total": 1.10}, "id": "e8"},
    )
    result = run("--file", str(events), "--batch-size", "2", "--url", URL)
    assert result.exit_code == 1, result.output
    assert result.stdout.strip() == "accepted 3, rejected 4"
    errors = [line.strip() for line in result.stderr.splitlines() if line.startswith("  line")]
    assert errors[0].startswith("line 3: not JSON")
    assert errors[1] == "line 6: an event needs type and data"
    assert errors[2].startswith("line 7: unknown key colour")
    assert errors[3] == "line 4: [0].data.qty (int32) qty is not an int"
    assert gateway.calls == 2  # e1 e2 | e4 e8
    assert [[e["id"] for e in gateway.json(i)] for i in range(2)] == [["e1", "e2"], ["e4", "e8"]]
    assert b'"total":1.1' in gateway.requests[1].content


def test_a_file_all_accepted_is_exit_0(gateway: FakeGateway, tmp_path: Path) -> None:
    events = jsonl(tmp_path / "ok.jsonl", *({"type": "t", "data": {"n": n}} for n in range(5)))
    result = run("--file", str(events), "--url", URL)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "accepted 5, rejected 0"
    assert gateway.calls == 1


def test_bad_utf8_is_one_line_s_problem(gateway: FakeGateway, tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_bytes(b'{"type": "t", "data": {}}\n{"type": "t", "data": "\xff"}\n')
    result = run("--file", str(events), "--url", URL)
    assert result.exit_code == 1
    assert "line 2: not UTF-8" in result.stderr
    assert result.stdout.strip() == "accepted 1, rejected 1"


def test_a_whole_batch_refused_stops_and_says_what_was_not_sent(
    gateway: FakeGateway, tmp_path: Path
) -> None:
    events = jsonl(tmp_path / "e.jsonl", *({"type": "t", "data": {}} for _ in range(5)))
    gateway.script = [gateway.answer, refusal(401, "a valid app key is required")]
    result = run("--file", str(events), "--batch-size", "2", "--url", URL)
    assert result.exit_code == 1
    assert result.stdout.strip() == "accepted 2, rejected 0"
    assert "401: a valid app key is required" in result.stderr
    assert "3 events not sent" in result.stderr
    assert gateway.calls == 2
