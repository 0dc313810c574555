"""The registry: fingerprints per the Avro specification, indexing, loading errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastavro.schema import fingerprint as fastavro_fingerprint

from ferry.schemas import (
    SCHEMAS_DIR_ENV,
    SchemaError,
    SchemaRegistry,
    canonical_form,
    default_schemas_dir,
    rabin_fingerprint,
)

# From Avro's own test vectors (share/test/data/schema-tests.txt), printed as Java signed longs.
AVRO_VECTORS = [
    ('"null"', '"null"', 7195948357588979594),
    ('{"type":"int"}', '"int"', 8247732601305521295),
    ('"string"', '"string"', -8142146995180207161),
    ('[ "int" , {"type":"boolean"} ]', '["int","boolean"]', 5392556393470105090),
    (
        '{"fields":[], "type":"record", "name":"foo", "namespace":"x.y"}',
        '{"name":"x.y.foo","type":"record","fields":[]}',
        5916914534497305771,
    ),
    (
        '{"namespace":"x.y.z", "type":"enum", "name":"foo", "doc":"foo bar", '
        '"symbols":["A1", "A2"]}',
        '{"name":"x.y.z.foo","type":"enum","symbols":["A1","A2"]}',
        -4448647247586288245,
    ),
    (
        '{"name":"PigValue","type":"record",'
        '"fields":[{"name":"value", "type":["null", "int", "long", "PigValue"]}]}',
        '{"name":"PigValue","type":"record","fields":'
        '[{"name":"value","type":["null","int","long","PigValue"]}]}',
        -1759257747318642341,
    ),
]


def _unsigned(signed: int) -> int:
    return signed & 0xFFFFFFFFFFFFFFFF


@pytest.mark.parametrize(("schema", "canonical", "expected"), AVRO_VECTORS)
def test_canonical_form_and_fingerprint_match_avro_test_vectors(
    schema: str, canonical: str, expected: int
) -> None:
    assert canonical_form(schema) == canonical
    assert rabin_fingerprint(canonical) == _unsigned(expected)


def test_fingerprint_of_empty_input_is_the_empty_constant() -> None:
    assert rabin_fingerprint(b"") == 0xC15D213AA4D7A795


def test_fingerprints_of_our_schemas_agree_with_fastavro() -> None:
    registry = SchemaRegistry.load()
    assert len(registry) >= 3
    for sv in registry:
        assert sv.fingerprint_hex == fastavro_fingerprint(sv.canonical, "CRC-64-AVRO")
        assert registry.by_fingerprint(sv.fingerprint) is sv


def test_versions_are_indexed_by_type_oldest_first() -> None:
    registry = SchemaRegistry.load()
    folders = sorted(p.name for p in default_schemas_dir().iterdir() if p.is_dir())
    assert "shop.order.created" in folders
    assert registry.event_types() == folders
    assert [sv.version for sv in registry.versions("shop.order.created")] == [1, 2, 3]
    assert registry.latest("shop.order.created").version == 3
    assert registry.get("shop.order.created", 1).ref == "shop.order.created/v1"
    assert registry.by_fingerprint(0) is None


def test_unknown_type_and_version_name_what_is_missing() -> None:
    registry = SchemaRegistry.load()
    with pytest.raises(SchemaError, match=r"shop\.refund\.created: unknown event type"):
        registry.latest("shop.refund.created")
    with pytest.raises(SchemaError, match=r"shop\.order\.created/v9"):
        registry.get("shop.order.created", 9)


def test_canonical_form_drops_logical_types() -> None:
    sv = SchemaRegistry.load().latest("shop.order.created")
    assert "logicalType" not in sv.canonical
    assert sv.canonical.startswith('{"name":"io.ferry.shop.OrderCreated","type":"record"')


def test_default_dir_is_the_repository_schemas_dir_unless_configured(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(SCHEMAS_DIR_ENV, raising=False)
    assert (default_schemas_dir() / "shop.order.created" / "v1.avsc").is_file()
    monkeypatch.setenv(SCHEMAS_DIR_ENV, str(tmp_path))
    assert default_schemas_dir() == tmp_path


def _write(root: Path, rel: str, content: object) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else json.dumps(content))


RECORD = {"type": "record", "name": "R", "namespace": "io.ferry.t", "fields": []}


@pytest.mark.parametrize(
    ("rel", "content", "message"),
    [
        ("a.b/v1.avsc", "{not json", r"a\.b/v1\.avsc: cannot read JSON"),
        ("a.b/version1.avsc", RECORD, r"a\.b/version1\.avsc: expected a file named v<N>\.avsc"),
        ("a.b/v1.avsc", '"string"', r"a\.b/v1\.avsc: an event schema must be a record"),
        (
            "a.b/v1.avsc",
            {**RECORD, "fields": [{"name": "x", "type": "nope"}]},
            r"a\.b/v1\.avsc: not a valid Avro schema",
        ),
        ("NoDots/v1.avsc", RECORD, r"NoDots: expected a directory"),
    ],
)
def test_bad_schema_files_are_named(
    tmp_path: Path, rel: str, content: object, message: str
) -> None:
    _write(tmp_path, rel, content)
    with pytest.raises(SchemaError, match=message):
        SchemaRegistry.load(tmp_path)


def test_two_versions_with_one_canonical_form_are_refused(tmp_path: Path) -> None:
    money = {"type": "bytes", "logicalType": "decimal", "precision": 18, "scale": 4}
    v1 = {**RECORD, "fields": [{"name": "amount", "type": money}]}
    v2 = {**RECORD, "fields": [{"name": "amount", "type": {**money, "scale": 2}}]}
    _write(tmp_path, "a.b/v1.avsc", v1)
    _write(tmp_path, "a.b/v2.avsc", v2)
    with pytest.raises(SchemaError, match=r"a\.b/v2: has the same fingerprint .* as a\.b/v1"):
        SchemaRegistry.load(tmp_path)


def test_missing_directory_is_named(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match="schema directory not found"):
        SchemaRegistry.load(tmp_path / "absent")
