"""Compatibility: the real history passes; each breaking fixture is refused, naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from ferry.cli import cli
from ferry.compat import check_pair, check_registry
from ferry.schemas import SchemaRegistry

FIXTURES = Path(__file__).parent / "fixtures"


def _registry(case: str) -> SchemaRegistry:
    return SchemaRegistry.load(FIXTURES / case)


def test_the_real_schemas_are_backward_and_fully_transitive() -> None:
    registry = SchemaRegistry.load()
    results = list(check_registry(registry, "FULL_TRANSITIVE"))
    assert results, "shop.order.created has two versions to compare"
    assert all(r.ok for r in results), [str(i) for r in results for i in r.incompatibilities]


@pytest.mark.parametrize(
    ("case", "field", "kind"),
    [
        ("added_without_default", "channel", "reader_field_missing_default_value"),
        ("nullable_without_default", "note", "reader_field_missing_default_value"),
        ("type_changed", "lines[].quantity", "type_mismatch"),
        ("decimal_scale_changed", "totals.total", "logical_type_mismatch"),
    ],
)
def test_breaking_changes_are_refused_with_the_field(case: str, field: str, kind: str) -> None:
    registry = _registry(case)
    failed = [r for r in check_registry(registry) if not r.ok]
    assert failed
    newest = registry.latest("shop.order.created").version
    # transitive: the newest version is checked against every older one, not only its neighbour
    assert {r.writer_version for r in failed} == set(range(1, newest))
    for result in failed:
        assert result.reader_version == newest
        assert [(i.field, i.kind) for i in result.incompatibilities] == [(field, kind)]


def test_type_change_reports_avro_location_and_message() -> None:
    registry = _registry("type_changed")
    v1, _, v3 = registry.versions("shop.order.created")
    (problem,) = check_pair(v3, v1).incompatibilities
    assert problem.location == "/fields/4/type/items/fields/3/type"
    assert problem.message == "reader type: string not compatible with writer type: int"
    assert str(problem).startswith("field lines[].quantity (/fields/4/type/items/fields/3/type)")


def test_removing_a_field_is_backward_compatible_but_not_forward() -> None:
    registry = _registry("field_removed")
    assert all(r.ok for r in check_registry(registry, "BACKWARD_TRANSITIVE"))
    failed = [r for r in check_registry(registry, "FULL_TRANSITIVE") if not r.ok]
    assert [(r.reader_version, r.writer_version) for r in failed] == [(1, 2)]
    assert failed[0].incompatibilities[0].field == "order_name"


def test_cli_check_passes_on_the_real_schemas() -> None:
    result = CliRunner().invoke(cli, ["schemas", "check"])
    assert result.exit_code == 0, result.output
    assert "shop.order.created: v2 reads v1: ok" in result.output


@pytest.mark.parametrize(
    ("case", "field"),
    [("added_without_default", "channel"), ("type_changed", "lines[].quantity")],
)
def test_cli_check_fails_naming_type_versions_and_field(case: str, field: str) -> None:
    result = CliRunner().invoke(cli, ["schemas", "check", "--dir", str(FIXTURES / case)])
    assert result.exit_code == 1
    assert "shop.order.created: v3 reads v1: INCOMPATIBLE" in result.output
    assert "shop.order.created: v3 reads v2: INCOMPATIBLE" in result.output
    assert f"field {field} (" in result.output
    assert "2 incompatible schema pair(s)" in result.output


def test_cli_check_full_transitive_refuses_a_removed_field() -> None:
    directory = str(FIXTURES / "field_removed")
    assert CliRunner().invoke(cli, ["schemas", "check", "--dir", directory]).exit_code == 0
    result = CliRunner().invoke(
        cli, ["schemas", "check", "--dir", directory, "--mode", "FULL_TRANSITIVE"]
    )
    assert result.exit_code == 1
    assert "v1 reads v2: INCOMPATIBLE" in result.output
    assert "field order_name" in result.output


def test_cli_check_reports_an_unparsable_schema(tmp_path: Path) -> None:
    (tmp_path / "shop.order.created").mkdir()
    (tmp_path / "shop.order.created" / "v1.avsc").write_text('{"type": "record"')
    result = CliRunner().invoke(cli, ["schemas", "check", "--dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "shop.order.created/v1.avsc: cannot read JSON" in result.output


def test_cli_list_prints_versions_and_wire_fingerprints() -> None:
    registry = SchemaRegistry.load()
    result = CliRunner().invoke(cli, ["schemas", "list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == len(registry)
    v2, v3 = registry.get("shop.order.created", 2), registry.get("shop.order.created", 3)
    assert f"shop.order.created\tv2\t{v2.fingerprint_hex}" in lines
    assert f"shop.order.created\tv3\t{v3.fingerprint_hex} (latest)" in lines
